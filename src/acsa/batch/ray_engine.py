"""The Ray engine of ``acsa predict --engine ray``: Ray Data with an actor pool.

The pipeline: ``read_datasource`` (:class:`~acsa.batch.ray_tasks.ChunkSource`,
one row per chunk of reviews, read in order on this node, one block per
chunk so that each chunk is a task of its own and the actors share the work)
-> ``map_batches`` with ``concurrency=N`` actors of
:class:`~acsa.batch.ray_tasks.ChunkPredictor` (each loads the model once) ->
the predictions stream back here, where they are put in input order and
written by the same writers as the local engine's, with the same resume
manifest. Ray Data is told to keep the order (``preserve_order``), and the
chunk index each row carries checks it.

On a laptop a local Ray starts and stops with the command; with
``--address HEAD:6379`` it joins a cluster (``ray start --head``). The
workers need acsa installed; the model travels through Ray's object store and
the input is read where the command runs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from acsa.batch.readers import InputSpec
from acsa.batch.records import PredictedChunk
from acsa.errors import DataArgumentError

# CPUs asked for the read task: none. It only parses text, and any CPU request,
# even 0.1, waits forever when the actors hold every CPU (2 actors on 2 cores)
READ_CPUS = 0


@contextmanager
def _overridden(target: Any, **values: Any) -> Iterator[None]:
    """Set the attributes ``target`` has (older Ray versions lack some) for the block."""
    saved = {k: getattr(target, k) for k in values if hasattr(target, k)}
    for key in saved:
        setattr(target, key, values[key])
    try:
        yield
    finally:
        for key, value in saved.items():
            setattr(target, key, value)


def model_files(model_dir: Path) -> dict[str, bytes]:
    """The model folder's files, relative path -> content."""
    return {
        path.relative_to(model_dir).as_posix(): path.read_bytes()
        for path in sorted(model_dir.rglob("*"))
        if path.is_file()
    }


def saved_aspects(model_dir: Path) -> tuple[str, ...]:
    """The aspects a saved model predicts, from its description (the model is not loaded)."""
    from acsa.models.saved import read_metadata

    return read_metadata(model_dir).aspects


class RayEngine:
    """Predicts chunks on a Ray actor pool.

    Args:
        model_dir: the saved model folder.
        runtime: ``onnx`` to run its ``model.onnx``, ``torch`` its weights; ``auto`` or
            ``None``: :func:`acsa.models.backend.choose_runtime`.
        batch_size: most reviews per model call within a chunk.
        address: the cluster to join; ``None`` starts a local Ray.
        num_actors: actors (model copies); default the cluster's CPUs divided by
            ``cpus_per_actor``.
        cpus_per_actor: CPUs (and torch threads) of each actor.
    """

    name = "ray"

    def __init__(
        self,
        model_dir: Path,
        runtime: str | None = None,
        *,
        batch_size: int = 256,
        address: str | None = None,
        num_actors: int | None = None,
        cpus_per_actor: int = 1,
    ) -> None:
        if num_actors is not None and num_actors < 1:
            raise DataArgumentError(
                "{num_actors}: expected a positive integer, got {got}", got=num_actors
            )
        self.model_dir = Path(model_dir)
        self.runtime = runtime
        self.batch_size = batch_size
        self.address = address
        self.num_actors = num_actors
        self.cpus_per_actor = cpus_per_actor

    def run(
        self, source: InputSpec | Any, chunk_size: int, skip_chunks: int = 0
    ) -> Iterator[tuple[PredictedChunk, float]]:
        """``(chunk, share of the input read)`` in input order, after ``skip_chunks``."""
        if not isinstance(source, InputSpec):
            raise DataArgumentError("{engine:ray} reads a file: give the file as {source}")
        from acsa.cluster import ray_session, user_error

        with ray_session(self.address) as ray:
            try:
                yield from self._run(ray, source, chunk_size, skip_chunks)
            except Exception as exc:
                found = user_error(exc)
                if found is not None and found is not exc:
                    raise found from None
                raise

    def _run(
        self, ray: Any, spec: InputSpec, chunk_size: int, skip_chunks: int
    ) -> Iterator[tuple[PredictedChunk, float]]:
        context = ray.data.DataContext.get_current()
        data_logger = logging.getLogger("ray.data")
        level = data_logger.level
        data_logger.setLevel(logging.ERROR)
        # the input's order; a block per chunk (one row each), so that chunks are tasks
        # of their own and every actor gets work (Ray would otherwise merge consecutive
        # rows into blocks of up to 128 MiB, and one task would hold them all); no
        # progress bars or banners of Ray's: acsa's own bar and summary say how far it is
        with (
            _overridden(context.execution_options, preserve_order=True),
            _overridden(
                context,
                target_max_block_size=1,
                enable_progress_bars=False,
                print_on_execution_start=False,
            ),
        ):
            try:
                yield from self._stream(ray, spec, chunk_size, skip_chunks)
            finally:
                data_logger.setLevel(level)

    def _stream(
        self, ray: Any, spec: InputSpec, chunk_size: int, skip_chunks: int
    ) -> Iterator[tuple[PredictedChunk, float]]:
        from acsa.batch import ray_tasks as rt

        actors = self.num_actors or max(
            1, int(ray.cluster_resources().get("CPU", 1)) // self.cpus_per_actor
        )
        files = ray.put(model_files(self.model_dir))
        # one read task, its blocks not split further (a chunk is the unit)
        dataset = ray.data.read_datasource(
            rt.ChunkSource(spec, chunk_size, skip_chunks),
            num_cpus=READ_CPUS,
            override_num_blocks=1,
        ).map_batches(
            rt.ChunkPredictor,
            fn_constructor_args=(files, self.runtime, self.batch_size, self.cpus_per_actor),
            batch_size=1,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=self.cpus_per_actor,
        )
        aspects = saved_aspects(self.model_dir)
        expected, waiting = skip_chunks, {}
        for block in dataset.iter_batches(batch_size=None, batch_format="pyarrow"):
            for row in block.to_pylist():
                waiting[int(row[rt.CHUNK])] = row
            while expected in waiting:
                row = waiting.pop(expected)
                yield _chunk(row, aspects, spec.keep), float(row[rt.FRACTION])
                expected += 1
        if waiting:
            raise RuntimeError(f"Ray returned chunks {sorted(waiting)} out of sequence")


def _chunk(
    row: dict[str, Any], aspects: tuple[str, ...], keep: tuple[str, ...] = ()
) -> PredictedChunk:
    """A predicted chunk back from an actor's row (arrays sent as raw bytes: exact)."""
    from acsa.batch import ray_tasks as rt

    texts = list(row[rt.TEXTS])
    shape = (len(texts), len(aspects))
    labels = np.frombuffer(row[rt.LABELS], dtype=rt.LABEL_DTYPE).reshape(shape)
    probabilities = np.frombuffer(row[rt.PROBABILITIES], dtype=rt.PROBABILITY_DTYPE)
    kept = [tuple(values[k] for k in keep) for values in row.get(rt.KEPT) or []]
    return PredictedChunk(
        texts, labels.astype(np.int64), probabilities.reshape(*shape, 4), aspects, keep, kept
    )

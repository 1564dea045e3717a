"""What runs inside Ray for ``acsa predict --engine ray``: the input as a datasource, the actor.

Imported only by :mod:`acsa.batch.ray_engine` (Ray is the optional ``ray``
extra). Each Ray row is one whole chunk of reviews (its index, the texts, how
far the reader had got), so however Ray Data splits or merges blocks, an actor
always predicts exactly the chunk the local engine would: the same reviews in
the same model calls, hence the same bits.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import ray
from ray.data import Datasource, ReadTask
from ray.data.block import BlockMetadata

from acsa.batch.local import predict_chunk
from acsa.batch.readers import InputSpec, chunks, new_position, read_rows

CHUNK, TEXTS, FRACTION, LABELS, PROBABILITIES = "chunk", "texts", "fraction", "labels", "probs"
KEPT = "kept"  # the kept input columns' values: a list of structs, passed through the actors
LABEL_DTYPE, PROBABILITY_DTYPE = np.int8, np.float32


class ChunkSource(Datasource):
    """The reviews of an input file, one row per chunk, read by acsa's own readers.

    One read task streams the file in order on the driver's node
    (``supports_distributed_reads`` is false), so the file needs to exist only
    where ``acsa predict`` runs; reading is cheap next to predicting.

    Args:
        spec: the checked input (:func:`acsa.batch.readers.open_input`).
        chunk_size: reviews per chunk.
        skip_chunks: chunks a resumed run has already written.
    """

    def __init__(self, spec: InputSpec, chunk_size: int, skip_chunks: int = 0) -> None:
        super().__init__()
        self.spec = spec
        self.chunk_size = chunk_size
        self.skip_chunks = skip_chunks

    def get_name(self) -> str:
        return "AcsaReviews"

    @property
    def supports_distributed_reads(self) -> bool:
        return False

    def estimate_inmemory_data_size(self) -> int | None:
        return self.spec.path.stat().st_size

    def get_read_tasks(self, parallelism: int, **_: Any) -> list[ReadTask]:
        metadata = BlockMetadata(
            num_rows=None, size_bytes=None, exec_stats=None, input_files=[str(self.spec.path)]
        )
        return [ReadTask(self._read, metadata)]

    def _read(self) -> Iterator[pa.Table]:
        position = new_position(self.spec)
        rows = read_rows(self.spec, position)
        kept_type = pa.list_(pa.struct(list(self.spec.keep_types().items())))
        for index, chunk in enumerate(
            chunks(rows, self.chunk_size, self.skip_chunks), start=self.skip_chunks
        ):
            columns = {
                CHUNK: pa.array([index], pa.int64()),
                TEXTS: pa.array([[text for text, _ in chunk]], pa.list_(pa.string())),
                FRACTION: pa.array([position.fraction], pa.float64()),
            }
            if self.spec.keep:
                values = [dict(zip(self.spec.keep, kept, strict=True)) for _, kept in chunk]
                columns[KEPT] = pa.array([values], kept_type)
            yield pa.table(columns)


class ChunkPredictor:
    """A Ray Data actor: loads the model once, then predicts whole chunks.

    The model's files come through Ray's object store (``model_files``: relative
    path -> bytes), so the workers of a cluster need acsa installed but not the
    model folder.
    """

    def __init__(
        self, model_files: Any, runtime: str | None, batch_size: int, threads: int
    ) -> None:
        from acsa import api

        if isinstance(model_files, ray.ObjectRef):
            model_files = ray.get(model_files)
        folder = Path(tempfile.mkdtemp(prefix="acsa-model-"))
        try:
            write_model_files(folder, model_files)
            _set_threads(threads)
            self.predictor = api.Predictor.from_folder(folder, runtime, max(1, threads))
        finally:
            # everything is in memory now; on Windows an open file may stay behind
            shutil.rmtree(folder, ignore_errors=True)
        self.batch_size = batch_size

    def __call__(self, batch: pa.Table) -> pa.Table:
        labels, probabilities = [], []
        for texts in batch.column(TEXTS).to_pylist():
            chunk = predict_chunk(self.predictor, [(t, ()) for t in texts], self.batch_size)
            labels.append(np.ascontiguousarray(chunk.labels, dtype=LABEL_DTYPE).tobytes())
            probabilities.append(
                np.ascontiguousarray(chunk.probabilities, dtype=PROBABILITY_DTYPE).tobytes()
            )
        columns = {
            CHUNK: batch.column(CHUNK),
            TEXTS: batch.column(TEXTS),
            FRACTION: batch.column(FRACTION),
            LABELS: pa.array(labels, pa.large_binary()),
            PROBABILITIES: pa.array(probabilities, pa.large_binary()),
        }
        if KEPT in batch.column_names:
            columns[KEPT] = batch.column(KEPT)
        return pa.table(columns)


def write_model_files(folder: Path, files: Mapping[str, bytes]) -> None:
    for name, data in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _set_threads(threads: int) -> None:
    import sys

    if "torch" in sys.modules or _has_torch():
        import torch

        torch.set_num_threads(max(1, threads))


def _has_torch() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None

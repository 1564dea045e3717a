"""``predict_stream``: reviews in, predictions out, chunk by chunk, resumable.

What ``acsa predict`` runs. The input is read in chunks of ``chunk_size``
reviews (:mod:`acsa.batch.readers`), each chunk is predicted by an engine (this
process, :class:`~acsa.batch.local.LocalEngine`, or a Ray actor pool,
:class:`~acsa.batch.ray_engine.RayEngine`) and written before the next is
read (:mod:`acsa.batch.output`), so memory holds one chunk (a few in flight
with Ray) whatever the input's size, and an interrupted run loses at most the
chunk it was on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acsa.batch.formats import output_format
from acsa.batch.manifest import input_digest, model_digest, partial_path
from acsa.batch.output import FileSink, Sink, StdoutSink
from acsa.batch.readers import InputSpec, open_input
from acsa.errors import DataError

DEFAULT_CHUNK_SIZE = 10_000
ENGINES = ("local", "ray")


@dataclass(frozen=True)
class StreamSummary:
    """What a run did: reviews predicted now and before (resume), time, where it wrote."""

    rows: int
    rows_before: int
    seconds: float
    output: Path | None
    format: str
    engine: str

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def predict_stream(
    model_dir: str | Path,
    *,
    input_path: str | Path | None = None,
    texts: list[str] | None = None,
    output: str | Path | None = None,
    fmt: str | None = None,
    input_format: str | None = None,
    text_column: str | None = None,
    as_json: bool = False,
    probabilities: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    batch_size: int = 256,
    resume: bool = False,
    overwrite: bool = False,
    engine: str = "local",
    address: str | None = None,
    num_actors: int | None = None,
    runtime: str | None = None,
    threads: int | None = None,
    progress: bool = False,
) -> StreamSummary:
    """Predict every review of a file (or of ``texts``) and write the predictions as it goes.

    Args:
        model_dir: a saved model folder or a run folder holding one.
        input_path: a ``.csv``, ``.jsonl``, ``.parquet`` or ``.txt`` file
            (:mod:`acsa.batch.readers`); or give ``texts``.
        texts: the reviews themselves (``acsa predict --text``).
        output: the file to write; ``None`` writes to stdout (not Parquet).
        fmt: ``txt``, ``jsonl``, ``csv`` or ``parquet``; default ``jsonl``
            with ``as_json``, else the output's suffix, else ``txt``.
        input_format: the input's format when its suffix does not say.
        text_column: the CSV or Parquet column holding the reviews.
        as_json: ``acsa predict --json``.
        probabilities: JSON lines also carry every aspect's four probabilities.
        chunk_size: reviews per chunk (the unit of memory, of resume, of a Ray task).
        batch_size: most reviews per model call within a chunk.
        resume: continue the interrupted run that wrote ``output``.
        overwrite: replace an existing ``output``.
        engine: ``local`` or ``ray``.
        address: the Ray cluster to join (``--engine ray``); default a local Ray.
        num_actors: Ray actors, each with one copy of the model (default: the
            cluster's CPUs).
        runtime: ``onnx`` runs the model folder's ``model.onnx``.
        threads: torch threads of the model (local), CPUs and threads of each
            Ray actor (default: torch's own locally, 1 per actor). The float results
            depend slightly on it: the same count gives the same bytes on both engines.
        progress: show a progress bar on stderr.
    """
    if engine not in ENGINES:
        allowed = ", ".join(ENGINES)
        raise DataError(f"--engine: unknown engine {engine!r}; expected one of {allowed}")
    if chunk_size < 1:
        raise DataError(f"--chunk-size: expected a positive number of reviews, got {chunk_size}")
    if (texts is None) == (input_path is None):
        raise DataError("give either --text (one or more) or --input FILE")
    out = Path(output) if output is not None else None
    out_fmt = output_format(out, fmt, as_json)
    spec = open_input(Path(input_path), input_format, text_column) if input_path else None
    if spec is None and (resume or engine == "ray"):
        raise DataError(f"{'--resume' if resume else '--engine ray'} needs --input FILE")
    if out is None and resume:
        raise DataError("--resume needs --output FILE (the output of the interrupted run)")

    from acsa.models.saved import resolve_model_dir

    model_path = resolve_model_dir(model_dir)
    sink: Sink
    if out is None:
        sink = StdoutSink(out_fmt, probabilities)
    else:
        sink = FileSink(
            out,
            out_fmt,
            _setup(spec, model_path, chunk_size, out_fmt, probabilities),
            resume=resume,
            overwrite=overwrite,
            probabilities=probabilities,
        )
    rows_before = sink.rows_before
    if sink.complete:  # only the final rename was left
        sink.finish()
        return StreamSummary(0, rows_before, 0.0, out, out_fmt, engine)

    runner, aspects = _engine(engine, model_path, runtime, batch_size, address, num_actors, threads)
    from acsa.batch.progress import PredictProgress

    sink.open(aspects)
    previous = _torch_threads(threads) if engine == "local" else None
    try:
        with PredictProgress(progress, rows_before) as bar:
            source = spec if spec is not None else list(texts or [])
            try:
                for chunk, fraction in runner.run(source, chunk_size, sink.skip_chunks):
                    sink.write(chunk)
                    bar.update(len(chunk), fraction)
            except KeyboardInterrupt:
                if out is None:
                    raise
                done = rows_before + bar.rows
                raise KeyboardInterrupt(
                    f"interrupted: {done:,} reviews are safe in {partial_path(out)}; "
                    "rerun the same command with --resume to continue"
                ) from None
            sink.finish()
    except BaseException:
        sink.discard_if_empty()
        raise
    finally:
        sink.close()
        if previous is not None:
            _torch_threads(previous)
    return StreamSummary(bar.rows, rows_before, bar.seconds, out, out_fmt, engine)


def _engine(
    engine: str,
    model_path: Path,
    runtime: str | None,
    batch_size: int,
    address: str | None,
    num_actors: int | None,
    threads: int | None,
) -> tuple[Any, tuple[str, ...]]:
    """The engine, and the model's aspects."""
    if engine == "ray":
        from acsa.batch.ray_engine import RayEngine, saved_aspects
        from acsa.cluster import import_ray

        import_ray("--engine ray")  # a missing extra is said before anything is written
        ray_engine = RayEngine(
            model_path,
            runtime,
            batch_size=batch_size,
            address=address,
            num_actors=num_actors,
            cpus_per_actor=threads or 1,
        )
        return ray_engine, saved_aspects(model_path)
    from acsa import api
    from acsa.batch.local import LocalEngine

    predictor = api.Predictor.from_folder(model_path, runtime)  # resolved once, above
    return LocalEngine(predictor, batch_size), tuple(predictor.aspects)


def _setup(
    spec: InputSpec | None,
    model_path: Path,
    chunk_size: int,
    fmt: str,
    probabilities: bool,
) -> dict[str, Any]:
    """What identifies a run for ``--resume`` (see :mod:`acsa.batch.manifest`)."""
    size, digest = input_digest(spec.path) if spec is not None else (None, None)
    return {
        "input": str(spec.path.resolve()) if spec is not None else "--text",
        "input_size": size,
        "input_sha256": digest,
        "model": str(model_path.resolve()),
        "model_sha256": model_digest(model_path),
        "chunk_size": chunk_size,
        "format": fmt,
        "text_column": spec.text_column if spec is not None else None,
        "probabilities": probabilities,
    }


def _torch_threads(threads: int | None) -> int | None:
    """Set torch's intra-op threads; returns the previous count (``None``: left alone)."""
    if threads is None:
        return None
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    return previous

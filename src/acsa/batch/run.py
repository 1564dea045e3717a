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
from acsa.batch.options import DEFAULT_CHUNK_SIZE, PredictOptions
from acsa.batch.output import FileSink, Sink, StdoutSink
from acsa.batch.readers import InputSpec, open_input
from acsa.batch.records import JSON_KEYS, table_columns
from acsa.errors import DataArgumentError, DataError, Interrupted
from acsa.models.backend import choose_runtime
from acsa.threads import set_torch_threads

__all__ = ["DEFAULT_CHUNK_SIZE", "PredictOptions", "StreamSummary", "predict_stream"]


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


def predict_stream(model_dir: str | Path, options: PredictOptions) -> StreamSummary:
    """Predict every review of a file (or the reviews given) and write the predictions as it goes.

    Args:
        model_dir: a saved model folder or a run folder holding one.
        options: the run (:class:`~acsa.batch.options.PredictOptions`); one row out
            per row in, in order, blank reviews included (flagged ``empty``).
    """
    from acsa.models.saved import resolve_model_dir

    model_path = resolve_model_dir(model_dir)
    out = options.output
    out_fmt = output_format(out, options.format, options.as_json)
    spec = None
    if options.input_path is not None:
        from acsa.api import model_text_column

        model_column = model_text_column(model_path)
        spec = open_input(
            options.input_path,
            options.input_format,
            options.text_column,
            preferred=[model_column] if model_column else [],
            keep=options.keep_columns,
        )
    if spec is not None and spec.keep and out_fmt == "txt":
        raise DataError(
            f"{out or 'stdout'}: text lines have no columns to keep; write csv, jsonl or parquet"
        )
    if spec is None and (options.resume or options.engine == "ray"):
        raise DataError("resuming and the Ray engine read an input file, not reviews given")
    if out is None and options.resume:
        raise DataError("resuming needs the output file of the interrupted run")
    if options.explain and (options.engine == "ray" or options.runtime == "onnx"):
        raise DataError(
            "explanations run on the local engine with the model's own weights, not "
            f"{'the Ray engine' if options.engine == 'ray' else 'the ONNX runtime'}"
        )
    keep = spec.keep if spec is not None else ()
    keep_types = spec.keep_types() if keep and out_fmt == "parquet" else dict.fromkeys(keep)

    sink: Sink
    if out is None:
        sink = StdoutSink(out_fmt, options.probabilities, options.explain)
    else:
        sink = FileSink(
            out,
            out_fmt,
            _setup(spec, model_path, options, out_fmt),
            resume=options.resume,
            overwrite=options.overwrite,
            probabilities=options.probabilities,
        )
    rows_before = sink.rows_before
    engine = options.engine
    if sink.complete:  # only the final rename was left
        sink.finish()
        return StreamSummary(0, rows_before, 0.0, out, out_fmt, engine)

    runner, aspects = _engine(model_path, options)
    _check_names(keep, aspects, out_fmt)
    from acsa.batch.progress import PredictProgress

    sink.open(aspects, keep_types)
    # an ONNX Runtime session got its threads when it was made (_engine)
    on_torch = engine == "local" and runner.predictor.runtime == "torch"
    previous = set_torch_threads(options.threads) if on_torch else None
    try:
        with PredictProgress(options.progress, rows_before) as bar:
            source = spec if spec is not None else list(options.source)
            try:
                for chunk, fraction in runner.run(source, options.chunk_size, sink.skip_chunks):
                    sink.write(chunk)
                    bar.update(len(chunk), fraction)
            except KeyboardInterrupt:
                if out is None:
                    raise
                done = rows_before + bar.rows
                raise Interrupted(
                    "interrupted: {done:,} reviews are safe in {partial}; run it again with "
                    "{resume:True} to continue",
                    done=done,
                    partial=partial_path(out),
                ) from None
            sink.finish()
    except BaseException:
        sink.discard_if_empty()
        raise
    finally:
        sink.close()
        if previous is not None:
            set_torch_threads(previous)
    return StreamSummary(bar.rows, rows_before, bar.seconds, out, out_fmt, engine)


def _check_names(keep: tuple[str, ...], aspects: tuple[str, ...], fmt: str) -> None:
    """A kept column may not share its name with a column of the predictions."""
    taken = set(JSON_KEYS) if fmt == "jsonl" else set(table_columns(aspects))
    clash = [k for k in keep if k in taken]
    if clash:
        raise DataArgumentError(
            "input column {clash!r} would collide with the predictions' own {clash!r}; "
            "rename it in the input or leave it out of {keep_columns}",
            clash=clash[0],
        )


def _engine(model_path: Path, options: PredictOptions) -> tuple[Any, tuple[str, ...]]:
    """The engine, and the model's aspects."""
    runtime = options.runtime
    if options.engine == "ray":
        from acsa.batch.ray_engine import RayEngine, saved_aspects
        from acsa.cluster import import_ray

        import_ray("engine 'ray'")  # a missing extra is said before anything is written
        ray_engine = RayEngine(
            model_path,
            runtime,
            batch_size=options.batch_size,
            address=options.address,
            num_actors=options.num_actors,
            cpus_per_actor=options.threads or 1,
        )
        return ray_engine, saved_aspects(model_path)
    from acsa import api
    from acsa.batch.local import LocalEngine

    # the runtime the progress file records; an ONNX Runtime session takes the thread
    # count here, torch later
    runtime = _runtime(model_path, options)
    predictor = api.Predictor.from_folder(model_path, runtime, options.threads)
    top_k = options.top_k if options.explain else None
    return LocalEngine(predictor, options.batch_size, top_k), tuple(predictor.aspects)


def _setup(
    spec: InputSpec | None, model_path: Path, options: PredictOptions, fmt: str
) -> dict[str, Any]:
    """What identifies a run when it is resumed (see :mod:`acsa.batch.manifest`)."""
    chunk_size, probabilities = options.chunk_size, options.probabilities
    size, digest = input_digest(spec.path) if spec is not None else (None, None)
    setup: dict[str, Any] = {
        "input": str(spec.path.resolve()) if spec is not None else "(reviews given)",
        "input_size": size,
        "input_sha256": digest,
        "model": str(model_path.resolve()),
        "model_sha256": model_digest(model_path),
        "chunk_size": chunk_size,
        "format": fmt,
        "text_column": spec.text_column if spec is not None else None,
        "probabilities": probabilities,
    }
    if spec is not None and spec.keep:  # absent otherwise, as in the manifests of older runs
        setup["keep_columns"] = list(spec.keep)
    if options.explain:  # likewise
        setup["explain_top_k"] = options.top_k
    # what runs the network: a resumed run must not mix ONNX Runtime's and PyTorch's rows
    setup["runtime"] = _runtime(model_path, options)
    return setup


def _runtime(model_path: Path, options: PredictOptions) -> str:
    """What runs the network: PyTorch for explanations (Integrated Gradients needs the
    model's own weights), else the runtime ``options.runtime`` chooses for the folder."""
    return "torch" if options.explain else choose_runtime(model_path, options.runtime)

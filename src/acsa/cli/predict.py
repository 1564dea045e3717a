"""``acsa predict MODEL_DIR``: the aspects each review mentions and their sentiment.

``--text`` predicts the reviews given; ``--input FILE`` streams a file of any
size chunk by chunk (:mod:`acsa.batch`), on this machine or on Ray
(``--engine ray``), writing as it goes; ``--resume`` continues an interrupted run.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from acsa.cli._runtime import ONNX_HELP, RUNTIME_HELP
from acsa.logs import setup_logging

_FORMATS = "txt, jsonl, csv or parquet"


def predict(
    model_dir: Annotated[Path, typer.Argument(help="Saved model folder (or a run folder).")],
    text: Annotated[
        list[str] | None, typer.Option("--text", "-t", help="A review to analyse (repeatable).")
    ] = None,
    input_file: Annotated[
        Path | None,
        typer.Option(
            "--input",
            "-i",
            help='File of reviews: .csv (column data/text/review), .jsonl ({"text": ...}), '
            ".parquet or .txt (one per line); read in chunks.",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write here instead of stdout; the suffix picks the format "
            f"({_FORMATS}; another suffix: text lines).",
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help=f"Output format: {_FORMATS} (default: suffix)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON lines: {text, aspects, confidence}.")
    ] = False,
    probabilities: Annotated[
        bool,
        typer.Option(
            "--probabilities",
            help="JSON lines also carry every aspect's four class probabilities "
            "(CSV and Parquet always do).",
        ),
    ] = False,
    text_column: Annotated[
        str | None,
        typer.Option(
            "--text-column",
            help="The CSV or Parquet column holding the reviews (default: the model's "
            "data.text_column, then data, text or review).",
        ),
    ] = None,
    keep_columns: Annotated[
        str | None,
        typer.Option(
            "--keep-columns",
            help="Input columns to copy into the output, comma-separated (e.g. id,date), "
            "or 'all' (CSV, JSON lines and Parquet outputs).",
        ),
    ] = None,
    input_format: Annotated[
        str | None,
        typer.Option("--input-format", help=f"The input's format ({_FORMATS}) if not its suffix."),
    ] = None,
    chunk_size: Annotated[
        int,
        typer.Option("--chunk-size", help="Reviews per chunk: the unit of memory and of --resume."),
    ] = 10_000,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Continue an interrupted run after its last complete chunk."),
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing --output file.")
    ] = False,
    engine: Annotated[
        str,
        typer.Option(
            "--engine", help="local (this process) or ray (Ray Data; pip install the ray extra)."
        ),
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(
            "--address", help="--engine ray: the cluster's head HOST:6379 (default: local Ray)."
        ),
    ] = None,
    num_actors: Annotated[
        int | None,
        typer.Option("--num-actors", help="--engine ray: model copies (default: one per CPU)."),
    ] = None,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            help="Torch threads (local) or CPUs per Ray actor (default: torch's own, 1).",
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 256,
    runtime: Annotated[str, typer.Option("--runtime", help=RUNTIME_HELP)] = "auto",
    onnx: Annotated[bool, typer.Option("--onnx", help=ONNX_HELP, hidden=True)] = False,
    progress: Annotated[
        bool,
        typer.Option(
            "--progress/--no-progress", help="Progress bar on stderr (default: on a terminal)."
        ),
    ] = sys.stderr.isatty(),
    explain: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Also show, per mentioned aspect, the tokens that drove its label "
            "(with --output: an explanations key or JSON column; local engine only).",
        ),
    ] = False,
    top_k: Annotated[int, typer.Option("--top-k", help="--explain: tokens shown per aspect.")] = 5,
) -> None:
    """Print (or write) one line per review with the aspects it mentions and their sentiment."""
    from acsa.errors import ConfigError

    setup_logging()
    from acsa.cli._runtime import runtime_choice

    # checked here, once, each a one-line error naming the option (not a usage box)
    runtime = runtime_choice(runtime, onnx)
    if bool(text) == (input_file is not None):
        raise ConfigError("give either --text (one or more) or --input FILE")
    if engine not in ("local", "ray"):
        raise ConfigError(f"--engine: expected local or ray, got {engine!r}")
    if engine != "ray" and (address is not None or num_actors is not None):
        raise ConfigError("--address and --num-actors need --engine ray")
    counts = {"--chunk-size": chunk_size, "--num-actors": num_actors, "--threads": threads}
    counts.update({"--batch-size": batch_size, "--top-k": top_k})
    for flag, count in counts.items():
        if count is not None and count < 1:
            raise ConfigError(f"{flag}: expected a positive integer, got {count}")
    if explain and (engine != "local" or runtime == "onnx"):
        # Integrated Gradients needs the model's gradients: not in model.onnx; the Ray
        # actors send back label and probability arrays only (no evidence column yet)
        raise ConfigError(
            f"--explain with {'--runtime onnx' if runtime == 'onnx' else '--engine ray'} is "
            "not supported: explanations run on the local engine with the model's own weights"
        )
    if explain and output is None and not (resume or keep_columns or fmt):
        # to the terminal: each review whole, as text or JSON lines; files go through
        # the streaming path below (an explanations key or column, resumable)
        from acsa.cli._explain import run_explain

        run_explain(
            model_dir,
            texts=list(text) if text else None,
            input_file=input_file,
            input_format=input_format,
            text_column=text_column,
            as_json=as_json,
            top_k=top_k,
            batch_size=batch_size,
            threads=threads,
        )
        return
    from acsa.batch import PredictOptions, predict_stream
    from acsa.errors import DataError

    if engine == "ray":
        from acsa.cluster import import_ray

        import_ray("--engine ray")  # a missing extra is said before anything is written
    if input_file is None and (resume or engine == "ray" or keep_columns):
        flag = "--resume" if resume else "--engine ray" if engine == "ray" else "--keep-columns"
        raise DataError(f"{flag} needs --input FILE")
    if output is None and resume:
        raise DataError("--resume needs --output FILE (the output of the interrupted run)")

    keep = tuple(c.strip() for c in (keep_columns or "").split(",") if c.strip())
    options = PredictOptions(
        source=input_file if input_file is not None else tuple(text or ()),
        output=output,
        format=fmt,
        input_format=input_format,
        text_column=text_column,
        keep_columns=keep,
        as_json=as_json,
        probabilities=probabilities,
        chunk_size=chunk_size,
        batch_size=batch_size,
        resume=resume,
        overwrite=overwrite,
        engine="ray" if engine == "ray" else "local",
        address=address,
        num_actors=num_actors,
        runtime=runtime,  # type: ignore[arg-type]  # checked by runtime_choice
        threads=threads,
        progress=progress and (output is not None or not sys.stdout.isatty()),
        explain=explain,
        top_k=top_k,
    )
    summary = predict_stream(model_dir, options)
    if output is not None and input_file is not None:
        from acsa.cli._console import console

        before = f" (after {summary.rows_before:,} done before)" if summary.rows_before else ""
        console(stderr=True).print(
            f"{summary.rows:,} reviews in {summary.seconds:.1f} s "
            f"({summary.rate:,.0f} reviews/s, {summary.engine}){before} -> {output}",
            highlight=False,
        )

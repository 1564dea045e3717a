"""The ``acsa`` command line (typer).

Commands: ``train``, ``evaluate``, ``predict``, ``validate-data`` (and
``compare`` / ``plot-ghm`` when those modules are installed). Errors caused
by the user's input (:class:`acsa.errors.AcsaError`) print one line
``error: ...`` on stderr and exit with code 2; usage errors exit with 2 as
click does.

Heavy modules (torch, transformers) are imported inside the commands, so
``acsa --help`` and ``acsa predict`` start quickly.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from acsa.errors import AcsaError, DataError

EXIT_USER_ERROR = 2

app = typer.Typer(
    name="acsa",
    help="Aspect-category sentiment analysis on imbalanced data: train, evaluate, predict.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _stderr(message: str) -> None:
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()


def _is_main_process() -> bool:
    return os.environ.get("RANK", "0") == "0"


class StderrHandler(logging.StreamHandler):
    """A handler that writes to whatever ``sys.stderr`` is at emit time.

    A plain ``StreamHandler(sys.stderr)`` keeps the stream it was created
    with; when the CLI runs inside another program (tests, notebooks) that
    swaps ``sys.stderr``, later messages would go to a closed stream.
    """

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, value: Any) -> None:
        pass


def _setup_logging(verbose: bool = False) -> None:
    """acsa's notices on stderr, one line each; library chatter kept down."""
    handler = StderrHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    root = logging.getLogger("acsa")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    root.propagate = False
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


# ----------------------------------------------------------------------------
# train


@app.command()
def train(
    config: Annotated[Path, typer.Argument(help="YAML config (see configs/quickstart.yaml).")],
    epochs: Annotated[
        int | None, typer.Option("--epochs", min=1, help="Override training.epochs.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Override output.dir.")
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Folder of the data files (overrides data.dir)."),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Continue from the last checkpoint in the output folder."),
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a previous run in the output folder.")
    ] = False,
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, help="Override training.seed.")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="More log lines.")] = False,
) -> None:
    """Train a model, keep the best epoch, and report test metrics."""
    _setup_logging(verbose)
    from acsa.training.config import load_config

    overrides: dict[str, Any] = {
        "training.epochs": epochs,
        "training.seed": seed,
        "output.dir": str(output.expanduser().resolve()) if output is not None else None,
        # --data-dir is relative to the current folder, unlike paths in the YAML
        "data.dir": str(data_dir.expanduser().resolve()) if data_dir is not None else None,
        "output.overwrite": True if overwrite else None,
    }
    cfg = load_config(config, overrides)
    from acsa.training.preflight import preflight

    preflight(config, cfg, training=True)
    if data_dir is not None and not data_dir.is_dir():
        raise DataError(f"--data-dir: {data_dir} is not a folder")

    from acsa.training.run import train as run_train

    result = run_train(cfg, resume=resume)
    if not _is_main_process():
        return
    console = _console()
    test = result.metrics.get("test")
    if test is not None:
        from acsa.evaluation import format_metrics_table

        console.print(format_metrics_table(test, title="Test metrics (best epoch)"))
    best = result.metrics.get("validation") or {}
    if best:
        console.print(
            f"best validation pair-F1 {best.get('eval_pair_f1', float('nan')):.4f} "
            f"(epoch {best.get('epoch', 0):.0f})"
        )
    console.print(
        f"model: {result.model_dir}\nrun folder: {result.output_dir} "
        f"(metrics.json, predictions.csv, plots, logs/ for TensorBoard)\n"
        f"time: {result.timings.get('total', 0.0):.1f} s"
    )


# ----------------------------------------------------------------------------
# evaluate


@app.command()
def evaluate(
    model_dir: Annotated[Path, typer.Argument(help="Saved model folder (or a run folder).")],
    data: Annotated[Path, typer.Argument(help="Labelled file (.csv wide format or .jsonl).")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write metrics.json, predictions.csv, plots here."),
    ] = None,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip the PNG plots.")] = False,
) -> None:
    """Score a saved model on a labelled file."""
    _setup_logging()
    from acsa.training.run import evaluate_model

    metrics = evaluate_model(model_dir, data, output, plots=not no_plots)
    from acsa.evaluation import format_metrics_table

    _console().print(format_metrics_table(metrics, title=f"Metrics on {data.name}"))
    if output is not None:
        _console().print(f"report: {output}")


# ----------------------------------------------------------------------------
# predict


def _read_input_texts(path: Path) -> list[str]:
    """Texts from a .txt (one per line), .jsonl ({"text": ...}) or .csv (column data/text)."""
    from acsa.textfile import read_user_text

    content = read_user_text(path, DataError, "input file", "a .csv, .jsonl or .txt file")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json"):
        texts = []
        for number, line in enumerate(content.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}: line {number}: invalid JSON ({exc.msg})") from None
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise DataError(f"{path}: line {number}: expected an object with a 'text' string")
            texts.append(record["text"])
        return texts
    if suffix == ".csv":
        import csv
        import io

        reader = csv.reader(io.StringIO(content, newline=""))
        header = next(reader, None)
        if not header:
            raise DataError(
                f"{path}: empty CSV file; expected a header with a 'data' or 'text' column"
            )
        names = [h.strip().lower() for h in header]
        for wanted in ("data", "text", "review"):
            if wanted in names:
                column = names.index(wanted)
                break
        else:
            if len(header) != 1:
                raise DataError(
                    f"{path}: row 1: no 'data' or 'text' column among {header[:10]}; "
                    "rename the text column"
                )
            column = 0
        texts = []
        for row_number, row in enumerate(reader, start=2):
            if not row:
                continue
            if column >= len(row):
                raise DataError(f"{path}: row {row_number}: missing the text column")
            texts.append(row[column])
        return texts
    return [line for line in content.splitlines() if line.strip()]


@app.command()
def predict(
    model_dir: Annotated[Path, typer.Argument(help="Saved model folder (or a run folder).")],
    text: Annotated[
        list[str] | None, typer.Option("--text", "-t", help="A review to analyse (repeatable).")
    ] = None,
    input_file: Annotated[
        Path | None,
        typer.Option(
            "--input", "-i", help="File of reviews: .csv (column data/text), .jsonl, .txt."
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON lines: {text, aspects, confidence}.")
    ] = False,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 256,
) -> None:
    """Print one line per review with the aspects it mentions and their sentiment."""
    _setup_logging()
    if bool(text) == (input_file is not None):
        raise typer.BadParameter("give either --text (one or more) or --input FILE")
    texts = list(text) if text else _read_input_texts(input_file)  # type: ignore[arg-type]

    from acsa.evaluation import format_prediction_line, prediction_record
    from acsa.training.run import load_model, predict_canonical, predict_logits

    model, featurizer = load_model(model_dir)
    label_space = model.label_space
    logits = predict_logits(model, featurizer, texts, batch_size=batch_size)
    lines: list[str] = []
    if texts:
        pred, probs = predict_canonical(logits, label_space)
        for i, review in enumerate(texts):
            if as_json:
                record = prediction_record(review, pred[i], label_space.aspects, probs[i])
                lines.append(json.dumps(record, ensure_ascii=False))
            else:
                lines.append(
                    format_prediction_line(review, pred[i], label_space.aspects, max_text_chars=60)
                )
    body = "\n".join(lines) + ("\n" if lines else "")
    if output is not None:
        try:
            output.write_text(body, encoding="utf-8")
        except OSError as exc:
            raise DataError(f"{output}: cannot write ({exc.strerror})") from None
    else:
        sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
        sys.stdout.write(body)


# ----------------------------------------------------------------------------
# validate-data


@app.command("validate-data")
def validate_data(
    config: Annotated[Path, typer.Argument(help="YAML config whose data: section to check.")],
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Folder of the data files (overrides data.dir)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Read every split, report label statistics per aspect and warnings; no training."""
    _setup_logging()
    from acsa.data import load_and_validate
    from acsa.training.config import load_config

    overrides = {"data.dir": str(data_dir.expanduser().resolve()) if data_dir is not None else None}
    cfg = load_config(config, overrides)
    from acsa.training.preflight import preflight

    preflight(config, cfg, training=False)
    splits, report = load_and_validate(cfg.data, Path.cwd())
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
        return
    console = _console()
    console.print(report)
    sizes = ", ".join(f"{name} {len(reviews)}" for name, reviews in splits.items())
    console.print(f"ok: {sizes} reviews; {len(report.warnings)} warning(s)")


# ----------------------------------------------------------------------------
# commands provided by other modules


def _register_optional_commands() -> None:
    """``acsa compare`` and ``acsa plot-ghm`` live in their own modules."""
    try:
        from acsa.compare import register_cli  # type: ignore[attr-defined]
    except ImportError:
        register_cli = None
    if register_cli is not None:
        register_cli(app)
        return
    try:
        from acsa.compare import compare_command  # type: ignore[attr-defined]
    except ImportError:
        compare_command = None
    if compare_command is not None:
        app.command("compare")(compare_command)
    try:
        from acsa.training.gradient_stats import plot_ghm_command  # type: ignore[attr-defined]
    except ImportError:
        plot_ghm_command = None
    if plot_ghm_command is not None:
        app.command("plot-ghm")(plot_ghm_command)


_OPTIONAL_COMMANDS = ("compare", "plot-ghm")


def _wants_optional(argv: list[str]) -> bool:
    # Importing the comparison module costs start-up time, which `acsa predict`
    # cannot spare; register it only when it can be asked for.
    words = [a for a in argv if not a.startswith("-")]
    return not words or words[0] in _OPTIONAL_COMMANDS or "--help" in argv[:1]


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app, turn user errors into one line and exit code 2."""
    started = time.perf_counter()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if _wants_optional(args):
            _register_optional_commands()
        # Standalone mode: typer reports usage errors itself (exit code 2).
        app(args=args, prog_name="acsa")
    except AcsaError as exc:
        message = " ".join(str(exc).split())
        _stderr(f"error: {message}")
        sys.exit(EXIT_USER_ERROR)
    except KeyboardInterrupt as exc:
        # a graceful stop (acsa.training.interrupt) says where it saved and how to resume
        _stderr(str(exc) or f"interrupted after {time.perf_counter() - started:.0f} s")
        sys.exit(130)
    except SystemExit as exc:
        # typer turns Ctrl-C into a silent exit 130; the interrupt is in the chain
        if exc.code == 130:
            from acsa.training.interrupt import interrupt_message

            message = interrupt_message(exc)
            _stderr(message or f"interrupted after {time.perf_counter() - started:.0f} s")
        raise


if __name__ == "__main__":
    main()

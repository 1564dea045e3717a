"""The ``acsa`` command line (typer): the top layer, which nothing else in acsa imports.

Commands: ``train``, ``evaluate``, ``predict``, ``validate-data``,
``compare``, ``plot-ghm``, ``serve``, ``export`` and ``analyze``, one module each in
this package. Errors
caused by the user's input (:class:`acsa.errors.AcsaError`) print one line
``error: ...`` on stderr and exit with code 2; usage errors exit with 2 as
click does.

The command modules import only typer at the top; everything heavy (torch,
transformers, pandas, matplotlib) is imported inside the command that needs
it, so ``acsa --help`` and ``acsa predict`` start quickly.
"""

from __future__ import annotations

import sys
import time

import typer

from acsa.cli import (
    analyze,
    compare,
    evaluate,
    export,
    plot_ghm,
    predict,
    serve,
    train,
    validate_data,
)
from acsa.cli._flags import option
from acsa.errors import AcsaError, Interrupted, NamesArguments
from acsa.threads import prefer_passive_wait

EXIT_USER_ERROR = 2

app = typer.Typer(
    name="acsa",
    help="Aspect-category sentiment analysis on imbalanced data: train, evaluate, predict.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command("train")(train.train)
app.command("evaluate")(evaluate.evaluate)
app.command("predict")(predict.predict)
app.command("validate-data")(validate_data.validate_data)
app.command("compare")(compare.compare)
app.command("plot-ghm")(plot_ghm.plot_ghm)
app.command("serve")(serve.serve)
app.command("export")(export.export)
app.command("analyze")(analyze.analyze)


def _stderr(message: str) -> None:
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app, turn user errors into one line and exit code 2."""
    started = time.perf_counter()
    # before any command imports torch: idle OpenMP threads sleep instead of spinning
    prefer_passive_wait()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        # Standalone mode: typer reports usage errors itself (exit code 2).
        app(args=args, prog_name="acsa")
    except AcsaError as exc:
        # an argument's name as the user typed it: its option, not the Python keyword
        message = exc.spelled(option) if isinstance(exc, NamesArguments) else str(exc)
        _stderr(f"error: {' '.join(message.split())}")
        sys.exit(EXIT_USER_ERROR)
    except KeyboardInterrupt as exc:
        # a graceful stop (acsa.training.interrupt) says where it saved and how to resume
        message = exc.spelled(option) if isinstance(exc, Interrupted) else str(exc)
        _stderr(message or f"interrupted after {time.perf_counter() - started:.0f} s")
        sys.exit(130)
    except SystemExit as exc:
        # typer turns Ctrl-C into a silent exit 130; the interrupt is in the chain
        if exc.code == 130:
            from acsa.training.interrupt import interrupt_message

            message = interrupt_message(exc, option)
            _stderr(message or f"interrupted after {time.perf_counter() - started:.0f} s")
        raise


__all__ = ["EXIT_USER_ERROR", "app", "main"]

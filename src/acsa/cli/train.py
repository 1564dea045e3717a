"""``acsa train CONFIG``: train a model, keep the best epoch, report test metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from acsa.cli._console import console
from acsa.logs import is_main_process, setup_logging


def train(
    config: Annotated[Path, typer.Argument(help="YAML config (see configs/quickstart.yaml).")],
    epochs: Annotated[
        int | None,
        typer.Option(
            "--epochs", min=1, help="Train exactly N epochs (training.epochs; min_steps off)."
        ),
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
    no_baseline: Annotated[
        bool,
        typer.Option(
            "--no-baseline",
            help="Do not fit the TF-IDF baseline beside the model (training.baseline: false).",
        ),
    ] = False,
    keep_checkpoints: Annotated[
        bool,
        typer.Option(
            "--keep-checkpoints",
            help="Keep checkpoints/ after a finished run (training.keep_checkpoints: true); "
            "an interrupted run always keeps them for --resume.",
        ),
    ] = False,
    no_onnx: Annotated[
        bool,
        typer.Option(
            "--no-onnx",
            help="Do not export model.onnx at the end (predictions then run on PyTorch).",
        ),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="More log lines.")] = False,
) -> None:
    """Train a model, keep the best epoch, and report test metrics."""
    setup_logging(verbose)
    from acsa.data.config import data_dir_override
    from acsa.training.config import load_config
    from acsa.training.preflight import preflight

    overrides: dict[str, Any] = {
        "training.epochs": epochs,
        # an explicit number of epochs is the budget: min_steps must not raise it
        "training.min_steps": 0 if epochs is not None else None,
        "training.seed": seed,
        "output.dir": str(output.expanduser().resolve()) if output is not None else None,
        "data.dir": str(data_dir_override(data_dir)) if data_dir is not None else None,
        "output.overwrite": True if overwrite else None,
        "training.baseline": False if no_baseline else None,
        "training.keep_checkpoints": True if keep_checkpoints else None,
    }
    cfg = load_config(config, overrides)
    preflight(config, cfg, training=True)

    from acsa.training.run import train as run_train

    result = run_train(cfg, resume=resume, export_onnx=not no_onnx)
    if not is_main_process():
        return
    from acsa.training.summary import summary_items, write_summary

    out = console()
    for item in summary_items(result):
        out.print(item)
    write_summary(result)

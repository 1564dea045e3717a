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
    }
    cfg = load_config(config, overrides)
    preflight(config, cfg, training=True)

    from acsa.training.run import train as run_train

    result = run_train(cfg, resume=resume)
    if not is_main_process():
        return
    out = console()
    test = result.metrics.get("test")
    if test is not None:
        from acsa.evaluation import format_metrics_table
        from acsa.training.finish import comparison_line, decision_line

        out.print(format_metrics_table(test, title="Test metrics (best model)"))
        out.print(f"test {comparison_line(test)}")
        out.print(decision_line(test))
    best = result.metrics.get("validation") or {}
    if best and result.global_step:
        out.print(
            f"best validation pair-F1 {best.get('eval_pair_f1', float('nan')):.4f} "
            f"(step {best.get('step', 0)}, epoch {best.get('epoch') or 0:.2f})"
        )
    out.print(
        f"model: {result.model_dir}\nrun folder: {result.output_dir} "
        f"(metrics.json, predictions.csv, plots, logs/ for TensorBoard)\n"
        f"time: {result.timings.get('total', 0.0):.1f} s"
    )

"""``acsa plot-ghm RUN_DIR``: gradient-norm histogram and GHM-C state over epochs, as a PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def plot_ghm(
    run_dir: Annotated[Path, typer.Argument(help="A run folder holding gradient_stats.jsonl.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="PNG path (default: in RUN_DIR).")
    ] = None,
) -> None:
    """Render the gradient-norm histogram (and GHM-C state) over epochs to a PNG."""
    from acsa.evaluation.plots import GRADIENT_STATS_PLOT, plot_gradient_stats
    from acsa.training.gradient_stats import read_gradient_stats

    records = read_gradient_stats(run_dir)
    path = plot_gradient_stats(records, output or Path(run_dir) / GRADIENT_STATS_PLOT)
    print(path)

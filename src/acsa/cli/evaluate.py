"""``acsa evaluate MODEL_DIR DATA``: score a saved model on a labelled file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from acsa.cli._console import console
from acsa.logs import setup_logging


def evaluate(
    model_dir: Annotated[Path, typer.Argument(help="Saved model folder (or a run folder).")],
    data: Annotated[Path, typer.Argument(help="Labelled file (.csv wide format or .jsonl).")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write metrics.json, predictions.csv, plots here."),
    ] = None,
    no_plots: Annotated[bool, typer.Option("--no-plots", help="Skip the PNG plots.")] = False,
    text_column: Annotated[
        str | None,
        typer.Option(
            "--text-column",
            help="The CSV column holding the reviews (default: the model's data.text_column, "
            "then data, text or review).",
        ),
    ] = None,
) -> None:
    """Score a saved model on a labelled file."""
    setup_logging()
    from acsa import api
    from acsa.evaluation import format_metrics_table

    if data.suffix.lower() == ".csv" and data.is_file():
        from acsa.batch.formats import choose_text_column
        from acsa.batch.readers import csv_header

        model_column = api.model_text_column(model_dir)
        text_column = choose_text_column(
            csv_header(data), text_column, str(data), [model_column] if model_column else []
        )
    metrics = api.evaluate(model_dir, data, output, plots=not no_plots, text_column=text_column)
    console().print(format_metrics_table(metrics, title=f"Metrics on {data.name}"))
    if output is not None:
        console().print(f"report: {output}")

"""``acsa export MODEL_DIR --format onnx --output DIR``: a saved model as an ONNX model folder."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from acsa.cli._console import console
from acsa.logs import setup_logging


class ExportFormat(str, Enum):
    onnx = "onnx"


def export(
    model_dir: Annotated[Path, typer.Argument(help="Saved model folder (or a run folder).")],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Folder of the exported model (the model's own folder adds "
            "model.onnx beside its weights).",
        ),
    ],
    export_format: Annotated[
        ExportFormat, typer.Option("--format", help="Export format.")
    ] = ExportFormat.onnx,
    opset: Annotated[int, typer.Option("--opset", min=17, help="ONNX opset version.")] = 18,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a model already in the output folder.")
    ] = False,
) -> None:
    """Export a saved model for ONNX Runtime (acsa serve/predict --runtime onnx)."""
    setup_logging()
    from acsa.models.onnx_export import ONNX_FILE, export_onnx

    folder = export_onnx(model_dir, output, opset=opset, overwrite=overwrite)
    console().print(f"exported: {folder / ONNX_FILE} (format {export_format.value}, opset {opset})")
    console().print(f"use it: acsa serve {folder} --runtime onnx")

"""``acsa predict MODEL_DIR``: the aspects each review mentions and their sentiment."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from acsa.errors import DataError
from acsa.logs import setup_logging


def read_input_texts(path: Path) -> list[str]:
    """Texts from a .txt (one per line), .jsonl ({"text": ...}) or .csv (column data/text)."""
    from acsa.files import read_user_text

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
    onnx: Annotated[
        bool, typer.Option("--onnx", help="Run the folder's model.onnx (acsa export).")
    ] = False,
) -> None:
    """Print one line per review with the aspects it mentions and their sentiment."""
    setup_logging()
    if bool(text) == (input_file is not None):
        raise typer.BadParameter("give either --text (one or more) or --input FILE")
    texts = list(text) if text else read_input_texts(input_file)  # type: ignore[arg-type]

    from acsa import api
    from acsa.evaluation import format_prediction_line

    predictor = api.load(model_dir, "onnx" if onnx else None)
    lines: list[str] = []
    for prediction in predictor.predict(texts, batch_size=batch_size):
        if as_json:
            lines.append(json.dumps(prediction.to_record(), ensure_ascii=False))
        else:
            lines.append(
                format_prediction_line(
                    prediction.text, prediction.labels, predictor.aspects, max_text_chars=60
                )
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

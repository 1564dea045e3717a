"""Streaming readers: the review texts of a CSV, JSON-lines, Parquet or text file, in file order.

Nothing here holds more than a few thousand rows at a time: CSV through pandas'
chunked reader, Parquet through ``pyarrow.parquet.ParquetFile.iter_batches``,
JSON lines and text files line by line. :func:`open_input` checks the file
and finds the text column before anything is predicted, so a wrong column is a
one-line error at once, not after an hour; errors found later (a bad JSON line)
name the file and the line.

The formats (today's ``acsa predict`` inputs, plus Parquet):

* ``.txt``: one review per line; blank lines are skipped.
* ``.jsonl``: one object per line with a ``"text"`` string; blank lines are skipped.
* ``.csv``: a header, the text in column ``data``, ``text`` or ``review`` (any
  case) or the one named by ``--text-column``; quoted fields may hold newlines;
  an empty cell is an empty review.
* ``.parquet``: the same column rule; a null is an empty review.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acsa.batch.formats import JSON_TEXT_FIELD, choose_text_column, input_format
from acsa.errors import DataError, one_line, optional_import

# rows parsed per step of the CSV and Parquet readers (not the prediction chunk)
READ_ROWS = 4096


@dataclass(frozen=True)
class InputSpec:
    """A checked input file: its path, format and (CSV, Parquet) text column."""

    path: Path
    format: str
    text_column: str | None = None


@dataclass
class ReadPosition:
    """How far a reader is: ``done`` of ``total`` (bytes, or rows for Parquet)."""

    total: int
    done: int = 0

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total > 0 else 1.0


def open_input(path: Path, fmt: str | None = None, text_column: str | None = None) -> InputSpec:
    """Check ``path`` (exists, known format, text column present) and describe it."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: input file not found")
    if not path.is_file():
        raise DataError(f"{path}: expected an input file, found a folder")
    fmt = input_format(path, fmt)
    if fmt == "csv":
        return InputSpec(path, fmt, choose_text_column(_csv_header(path), text_column, str(path)))
    if fmt == "parquet":
        return InputSpec(path, fmt, _parquet_column(path, text_column))
    if text_column is not None and fmt == "jsonl" and text_column != JSON_TEXT_FIELD:
        raise DataError(
            f"{path}: --text-column applies to CSV and Parquet inputs; JSON lines carry "
            f"the review in {JSON_TEXT_FIELD!r}"
        )
    return InputSpec(path, fmt)


def read_texts(spec: InputSpec, position: ReadPosition | None = None) -> Iterator[str]:
    """The texts of ``spec`` in file order; ``position`` (when given) follows the reading."""
    position = position if position is not None else ReadPosition(0)
    readers = {"csv": _csv_texts, "jsonl": _jsonl_texts, "txt": _txt_texts}
    if spec.format == "parquet":
        return _parquet_texts(spec, position)
    return readers[spec.format](spec, position)


def new_position(spec: InputSpec) -> ReadPosition:
    """A :class:`ReadPosition` whose total is the file's size (Parquet: its row count)."""
    if spec.format == "parquet":
        return ReadPosition(_parquet_file(spec.path).metadata.num_rows)
    return ReadPosition(spec.path.stat().st_size)


def chunks(texts: Iterable[str], size: int, skip: int = 0) -> Iterator[list[str]]:
    """``texts`` in lists of ``size`` (the last one shorter), after dropping ``skip`` lists."""
    if size < 1:
        raise ValueError(f"chunk size must be >= 1, got {size}")
    iterator = iter(texts)
    for _ in range(skip):
        if len(list(itertools.islice(iterator, size))) < size:
            return
    while True:
        chunk = list(itertools.islice(iterator, size))
        if not chunk:
            return
        yield chunk


# ---------------------------------------------------------------- CSV


def _pandas_error(path: Path, exc: Exception) -> DataError:
    if isinstance(exc, UnicodeDecodeError):
        return DataError(
            f"{path}: not UTF-8 text ({exc.reason} near byte {exc.start}); save it as UTF-8"
        )
    return DataError(f"{path}: cannot read it as CSV ({one_line(exc)})")


def _csv_header(path: Path) -> list[str]:
    import pandas as pd

    try:
        frame = pd.read_csv(path, nrows=0, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{path}: empty CSV file; expected a header with a 'data' or 'text' column"
        ) from None
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise _pandas_error(path, exc) from None
    return [str(c) for c in frame.columns]


def _csv_texts(spec: InputSpec, position: ReadPosition) -> Iterator[str]:
    import pandas as pd

    with spec.path.open("rb") as fh:
        try:
            frames = pd.read_csv(
                fh,
                encoding="utf-8-sig",
                usecols=[spec.text_column],
                dtype=str,
                keep_default_na=False,
                chunksize=READ_ROWS,
            )
            for frame in frames:
                position.done = fh.tell()
                column = frame[spec.text_column].fillna("")
                yield from column.astype(str).tolist()
        except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise _pandas_error(spec.path, exc) from None
    position.done = position.total


# ---------------------------------------------------------------- JSON lines, text lines


def _lines(path: Path, position: ReadPosition) -> Iterator[tuple[int, str]]:
    """``(line number, decoded line)``; bytes split on ``\\n`` only, a leading BOM dropped."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            position.done += len(raw)
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{path}: line {number}: not UTF-8 text ({exc.reason}); save it as UTF-8"
                ) from None
            yield number, line


def _jsonl_texts(spec: InputSpec, position: ReadPosition) -> Iterator[str]:
    for number, line in _lines(spec.path, position):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{spec.path}: line {number}: invalid JSON ({exc.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get(JSON_TEXT_FIELD), str):
            raise DataError(
                f"{spec.path}: line {number}: expected an object with a {JSON_TEXT_FIELD!r} string"
            )
        yield record[JSON_TEXT_FIELD]


def _txt_texts(spec: InputSpec, position: ReadPosition) -> Iterator[str]:
    for _, line in _lines(spec.path, position):
        # str.splitlines, as the whole-file reader before it, also splits on \r and
        # the Unicode line separators
        yield from (part for part in line.splitlines() if part.strip())


# ---------------------------------------------------------------- Parquet


def _parquet_file(path: Path) -> Any:
    pq = optional_import("pyarrow.parquet", "parquet", "reading Parquet files")
    try:
        return pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid, OSError, ...
        raise DataError(f"{path}: cannot read it as Parquet ({one_line(exc)})") from None


def _parquet_column(path: Path, wanted: str | None) -> str:
    import pyarrow as pa

    schema = _parquet_file(path).schema_arrow
    column = choose_text_column(schema.names, wanted, str(path))
    kind = schema.field(column).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind)):
        raise DataError(f"{path}: column {column!r} holds {kind}, not text")
    return column


def _parquet_texts(spec: InputSpec, position: ReadPosition) -> Iterator[str]:
    parquet = _parquet_file(spec.path)
    for batch in parquet.iter_batches(batch_size=READ_ROWS, columns=[spec.text_column]):
        values = batch.column(0).to_pylist()
        position.done += len(values)
        yield from ("" if v is None else v for v in values)

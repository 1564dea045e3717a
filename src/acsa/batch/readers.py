"""Streaming readers: the review texts of a CSV, JSON-lines, Parquet or text file, in file order.

Nothing here holds more than a few thousand rows at a time: CSV record by
record through the ``csv`` module (the training reader's parser and checks),
Parquet through ``pyarrow.parquet.ParquetFile.iter_batches``,
JSON lines and text files line by line. :func:`open_input` checks the file
and finds the text column before anything is predicted, so a wrong column is a
one-line error at once, not after an hour; errors found later (a bad JSON line)
name the file and the line.

The formats (today's ``acsa predict`` inputs, plus Parquet):

* ``.txt``: one review per line; a blank line is an empty review.
* ``.jsonl``: one object per line with a ``"text"`` string (or null); a blank
  line is an empty review.
* ``.csv``: a header, the text in the model's text column, else ``data``,
  ``text`` or ``review`` (any case), or the column named by the caller; quoted
  fields may hold newlines; an empty cell or a blank line is an empty review.
  The training reader's rules hold: UTF-8 (a BOM allowed), each row as many
  fields as the header (an unquoted comma is an error, never a cut text).
* ``.parquet``: the same column rule; a null is an empty review.

One row in, one review out, in file order: an empty review is predicted as
mentioning no aspect (:func:`acsa.api.is_blank`), never dropped. Columns to
carry into the output (``keep``) are read beside the text: CSV and JSON-lines
values as text (a JSON value that is not a string as its JSON), Parquet values
as they are.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from acsa.batch.formats import JSON_TEXT_FIELD, choose_text_column, input_format
from acsa.data.text_files import (
    check_field_count,
    csv_field_limit,
    csv_place,
    csv_records,
    first_header,
    header_names,
    open_parquet,
)
from acsa.errors import DataArgumentError, DataError

KEEP_ALL = "all"
# a CSV field's longest text: the csv module's own limit is lifted to this
MAX_FIELD_CHARS = 10_000_000

# rows parsed per step of the CSV and Parquet readers (not the prediction chunk)
READ_ROWS = 4096


@dataclass(frozen=True)
class InputSpec:
    """A checked input file: its path, format and (CSV, Parquet) text column."""

    path: Path
    format: str
    text_column: str | None = None
    keep: tuple[str, ...] = ()

    def keep_types(self) -> dict[str, Any]:
        """The Arrow type of each kept column: Parquet's own, else string."""
        import pyarrow as pa

        if self.format == "parquet":
            schema = open_parquet(self.path).schema_arrow
            return {name: schema.field(name).type for name in self.keep}
        return {name: pa.string() for name in self.keep}


Row = tuple[str, tuple[Any, ...]]
"""One input row: its text and the values of the kept columns."""


@dataclass
class ReadPosition:
    """How far a reader is: ``done`` of ``total`` (bytes, or rows for Parquet)."""

    total: int
    done: int = 0

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total > 0 else 1.0


def open_input(
    path: Path,
    fmt: str | None = None,
    text_column: str | None = None,
    *,
    preferred: Sequence[str] = (),
    keep: Sequence[str] | str = (),
) -> InputSpec:
    """Check ``path`` (exists, known format, text column present) and describe it.

    Args:
        fmt: the format when the suffix does not say.
        text_column: the CSV or Parquet text column (exact, else any case).
        preferred: columns to try first when ``text_column`` is not given (the
            model's own text column), before data/text/review.
        keep: columns to carry into the output, or ``"all"`` (every column but the text).
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: input file not found")
    if not path.is_file():
        raise DataError(f"{path}: expected an input file, found a folder")
    fmt = input_format(path, fmt)
    if fmt in ("csv", "parquet"):
        names = csv_header(path) if fmt == "csv" else open_parquet(path).schema_arrow.names
        column = choose_text_column(names, text_column, str(path), preferred)
        if fmt == "parquet":
            _check_parquet_text(path, column)
        return InputSpec(path, fmt, column, _kept(path, names, column, keep))
    if text_column is not None and fmt == "jsonl" and text_column != JSON_TEXT_FIELD:
        raise DataArgumentError(
            "{path}: {text_column} applies to CSV and Parquet inputs; JSON lines carry "
            "the review in {field!r}",
            path=path,
            field=JSON_TEXT_FIELD,
        )
    if fmt == "txt":
        if keep:
            raise DataArgumentError(
                "{path}: a text file has no columns to keep; drop {keep_columns}", path=path
            )
        return InputSpec(path, fmt)
    return InputSpec(path, fmt, None, _kept(path, _jsonl_keys(path), JSON_TEXT_FIELD, keep))


def _kept(
    path: Path, names: Sequence[str], text: str, keep: Sequence[str] | str
) -> tuple[str, ...]:
    """The columns to carry: ``keep`` checked against ``names`` (``"all"``: all but the text)."""
    names = [str(n) for n in names]
    if keep == KEEP_ALL or list(keep) == [KEEP_ALL]:
        return tuple(n for n in names if n != text)
    missing = [k for k in keep if k not in names]
    if missing:
        raise DataArgumentError(
            "{path}: no column {missing!r} to keep ({keep_columns}); the columns are {names}",
            path=path,
            missing=missing[0],
            names=names[:12],
        )
    return tuple(k for k in dict.fromkeys(keep) if k != text)  # the text is written anyway


def read_rows(spec: InputSpec, position: ReadPosition | None = None) -> Iterator[Row]:
    """``(text, kept values)`` of every row of ``spec`` in file order.

    ``position`` (when given) follows the reading.
    """
    position = position if position is not None else ReadPosition(0)
    readers = {"csv": _csv_rows, "jsonl": _jsonl_rows, "txt": _txt_rows}
    if spec.format == "parquet":
        return _parquet_rows(spec, position)
    return readers[spec.format](spec, position)


def read_texts(spec: InputSpec, position: ReadPosition | None = None) -> Iterator[str]:
    """The texts of ``spec`` in file order; ``position`` (when given) follows the reading."""
    return (text for text, _ in read_rows(spec, position))


def new_position(spec: InputSpec) -> ReadPosition:
    """A :class:`ReadPosition` whose total is the file's size (Parquet: its row count)."""
    if spec.format == "parquet":
        return ReadPosition(open_parquet(spec.path).metadata.num_rows)
    return ReadPosition(spec.path.stat().st_size)


T = TypeVar("T")


def chunks(texts: Iterable[T], size: int, skip: int = 0) -> Iterator[list[T]]:
    """``texts`` (or rows) in lists of ``size`` (the last one shorter), after dropping
    ``skip`` lists."""
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


def _decoded(path: Path, position: ReadPosition) -> Iterator[str]:
    """The file's lines as text, with the training reader's one-line UTF-8 error."""
    offset = 0
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            position.done += len(raw)
            try:
                yield raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                start = offset + exc.start
                bad = raw[exc.start : exc.start + 4].hex(" ")
                raise DataError(
                    f"{path} line {number} (byte offset {start}): bytes are not valid UTF-8 "
                    f"({bad}); save the file as UTF-8 (in Excel: 'CSV UTF-8')"
                ) from None
            offset += len(raw)


def _csv_records(path: Path, position: ReadPosition) -> Iterator[tuple[int, int, list[str]]]:
    """``(row, line, fields)`` of every CSV record, blank lines included (as ``[]``)."""
    with csv_field_limit(MAX_FIELD_CHARS):
        yield from csv_records(path, _decoded(path, position))


def csv_header(path: Path) -> list[str]:
    """The column names of a CSV file (UTF-8, a BOM allowed), with the readers' errors."""
    header = first_header(_csv_records(path, ReadPosition(0)))
    if header:
        return header_names(header)
    raise DataError(f"{path}: empty CSV file; expected a header with a 'data' or 'text' column")


def _csv_rows(spec: InputSpec, position: ReadPosition) -> Iterator[Row]:
    records = _csv_records(spec.path, position)
    header = first_header(records)
    names = header_names(header)
    text_at = names.index(str(spec.text_column))
    keep_at = [names.index(k) for k in spec.keep]
    for row, line, record in records:
        if not record:  # a blank line: an empty review, as a spreadsheet shows it
            yield "", tuple(None for _ in keep_at)
            continue
        check_field_count(csv_place(spec.path, row, line), record, len(header))
        yield record[text_at], tuple(record[i] for i in keep_at)
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


def _jsonl_record(path: Path, number: int, line: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: line {number}: invalid JSON ({exc.msg})") from None
    text = record.get(JSON_TEXT_FIELD, 0) if isinstance(record, dict) else 0
    if not (text is None or isinstance(text, str)):
        raise DataError(
            f"{path}: line {number}: expected an object with a {JSON_TEXT_FIELD!r} string "
            "(null: an empty review)"
        )
    return record


def _jsonl_keys(path: Path) -> list[str]:
    """The keys of the first record (the columns ``--keep-columns all`` carries)."""
    for number, line in _lines(path, ReadPosition(0)):
        if line.strip():
            return list(_jsonl_record(path, number, line))
    return [JSON_TEXT_FIELD]


def _as_text(value: Any) -> str | None:
    return (
        value if value is None or isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    )


def _jsonl_rows(spec: InputSpec, position: ReadPosition) -> Iterator[Row]:
    for number, line in _lines(spec.path, position):
        if not line.strip():  # a blank line: an empty review
            yield "", tuple(None for _ in spec.keep)
            continue
        record = _jsonl_record(spec.path, number, line)
        yield record[JSON_TEXT_FIELD] or "", tuple(_as_text(record.get(k)) for k in spec.keep)


def _txt_rows(spec: InputSpec, position: ReadPosition) -> Iterator[Row]:
    for _, line in _lines(spec.path, position):
        # str.splitlines, as the whole-file reader before it, also splits on \r and
        # the Unicode line separators; a blank line is an empty review
        yield from ((part, ()) for part in (line.splitlines() or [""]))


# ---------------------------------------------------------------- Parquet


def _check_parquet_text(path: Path, column: str) -> None:
    import pyarrow as pa

    kind = open_parquet(path).schema_arrow.field(column).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind)):
        raise DataError(f"{path}: column {column!r} holds {kind}, not text")


def _parquet_rows(spec: InputSpec, position: ReadPosition) -> Iterator[Row]:
    parquet = open_parquet(spec.path)
    columns = [str(spec.text_column), *spec.keep]
    for batch in parquet.iter_batches(batch_size=READ_ROWS, columns=columns):
        values = [batch.column(i).to_pylist() for i in range(len(columns))]
        position.done += batch.num_rows
        for i, text in enumerate(values[0]):
            yield ("" if text is None else text), tuple(v[i] for v in values[1:])

"""Labelled files as text: UTF-8 decoding with one-line errors, and CSV records within limits.

Shared by every reader (:mod:`acsa.data.readers`): :func:`read_text` decodes a
file (a BOM is allowed; UTF-16, NUL bytes and invalid UTF-8 are one-line
errors naming the line), :func:`iter_csv` yields a CSV's records with the row
and line a user sees, inside :func:`csv_field_limit` (csv's own field limit
lifted so that ``data.max_text_chars`` decides), and the header helpers find
the columns. :func:`fail` builds the one-line :class:`~acsa.errors.DataError`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acsa.data.config import DataConfig
from acsa.errors import DataError, one_line, optional_import

_DELIMITERS = (";", "\t", "|")


def file_place(path: Path) -> str:
    """How messages name a file."""
    return str(path)


def _one_line(message: str) -> str:
    return " ".join(message.split("\n"))


def fail(message: str) -> DataError:
    """The :class:`~acsa.errors.DataError` for ``message``, on one line."""
    return DataError(_one_line(message))


def parse_json(text: str, where: str, fix: str, first_line: int = 1) -> Any:
    """``json.loads(text)``, or a one-line error naming the line and column, then ``fix``.

    ``text`` starts at line ``first_line`` of the file ``where`` (a JSON-lines record).
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise fail(
            f"{where} line {first_line + exc.lineno - 1}: not valid JSON ({exc.msg}, column "
            f"{exc.colno}); {fix}"
        ) from None


def quote(value: str, limit: int = 40) -> str:
    """``value`` as a message shows it: quoted, cut after ``limit`` characters."""
    shown = value if len(value) <= limit else value[:limit] + "..."
    return repr(shown)


def read_text(path: Path) -> str:
    """Read a file as UTF-8 (a BOM is allowed), with one-line errors for the usual faults."""
    where = file_place(path)
    if not path.exists():
        raise fail(f"{where}: file not found; check data.dir and the file name in the config")
    if path.is_dir():
        raise fail(
            f"{where}: is a directory, expected a file; point the config at a .csv or "
            ".jsonl file inside it"
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise fail(
            f"{where}: cannot be read ({exc.strerror or exc}); check its permissions"
        ) from None
    if not raw.strip():
        raise fail(f"{where}: the file is empty; add labelled reviews (CSV: after a header row)")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise fail(
            f"{where}: the file is UTF-16 encoded (byte-order mark found); save it as UTF-8 "
            "(in Excel: 'CSV UTF-8')"
        )
    nul = raw.find(b"\x00")
    if nul >= 0:
        head = raw[:2000]
        if head.count(b"\x00") * 4 >= len(head):
            raise fail(
                f"{where}: the file looks UTF-16 encoded (every other byte is NUL); "
                "save it as UTF-8"
            )
        line = raw.count(b"\n", 0, nul) + 1
        raise fail(
            f"{where} line {line} (byte offset {nul}): NUL byte found; the file is binary "
            "or corrupted; remove the NUL bytes and save it as UTF-8 text"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        bad = raw[exc.start : exc.start + 4].hex(" ")
        raise fail(
            f"{where} line {line} (byte offset {exc.start}): bytes are not valid UTF-8 "
            f"({bad}); save the file as UTF-8 (in Excel: 'CSV UTF-8')"
        ) from None


@contextmanager
def csv_field_limit(chars: int) -> Iterator[None]:
    """csv's field limit at least ``chars`` + 1 inside the block, restored after it."""
    # csv's default limit (131072) would reject long texts before our own check can
    # name the row, so lift it for the duration of one read.
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, chars + 1))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def csv_place(path: Path, row: int, line: int) -> str:
    """``FILE row R`` (and ``(line L)`` when a quoted text spans lines)."""
    return f"{file_place(path)} row {row}" + (f" (line {line})" if line != row else "")


def csv_error(path: Path, row: int, line: int, exc: csv.Error, end_line: int) -> DataError:
    """The one-line error for a ``csv.Error`` at ``row`` (``line``), with the likely fix."""
    place = csv_place(path, row, line)
    text = str(exc)
    if end_line > line and "expected after" in text:
        return fail(
            f"{place}: a quoted field opened here runs on to line {end_line}; it is probably "
            'never closed: add the closing quote (a quote inside a quoted text is written "")'
        )
    if "unexpected end of data" in text or "newline inside string" in text:
        return fail(
            f"{place}: a quoted field opened here is never closed; add the closing "
            'quote (a quote inside a quoted text is written "")'
        )
    if "field larger than field limit" in text:
        return fail(
            f"{place}: a field is too long; a quoted field opened here is probably never "
            "closed, or the text exceeds data.max_text_chars"
        )
    if "expected after" in text:
        return fail(
            f"{place}: malformed quoting ({text}); a quote inside a quoted text must be "
            'doubled ("")'
        )
    return fail(f"{place}: malformed CSV ({text}); save the file as a comma-separated CSV")


def columns_list(header: Sequence[str], limit: int = 15) -> str:
    """The column names for a message, at most ``limit`` of them."""
    shown = [repr(h) for h in header[:limit]]
    more = f", ... ({len(header)} in all)" if len(header) > limit else ""
    return ", ".join(shown) + more


def csv_records(path: Path, lines: Iterable[str]) -> Iterator[tuple[int, int, list[str]]]:
    """Yield ``(row, line, record)`` for every CSV record of ``lines``, a blank line as ``[]``.

    ``row`` counts records as a spreadsheet does, ``line`` is the line the record
    starts on (they differ after a quoted text with line breaks). A malformed
    record is :func:`csv_error`'s one-line error. Call inside :func:`csv_field_limit`.
    """
    reader = csv.reader(lines, strict=True)
    row = 0
    while True:
        line = reader.line_num + 1
        row += 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise csv_error(path, row, line, exc, reader.line_num) from None
        yield row, line, record


def iter_csv(path: Path, text: str) -> Iterator[tuple[int, int, list[str]]]:
    """Yield ``(row, line, record)`` per non-blank record; the first is the header.

    Blank lines are no records but still count as rows, as in a spreadsheet.
    Call inside :func:`csv_field_limit`.
    """
    for row, line, record in csv_records(path, io.StringIO(text, newline="")):
        if record:
            yield row, line, record


def header_names(header: Sequence[str]) -> list[str]:
    """Column names as written: a stray BOM (files joined together) and spaces removed."""
    return [h.replace("\ufeff", "").strip() for h in header]


def first_header(records: Iterator[tuple[int, int, list[str]]]) -> list[str]:
    """Read ``records`` up to the first non-blank one, the header, and return its fields
    (``[]`` when there is none); the records after it stay to be read."""
    for _, _, header in records:
        if header:
            return header
    return []


def open_parquet(path: Path) -> Any:
    """``pyarrow.parquet.ParquetFile`` of ``path``, with one-line errors (``parquet`` extra)."""
    pq = optional_import("pyarrow.parquet", "parquet", "reading Parquet files")
    try:
        return pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid, OSError, ...
        raise DataError(f"{path}: cannot read it as Parquet ({one_line(exc)})") from None


def csv_header(path: Path, records: Iterator[tuple[int, int, list[str]]]) -> tuple[int, list[str]]:
    """Read the header: its field count and the cleaned column names (no duplicates)."""
    try:
        _, _, header = next(records)
    except StopIteration:
        raise fail(f"{file_place(path)}: the file is empty; it needs a header row") from None
    names = header_names(header)
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        key = name.casefold()
        if key in seen:
            raise fail(
                f"{file_place(path)} row 1: column {name!r} appears twice (columns {seen[key] + 1} "
                f"and {i + 1}); rename or remove one of them"
            )
        seen[key] = i
    return len(header), names


def column_index(names: Sequence[str]) -> dict[str, int]:
    """Column name (case ignored) -> its index."""
    return {name.casefold(): i for i, name in enumerate(names)}


def find_text_column(path: Path, names: list[str], config: DataConfig) -> int:
    """The index of ``data.text_column``; a header in one column names the delimiter."""
    where = file_place(path)
    text_col = column_index(names).get(config.text_column.strip().casefold())
    if text_col is not None:
        return text_col
    if len(names) == 1:
        for delim in _DELIMITERS:
            if delim in names[0]:
                shown = "tab" if delim == "\t" else repr(delim)
                raise fail(
                    f"{where} row 1: the header is one column containing {shown}; the "
                    f"file seems to use {shown} as delimiter; save it comma-separated"
                )
    raise fail(
        f"{where} row 1: no text column {config.text_column!r} (columns: "
        f"{columns_list(names)}); set data.text_column to the column holding the text"
    )


def check_field_count(place: str, record: list[str], width: int) -> None:
    """A record must have as many fields as the header."""
    if len(record) != width:
        raise fail(
            f"{place}: {len(record)} fields but the header has {width}; "
            "quote texts that contain commas and check for a missing quote"
        )


@dataclass
class CsvTable:
    """A CSV whose header is read: field count, column names, text column, the other records."""

    path: Path
    width: int
    names: list[str]
    text_col: int
    records: Iterator[tuple[int, int, list[str]]]

    def rows(self) -> Iterator[tuple[int, str, list[str]]]:
        """``(row, place, record)`` of every record after the header, its field count checked."""
        for row, line, record in self.records:
            place = csv_place(self.path, row, line)
            check_field_count(place, record, self.width)
            yield row, place, record


@contextmanager
def open_csv(path: Path, text: str, config: DataConfig) -> Iterator[CsvTable]:
    """The CSV in ``text`` with its header read and text column found; read it inside the
    block, where csv's own field limit is lifted to ``data.max_text_chars``."""
    with csv_field_limit(max(config.max_text_chars, 1_000_000)):
        records = iter_csv(path, text)
        width, names = csv_header(path, records)
        yield CsvTable(path, width, names, find_text_column(path, names, config), records)

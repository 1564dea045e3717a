"""Unlabelled reviews (``data.unlabeled``), read streamed: one review at a time, in file order.

Formats, by the file's suffix:

* ``.csv``: a header; the text in ``data.text_column`` (any case). Other columns
  (labels a user left in) are not read, and one log line says so. The training
  reader's rules hold (UTF-8, a BOM allowed, each row as many fields as the
  header; :mod:`acsa.data.text_files`).
* ``.jsonl``: one object per line with the text under ``data.text_key``; other
  keys are not read.
* ``.txt``: one review per line.
* ``.parquet``: the ``data.text_column`` column, read in record batches.

A blank review is skipped (counted); a text longer than ``data.max_text_chars``
is the labelled files' one-line error (:func:`acsa.data.reviews.check_text`).
Nothing here holds more than one record (CSV, JSON and text lines) or one
Parquet record batch: :func:`iter_unlabeled` is a generator, and a caller that
stops early (``training.self_training.max_unlabeled``) never reads the rest.

The streaming loops are written here rather than taken from
``acsa.batch.readers`` (which reads ``acsa predict`` inputs the same way):
``data`` may import nothing above it (docs/ARCHITECTURE.md), and training needs
this reader.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acsa.data.config import UNLABELED_FORMATS, DataConfig
from acsa.data.reviews import check_text
from acsa.data.text_files import (
    check_field_count,
    csv_field_limit,
    csv_place,
    csv_records,
    fail,
    file_place,
    find_text_column,
    first_header,
    header_names,
    open_parquet,
)

logger = logging.getLogger(__name__)

FORMATS = UNLABELED_FORMATS
PARQUET_BATCH_ROWS = 4096


@dataclass
class UnlabeledFile:
    """A checked unlabelled file: its format, the text field and the fields not read."""

    path: Path
    format: str
    text_field: str | None
    ignored: tuple[str, ...] = ()


@dataclass
class ReadCounts:
    """What :func:`iter_unlabeled` has read so far: records and blank reviews skipped."""

    records: int = 0
    blank: int = 0
    rows: list[int] = field(default_factory=list)


def open_unlabeled(path: Path, config: DataConfig) -> UnlabeledFile:
    """Check ``path`` (present, a file, a known format, the text field there) and describe
    it; the fields besides the text are logged once as not read.

    Raises:
        DataError: one line naming the file and the fix.
    """
    path = Path(path)
    where = file_place(path)
    if not path.exists():
        raise fail(f"{where}: file not found; check data.unlabeled in the config")
    if not path.is_file():
        raise fail(f"{where}: is a folder; data.unlabeled names one file ({', '.join(FORMATS)})")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise fail(f"{where}: unknown format; data.unlabeled takes {', '.join(FORMATS)} files")
    if fmt == "csv":
        names = _csv_header(path)
        text = names[find_text_column(path, names, config)]
        source = UnlabeledFile(path, fmt, text, tuple(n for n in names if n != text))
    elif fmt == "parquet":
        names = [str(n) for n in open_parquet(path).schema_arrow.names]
        match = [n for n in names if n.casefold() == config.text_column.strip().casefold()]
        if not match:
            raise fail(
                f"{where}: no text column {config.text_column!r} (columns: {names[:15]}); "
                "set data.text_column to the column holding the text"
            )
        source = UnlabeledFile(path, fmt, match[0], tuple(n for n in names if n != match[0]))
    elif fmt == "jsonl":
        source = UnlabeledFile(path, fmt, config.text_key, _jsonl_other_keys(path, config))
    else:
        source = UnlabeledFile(path, fmt, None)
    if source.ignored:
        logger.info(
            "%s: the columns %s are not read (data.unlabeled is used without labels; "
            "labels in it are ignored)",
            where,
            ", ".join(repr(n) for n in source.ignored[:12]),
        )
    return source


def iter_unlabeled(
    source: UnlabeledFile, config: DataConfig, counts: ReadCounts | None = None
) -> Iterator[str]:
    """The non-blank review texts of ``source`` in file order, read lazily.

    ``counts`` (when given) follows the reading: records read, blank ones skipped,
    and the row (CSV, header = 1) or line of each text yielded.
    """
    counts = counts if counts is not None else ReadCounts()
    records = {"csv": _csv_texts, "jsonl": _jsonl_texts, "txt": _txt_texts}
    reader = _parquet_texts if source.format == "parquet" else records[source.format]
    for row, text in reader(source):
        counts.records += 1
        if text is None or not str(text).strip():
            counts.blank += 1
            continue
        counts.rows.append(row)
        yield check_text(text, f"{file_place(source.path)} row {row}", config)


# ---------------------------------------------------------------- lines and CSV


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of every line, decoded one at a time (a BOM dropped)."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                bad = raw[exc.start : exc.start + 4].hex(" ")
                raise fail(
                    f"{file_place(path)} line {number}: bytes are not valid UTF-8 ({bad}); "
                    "save the file as UTF-8 (in Excel: 'CSV UTF-8')"
                ) from None


def _csv_stream(path: Path) -> Iterator[tuple[int, int, list[str]]]:
    with csv_field_limit(10_000_000):
        yield from csv_records(path, (line for _, line in _lines(path)))


def _csv_header(path: Path) -> list[str]:
    header = first_header(_csv_stream(path))
    if header:
        return header_names(header)
    raise fail(
        f"{file_place(path)}: the file is empty; data.unlabeled needs reviews (CSV: a header "
        "row with the text column, then one review per row)"
    )


def _csv_texts(source: UnlabeledFile) -> Iterator[tuple[int, str | None]]:
    records = _csv_stream(source.path)
    header = first_header(records)
    names = header_names(header)
    at = names.index(str(source.text_field))
    for row, line, record in records:
        if not record:
            continue  # a blank line is no review
        check_field_count(csv_place(source.path, row, line), record, len(header))
        yield row, record[at]


# ---------------------------------------------------------------- JSON lines, text lines


def _jsonl_record(path: Path, number: int, line: str, key: str) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise fail(f"{file_place(path)} line {number}: invalid JSON ({exc.msg})") from None
    if not isinstance(record, dict) or not (
        record.get(key) is None or isinstance(record.get(key), str)
    ):
        raise fail(
            f"{file_place(path)} line {number}: expected an object with a {key!r} string "
            "(data.text_key)"
        )
    return record


def _jsonl_other_keys(path: Path, config: DataConfig) -> tuple[str, ...]:
    for number, line in _lines(path):
        if line.strip():
            record = _jsonl_record(path, number, line, config.text_key)
            return tuple(k for k in record if k != config.text_key)
    return ()


def _jsonl_texts(source: UnlabeledFile) -> Iterator[tuple[int, str | None]]:
    key = str(source.text_field)
    for number, line in _lines(source.path):
        if line.strip():
            yield number, _jsonl_record(source.path, number, line, key).get(key)


def _txt_texts(source: UnlabeledFile) -> Iterator[tuple[int, str | None]]:
    for number, line in _lines(source.path):
        yield number, line.rstrip("\r\n")


# ---------------------------------------------------------------- Parquet


def _parquet_texts(source: UnlabeledFile) -> Iterator[tuple[int, str | None]]:
    row = 0
    batches = open_parquet(source.path).iter_batches(
        batch_size=PARQUET_BATCH_ROWS, columns=[str(source.text_field)]
    )
    for batch in batches:
        for text in batch.column(0).to_pylist():
            row += 1
            yield row, text

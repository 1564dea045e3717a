"""Readers for labelled review files: wide CSV, JSON-lines label lists, label column.

Formats (``data.format``):

* ``wide_csv``: a text column and one column per aspect whose cell is a
  polarity (empty: aspect not mentioned);
* ``label_list``: JSON lines (or a JSON array) of ``{"text": ..., "labels":
  ["Battery#Positive", ...]}``;
* ``label_column``: a CSV with a text column and one column holding the labels
  as pairs, e.g. ``"QUALITY: Positive, SHIPPING: Positive"`` (``data.label_column``,
  ``data.pair_separator``, ``data.aspect_separator``); other columns are ignored.

The two label formats share one parser for the ``ASPECT<sep>POLARITY`` pairs.
All return :class:`LabeledReviews` with canonical labels
(``0 none, 1 negative, 2 neutral, 3 positive``) and a mask that is ``False``
where a label is unknown. Every problem with a file raises
:class:`~acsa.errors.DataError` with one line naming the file, the row (or
line) and the column (or key), and the fix.

Matching rules (the same in every format):

* aspect names (CSV headers, the aspect part of ``ASPECT#POLARITY``) are
  matched to ``data.aspects`` ignoring case and surrounding spaces;
* label spellings are case-sensitive: a cell must equal one of
  ``data.label_names``, a key of ``data.label_aliases`` or of
  ``data.missing_values`` after surrounding spaces are stripped; an empty
  cell means "aspect not mentioned".

Row numbers are those a user sees: in a CSV the header is row 1 and the first
review row 2 (a spreadsheet's numbering; when a quoted text spans several
lines the message also gives the line); in JSON lines, the line number.

When ``data.aspects`` is not set, a file's aspects are taken from the file
itself (:func:`file_aspects`): a wide CSV's columns other than the text column
and ``data.ignore_columns``, in file order; for the label formats the aspect
names its labels use, sorted ignoring case (so the order does not depend on
the order of the rows). :func:`acsa.data.resolve_aspects` does this once for
all splits.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from acsa.data.config import DataConfig
from acsa.data.label_space import NEGATIVE, NEUTRAL, NONE, POLARITIES, POSITIVE
from acsa.errors import DataError

logger = logging.getLogger("acsa.data")

_POLARITY_CODE = {"negative": NEGATIVE, "neutral": NEUTRAL, "positive": POSITIVE}
_CODE_NAME = {NONE: "none", NEGATIVE: "negative", NEUTRAL: "neutral", POSITIVE: "positive"}
_MISSING = -1  # internal marker of an unknown label before it becomes mask=False
_DELIMITERS = (";", "\t", "|")


@dataclass
class DroppedRow:
    """A review left out while reading (duplicate, conflicting labels...)."""

    row: int
    reason: str


@dataclass
class SkippedLabel:
    """A malformed label left out under ``data.malformed_labels: skip``."""

    row: int
    label: str
    reason: str


@dataclass
class LabeledReviews:
    """Reviews of one split with canonical labels.

    Attributes:
        texts: review texts, as in the file.
        labels: ``int64 [N, A]`` canonical labels (0 where the mask is False).
        mask: ``bool [N, A]``; False where the label is unknown.
        source: the file the reviews come from.
        rows: 1-based row (CSV, header = 1) or line (JSON lines) of each review.
        aspects: aspect names, in the order of the label columns.
        dropped: reviews left out while reading, with the reason.
        skipped_labels: malformed labels left out while reading
            (``data.malformed_labels: skip``); the review itself is kept.
    """

    texts: list[str]
    labels: np.ndarray
    mask: np.ndarray
    source: Path
    rows: list[int]
    aspects: tuple[str, ...]
    dropped: list[DroppedRow] = field(default_factory=list)
    skipped_labels: list[SkippedLabel] = field(default_factory=list)

    def __post_init__(self) -> None:
        n, a = len(self.texts), len(self.aspects)
        if self.labels.shape != (n, a) or self.mask.shape != (n, a) or len(self.rows) != n:
            raise ValueError(
                f"inconsistent shapes: {n} texts, {len(self.rows)} rows, labels "
                f"{self.labels.shape}, mask {self.mask.shape}, {a} aspects"
            )

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices: Sequence[int] | np.ndarray) -> LabeledReviews:
        """The reviews at ``indices`` (same source and aspects; no dropped or skipped entries)."""
        idx = np.asarray(indices, dtype=np.int64)
        return LabeledReviews(
            texts=[self.texts[i] for i in idx],
            labels=self.labels[idx],
            mask=self.mask[idx],
            source=self.source,
            rows=[self.rows[i] for i in idx],
            aspects=self.aspects,
        )


def text_key(text: str) -> str:
    """Key under which two texts count as duplicates: whitespace runs collapsed."""
    return " ".join(text.split())


def load_split(path: Path | str, config: DataConfig) -> LabeledReviews:
    """Read one labelled file (wide CSV, JSON-lines label list or label column).

    The format is ``config.format``, or with ``auto`` taken from the suffix:
    ``.csv`` (wide CSV), ``.jsonl`` / ``.json`` (label list). When
    ``config.aspects`` is not set the aspects are taken from this file (see
    :func:`file_aspects`). Duplicated texts are handled by ``config.duplicates``;
    skipped malformed labels are logged as one warning.

    Raises:
        DataError: the file is missing, unreadable or holds invalid content.
    """
    path = Path(path)
    fmt = detect_format(path, config)
    text = _read_text(path)
    if fmt == "wide_csv":
        reviews = _parse_wide_csv(path, text, config)
    elif fmt == "label_studio":
        from acsa.data.label_studio import read_label_studio

        reviews = read_label_studio(path, text, config)
    else:
        reviews = _collect_labels(path, text, config, fmt).assemble()
    if reviews.skipped_labels:
        logger.warning("%s", skipped_labels_line(str(path), reviews.skipped_labels))
    return _apply_duplicate_policy(reviews, config)


def file_aspects(path: Path | str, config: DataConfig) -> tuple[str, ...]:
    """The aspects ``path`` declares, ignoring ``config.aspects``.

    Wide CSV: the header's columns other than the text column and
    ``config.ignore_columns``, in file order (only the header is parsed).
    Label formats: the aspect names its labels use (first spelling seen),
    sorted ignoring case; empty when no review has a label.

    Raises:
        DataError: the file is unreadable, or a label in it is invalid.
    """
    path = Path(path)
    fmt = detect_format(path, config)
    text = _read_text(path)
    config = config.model_copy(update={"aspects": None})
    if fmt == "wide_csv":
        with _csv_field_limit(max(config.max_text_chars, 1_000_000)):
            _, names = _csv_header(path, _iter_csv(path, text))
        text_col = _find_text_column(path, names, config)
        return tuple(name for _, name in _inferred_aspect_columns(path, names, text_col, config))
    if fmt == "label_studio":
        from acsa.data.label_studio import label_studio_aspects

        return label_studio_aspects(path, text, config)
    return _collect_labels(path, text, config, fmt).aspect_names()


def skipped_labels_line(where: str, skipped: Sequence[SkippedLabel]) -> str:
    """One line summing up the malformed labels skipped in one file."""
    shown = ", ".join(f"row {s.row} {_quote(s.label)} ({s.reason})" for s in skipped[:5])
    more = ", ..." if len(skipped) > 5 else ""
    return (
        f"{where}: {len(skipped)} malformed label(s) skipped (data.malformed_labels: skip; "
        f"their aspects' labels are unknown for those reviews): {shown}{more}"
    )


# --------------------------------------------------------------------------- files


def _where(path: Path) -> str:
    return str(path)


def _one_line(message: str) -> str:
    return " ".join(message.split("\n"))


def _fail(message: str) -> DataError:
    return DataError(_one_line(message))


def _quote(value: str, limit: int = 40) -> str:
    shown = value if len(value) <= limit else value[:limit] + "..."
    return repr(shown)


def detect_format(path: Path, config: DataConfig) -> str:
    """``config.format``, or with ``auto`` the format the file suffix implies.

    ``label_studio`` applies to ``.json`` files only (the exports); the other
    splits (a CSV validation or test file) are read by their suffix.
    """
    if config.format == "label_studio" and path.suffix.lower() == ".json":
        return "label_studio"
    if config.format not in ("auto", "label_studio"):
        return config.format
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "wide_csv"
    if suffix in (".jsonl", ".json", ".ndjson"):
        return "label_list"
    raise _fail(
        f"{_where(path)}: cannot tell the format from the suffix {path.suffix!r}; "
        "use .csv (wide CSV) or .jsonl (label list), or set data.format: wide_csv, "
        "label_list or label_column"
    )


def _read_text(path: Path) -> str:
    """Read a file as UTF-8 (a BOM is allowed), with one-line errors for the usual faults."""
    where = _where(path)
    if not path.exists():
        raise _fail(f"{where}: file not found; check data.dir and the file name in the config")
    if path.is_dir():
        raise _fail(
            f"{where}: is a directory, expected a file; point the config at a .csv or "
            ".jsonl file inside it"
        )
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _fail(
            f"{where}: cannot be read ({exc.strerror or exc}); check its permissions"
        ) from None
    if not raw.strip():
        raise _fail(f"{where}: the file is empty; add labelled reviews (CSV: after a header row)")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _fail(
            f"{where}: the file is UTF-16 encoded (byte-order mark found); save it as UTF-8 "
            "(in Excel: 'CSV UTF-8')"
        )
    nul = raw.find(b"\x00")
    if nul >= 0:
        head = raw[:2000]
        if head.count(b"\x00") * 4 >= len(head):
            raise _fail(
                f"{where}: the file looks UTF-16 encoded (every other byte is NUL); "
                "save it as UTF-8"
            )
        line = raw.count(b"\n", 0, nul) + 1
        raise _fail(
            f"{where} line {line} (byte offset {nul}): NUL byte found; the file is binary "
            "or corrupted; remove the NUL bytes and save it as UTF-8 text"
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        bad = raw[exc.start : exc.start + 4].hex(" ")
        raise _fail(
            f"{where} line {line} (byte offset {exc.start}): bytes are not valid UTF-8 "
            f"({bad}); save the file as UTF-8 (in Excel: 'CSV UTF-8')"
        ) from None


# --------------------------------------------------------------------------- labels


class _LabelLookup:
    """Maps label spellings to canonical codes, with helpful errors for unknown ones."""

    def __init__(self, config: DataConfig) -> None:
        self.spellings = [config.label_names[p] for p in POLARITIES]
        table: dict[str, int] = {config.label_names[p]: _POLARITY_CODE[p] for p in POLARITIES}
        for alias, target in config.label_aliases.items():
            if target in table:
                table[alias] = table[target]
            elif target in _POLARITY_CODE:
                table[alias] = _POLARITY_CODE[target]
            else:  # "none": the alias means "not mentioned"
                table[alias] = NONE
        for value in config.missing_values:
            table[value] = _MISSING
        self.table = table

    def code(self, value: str) -> int | None:
        return self.table.get(value.strip())

    def unknown(self, value: str, allow_empty: bool, extra_hint: str = "") -> str:
        """The message tail for an unknown label ``value`` (``extra_hint`` ends it)."""
        value = value.strip()
        # unprintable spellings would garble the suggested YAML, so show them escaped
        shown = value if value.isprintable() else repr(value)
        expected = ", ".join(sorted(self.spellings)) + (" or empty" if allow_empty else "")
        folded = {s.casefold(): s for s in self.spellings}
        if value.casefold() in folded:
            target = folded[value.casefold()]
            return (
                f"label {_quote(value)} has the wrong case (labels are case-sensitive; "
                f"expected one of {expected}); add it to data.label_aliases, "
                f"e.g. {{{shown}: {target}}}{extra_hint}"
            )
        close = difflib.get_close_matches(value, self.spellings, n=1, cutoff=0.6)
        hint = (
            f"add it to data.label_aliases, e.g. {{{shown}: {close[0]}}}"
            if close
            else "add it to data.label_aliases (e.g. {"
            + f"{shown}: {self.spellings[-1]}"
            + "}) or to data.missing_values if it means 'unknown'"
        )
        return f"unknown label {_quote(value)} (expected one of {expected}); {hint}{extra_hint}"


def _finish(
    path: Path,
    aspects: Sequence[str],
    texts: list[str],
    codes: list[list[int]],
    rows: list[int],
    dropped: list[DroppedRow],
    skipped: list[SkippedLabel] | None = None,
) -> LabeledReviews:
    num_aspects = len(aspects)
    if not texts:
        detail = f" ({len(dropped)} dropped: {dropped[0].reason})" if dropped else ""
        raise _fail(
            f"{_where(path)}: no reviews found (header only or zero rows){detail}; "
            "add labelled reviews to the file"
        )
    arr = np.asarray(codes, dtype=np.int64).reshape(len(texts), num_aspects)
    mask = arr != _MISSING
    labels = np.where(mask, arr, NONE).astype(np.int64)
    return LabeledReviews(
        texts=texts,
        labels=labels,
        mask=mask,
        source=path,
        rows=rows,
        aspects=tuple(aspects),
        dropped=dropped,
        skipped_labels=list(skipped or []),
    )


def _check_text(text: object, where: str, config: DataConfig) -> str:
    if not isinstance(text, str):
        raise _fail(f"{where}: the text must be a string, got {type(text).__name__}")
    if text == "":
        raise _fail(f"{where}: the review text is empty; fill it in or remove the row")
    if not text.strip():
        raise _fail(f"{where}: the review text is only whitespace; fill it in or remove the row")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        # JSON escapes can smuggle in lone surrogates, which no later stage can write out
        raise _fail(
            f"{where}: the text holds an invalid character ({_quote(text[exc.start])} at "
            f"position {exc.start}); remove it"
        ) from None
    if len(text) > config.max_text_chars:
        raise _fail(
            f"{where}: the text has {len(text)} characters, more than data.max_text_chars = "
            f"{config.max_text_chars}; shorten it or raise data.max_text_chars"
        )
    return text


# --------------------------------------------------------------------------- CSV


@contextmanager
def _csv_field_limit(chars: int) -> Iterator[None]:
    # csv's default limit (131072) would reject long texts before our own check can
    # name the row, so lift it for the duration of one read.
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, chars + 1))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _csv_place(path: Path, row: int, line: int) -> str:
    return f"{_where(path)} row {row}" + (f" (line {line})" if line != row else "")


def _csv_error(path: Path, row: int, line: int, exc: csv.Error, end_line: int) -> DataError:
    place = _csv_place(path, row, line)
    text = str(exc)
    if end_line > line and "expected after" in text:
        return _fail(
            f"{place}: a quoted field opened here runs on to line {end_line}; it is probably "
            'never closed: add the closing quote (a quote inside a quoted text is written "")'
        )
    if "unexpected end of data" in text or "newline inside string" in text:
        return _fail(
            f"{place}: a quoted field opened here is never closed; add the closing "
            'quote (a quote inside a quoted text is written "")'
        )
    if "field larger than field limit" in text:
        return _fail(
            f"{place}: a field is too long; a quoted field opened here is probably never "
            "closed, or the text exceeds data.max_text_chars"
        )
    if "expected after" in text:
        return _fail(
            f"{place}: malformed quoting ({text}); a quote inside a quoted text must be "
            'doubled ("")'
        )
    return _fail(f"{place}: malformed CSV ({text}); save the file as a comma-separated CSV")


def _columns_list(header: Sequence[str], limit: int = 15) -> str:
    shown = [repr(h) for h in header[:limit]]
    more = f", ... ({len(header)} in all)" if len(header) > limit else ""
    return ", ".join(shown) + more


def _iter_csv(path: Path, text: str) -> Iterator[tuple[int, int, list[str]]]:
    """Yield ``(row, line, record)`` per non-blank record; the first is the header.

    Blank lines are no records but still count as rows, as in a spreadsheet.
    Call inside :func:`_csv_field_limit`.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    row = 0
    while True:
        line = reader.line_num + 1
        row += 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _csv_error(path, row, line, exc, reader.line_num) from None
        if record:
            yield row, line, record


def _csv_header(path: Path, records: Iterator[tuple[int, int, list[str]]]) -> tuple[int, list[str]]:
    """Read the header: its field count and the cleaned column names (no duplicates)."""
    try:
        _, _, header = next(records)
    except StopIteration:
        raise _fail(f"{_where(path)}: the file is empty; it needs a header row") from None
    # a stray BOM inside the header (files joined together) must not hide a column name
    names = [h.replace("\ufeff", "").strip() for h in header]
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        key = name.casefold()
        if key in seen:
            raise _fail(
                f"{_where(path)} row 1: column {name!r} appears twice (columns {seen[key] + 1} "
                f"and {i + 1}); rename or remove one of them"
            )
        seen[key] = i
    return len(header), names


def _column_index(names: Sequence[str]) -> dict[str, int]:
    return {name.casefold(): i for i, name in enumerate(names)}


def _find_text_column(path: Path, names: list[str], config: DataConfig) -> int:
    where = _where(path)
    text_col = _column_index(names).get(config.text_column.strip().casefold())
    if text_col is not None:
        return text_col
    if len(names) == 1:
        for delim in _DELIMITERS:
            if delim in names[0]:
                shown = "tab" if delim == "\t" else repr(delim)
                raise _fail(
                    f"{where} row 1: the header is one column containing {shown}; the "
                    f"file seems to use {shown} as delimiter; save it comma-separated"
                )
    raise _fail(
        f"{where} row 1: no text column {config.text_column!r} (columns: "
        f"{_columns_list(names)}); set data.text_column to the column holding the text"
    )


def _check_field_count(place: str, record: list[str], width: int) -> None:
    if len(record) != width:
        raise _fail(
            f"{place}: {len(record)} fields but the header has {width}; "
            "quote texts that contain commas and check for a missing quote"
        )


# --------------------------------------------------------------------------- wide CSV


def _ignored(config: DataConfig) -> set[str]:
    return {c.strip().casefold() for c in config.ignore_columns}


def _inferred_aspect_columns(
    path: Path, names: list[str], text_col: int, config: DataConfig
) -> list[tuple[int, str]]:
    """``(column, name)`` of every column that is neither the text nor ignored."""
    ignored = _ignored(config)
    columns = [
        (i, name)
        for i, name in enumerate(names)
        if i != text_col and name.casefold() not in ignored
    ]
    for i, name in columns:
        if not name:
            raise _fail(
                f"{_where(path)} row 1: column number {i + 1} has no name, so it cannot be "
                "an aspect; name it (and list it in data.ignore_columns if it holds no labels) "
                "or list the aspects in data.aspects"
            )
    if not columns:
        raise _fail(
            f"{_where(path)} row 1: no aspect columns besides the text column "
            f"{names[text_col]!r} (columns: {_columns_list(names)}); add one column per "
            "aspect, or set data.format: label_column if the labels are in one column"
        )
    return columns


def _listed_aspect_columns(
    path: Path, names: list[str], text_col: int, config: DataConfig
) -> list[int]:
    """The column of each aspect in ``config.aspects``; rejects unknown extra columns."""
    assert config.aspects is not None
    where = _where(path)
    seen = _column_index(names)
    aspect_cols: list[int] = []
    missing: list[str] = []
    for aspect in config.aspects:
        idx = seen.get(aspect.casefold())
        if idx is None or idx == text_col:
            missing.append(aspect)
        else:
            aspect_cols.append(idx)
    if missing:
        listed = ", ".join(repr(m) for m in missing)
        raise _fail(
            f"{where} row 1: no column for aspect {listed} (columns: {_columns_list(names)}); "
            "add the column or remove the aspect from data.aspects"
        )
    if config.extra_columns == "error":
        used = {text_col, *aspect_cols}
        ignored = _ignored(config)
        for i, name in enumerate(names):
            if i not in used and name.casefold() not in ignored:
                shown = repr(name) if name else f"number {i + 1} (no name)"
                raise _fail(
                    f"{where} row 1: unknown column {shown}; add it to data.aspects or "
                    "data.ignore_columns, or set data.extra_columns: ignore"
                )
    return aspect_cols


def _parse_wide_csv(path: Path, text: str, config: DataConfig) -> LabeledReviews:
    lookup = _LabelLookup(config)
    with _csv_field_limit(max(config.max_text_chars, 1_000_000)):
        records = _iter_csv(path, text)
        width, names = _csv_header(path, records)
        text_col = _find_text_column(path, names, config)
        if config.aspects is None:
            inferred = _inferred_aspect_columns(path, names, text_col, config)
            aspect_cols = [i for i, _ in inferred]
            aspects: list[str] = [name for _, name in inferred]
            # a column the user never named as an aspect may simply not hold labels
            hint = " (or list the column in data.ignore_columns if it holds no labels)"
        else:
            aspect_cols = _listed_aspect_columns(path, names, text_col, config)
            aspects = list(config.aspects)
            hint = ""

        texts: list[str] = []
        codes: list[list[int]] = []
        rows: list[int] = []
        for row, line, record in records:
            place = _csv_place(path, row, line)
            _check_field_count(place, record, width)
            review = _check_text(record[text_col], f"{place}, column {names[text_col]!r}", config)
            cell_codes = []
            for aspect_col in aspect_cols:
                cell = record[aspect_col]
                if not cell.strip():
                    cell_codes.append(NONE)
                    continue
                code = lookup.code(cell)
                if code is None:
                    raise _fail(
                        f"{place}, column {names[aspect_col]!r}: "
                        + lookup.unknown(cell, allow_empty=True, extra_hint=hint)
                    )
                cell_codes.append(code)
            texts.append(review)
            codes.append(cell_codes)
            rows.append(row)
    return _finish(path, aspects, texts, codes, rows, [])


# --------------------------------------------------------------------------- label pairs


@dataclass
class _LabelRow:
    """One review of a label format, its labels parsed but not yet placed in columns."""

    row: int
    text: str
    where: str
    # (aspect as written, canonical code or _MISSING, the label as written)
    pairs: list[tuple[str, int, str]]
    # aspects named by a skipped malformed label: unknown unless labelled otherwise
    bare: list[str] = field(default_factory=list)
    all_missing: bool = False


class _LabelCollector:
    """Parses ``ASPECT<sep>POLARITY`` labels row by row and builds the label matrix.

    Shared by the JSON-lines label list and the label column. With
    ``config.aspects`` set, each row is checked and encoded as it arrives (so
    errors come in file order); otherwise the aspects are collected first and
    the rows encoded in :meth:`assemble`.
    """

    def __init__(self, path: Path, config: DataConfig) -> None:
        self.path = path
        self.config = config
        self.lookup = _LabelLookup(config)
        self.sep = config.aspect_separator
        self.pending: list[_LabelRow] = []
        self.texts: list[str] = []
        self.codes: list[list[int]] = []
        self.rows: list[int] = []
        self.dropped: list[DroppedRow] = []
        self.skipped: list[SkippedLabel] = []
        self.names: dict[str, str] = {}  # casefolded -> first spelling, discovery mode
        self.aspects: list[str] | None = None
        self.index: dict[str, int] = {}
        if config.aspects is not None:
            self._set_aspects(list(config.aspects))

    def _set_aspects(self, aspects: list[str]) -> None:
        self.aspects = aspects
        self.index = {a.strip().casefold(): i for i, a in enumerate(aspects)}

    def add(self, row: int, text: str, where: str, entries: Sequence[str]) -> None:
        """Parse the labels of one review (``where`` names its row and column or key)."""
        item = _LabelRow(row, text, where, [])
        for entry in entries:
            parsed = self._split(entry, row, where)
            if isinstance(parsed, str):
                if parsed:
                    item.bare.append(parsed)
                continue
            aspect, polarity = parsed
            if self.aspects is not None and aspect.casefold() not in self.index:
                raise _fail(
                    f"{where}: unknown aspect {_quote(aspect)} in {_quote(entry.strip())} "
                    f"(expected one of {', '.join(self.aspects)}); add it to data.aspects"
                )
            code = self.lookup.code(polarity)
            if code is None:
                raise _fail(
                    f"{where}, label {_quote(entry.strip())}: "
                    + self.lookup.unknown(polarity, allow_empty=False)
                )
            self.names.setdefault(aspect.casefold(), aspect)
            item.pairs.append((aspect, code, entry.strip()))
        self._accept(item)

    def add_missing(self, row: int, text: str, where: str) -> None:
        """A review whose whole label cell is a ``data.missing_values`` entry: all unknown."""
        self._accept(_LabelRow(row, text, where, [], all_missing=True))

    def _accept(self, item: _LabelRow) -> None:
        if self.aspects is None:
            self.pending.append(item)
        else:
            self._encode(item)

    def _split(self, entry: str, row: int, where: str) -> tuple[str, str] | str:
        """``(aspect, polarity)``, or for a skipped malformed label the aspect it names."""
        label = entry.strip()
        sep = self.sep
        if sep in label:
            aspect, polarity = (part.strip() for part in label.rsplit(sep, 1))
            if aspect and polarity:
                return aspect, polarity
            problem = (
                f"has no aspect before {sep!r}" if not aspect else f"has no polarity after {sep!r}"
            )
        else:
            aspect = label
            problem = f"has no {sep!r} between aspect and polarity"
        if self.config.malformed_labels == "skip":
            self.skipped.append(SkippedLabel(row, label, problem))
            return aspect
        raise _fail(
            f"{where}: label {_quote(label)} {problem}; write it as ASPECT{sep}POLARITY "
            "(separator: data.aspect_separator) or set data.malformed_labels: skip"
        )

    def _encode(self, item: _LabelRow) -> None:
        assert self.aspects is not None
        if item.all_missing:
            self.texts.append(item.text)
            self.codes.append([_MISSING] * len(self.aspects))
            self.rows.append(item.row)
            return
        found: dict[int, list[int]] = {}
        for aspect, code, _ in item.pairs:
            values = found.setdefault(self.index[aspect.casefold()], [])
            if code not in values:
                values.append(code)
        row_codes = [NONE] * len(self.aspects)
        for name in item.bare:
            a = self.index.get(name.casefold())
            if a is not None and a not in found:
                row_codes[a] = _MISSING  # mentioned, sentiment unknown: not "none"
        for a, values in found.items():
            if len(values) == 1:
                row_codes[a] = values[0]
                continue
            names = ", ".join(_CODE_NAME.get(v, "unknown") for v in values)
            policy = self.config.conflict_policy
            if policy == "error":
                raise _fail(
                    f"{item.where}: aspect {self.aspects[a]!r} has two polarities ({names}); "
                    "fix the labels or set data.conflict_policy to skip, first or map"
                )
            if policy == "skip":
                reason = f"aspect {self.aspects[a]!r} has two polarities ({names})"
                self.dropped.append(DroppedRow(item.row, reason))
                return
            if policy == "first":
                row_codes[a] = values[0]
            else:
                assert self.config.conflict_label is not None  # checked by DataConfig
                row_codes[a] = _POLARITY_CODE[self.config.conflict_label]
        self.texts.append(item.text)
        self.codes.append(row_codes)
        self.rows.append(item.row)

    def aspect_names(self) -> tuple[str, ...]:
        """The aspects the labels name (first spelling), sorted ignoring case."""
        return tuple(sorted(self.names.values(), key=lambda n: (n.casefold(), n)))

    def assemble(self) -> LabeledReviews:
        if self.aspects is None:
            aspects = self.aspect_names()
            if not aspects:
                raise _fail(
                    f"{_where(self.path)}: no review has a label, so the aspects cannot be "
                    "taken from this file; list them in data.aspects"
                )
            self._set_aspects(list(aspects))
            for item in self.pending:
                self._encode(item)
            self.pending = []
        assert self.aspects is not None
        return _finish(
            self.path, self.aspects, self.texts, self.codes, self.rows, self.dropped, self.skipped
        )


def _collect_labels(path: Path, text: str, config: DataConfig, fmt: str) -> _LabelCollector:
    collector = _LabelCollector(path, config)
    if fmt == "label_column":
        _read_label_column(path, text, config, collector)
    else:
        _read_label_list(path, text, config, collector)
    return collector


# --------------------------------------------------------------------------- label column


def _read_label_column(
    path: Path, text: str, config: DataConfig, collector: _LabelCollector
) -> None:
    where = _where(path)
    missing = {v.strip() for v in config.missing_values}
    with _csv_field_limit(max(config.max_text_chars, 1_000_000)):
        records = _iter_csv(path, text)
        width, names = _csv_header(path, records)
        text_col = _find_text_column(path, names, config)
        label_col = _column_index(names).get(config.label_column.strip().casefold())
        if label_col is None:
            raise _fail(
                f"{where} row 1: no label column {config.label_column!r} (columns: "
                f"{_columns_list(names)}); set data.label_column to the column holding the labels"
            )
        if label_col == text_col:
            raise _fail(
                f"{where} row 1: data.text_column and data.label_column both name column "
                f"{names[text_col]!r}; set them to two different columns"
            )
        for row, line, record in records:
            place = _csv_place(path, row, line)
            _check_field_count(place, record, width)
            review = _check_text(record[text_col], f"{place}, column {names[text_col]!r}", config)
            lplace = f"{place}, column {names[label_col]!r}"
            cell = record[label_col].strip()
            if cell in missing:
                collector.add_missing(row, review, lplace)
                continue
            # empty pieces (a trailing separator, an empty cell) carry no label
            entries = [e for e in cell.split(config.pair_separator) if e.strip()]
            collector.add(row, review, lplace, entries)


# --------------------------------------------------------------------------- label lists


def _iter_json_records(path: Path, text: str) -> Iterator[tuple[int, str, object]]:
    """Yield ``(line or item number, place, record)`` from JSON lines or a JSON array."""
    where = _where(path)
    # a .json file may hold one array of objects instead of one object per line
    if path.suffix.lower() == ".json" and text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _fail(
                f"{where} line {exc.lineno}: not valid JSON ({exc.msg}, column {exc.colno}); "
                "fix the JSON or write one object per line (.jsonl)"
            ) from None
        for i, item in enumerate(items, start=1):
            yield i, f"{where} item {i}", item
        return
    for lineno, line in enumerate(text.split("\n"), start=1):
        line = line.strip()
        if not line:
            continue
        place = f"{where} line {lineno}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise _fail(
                f"{place}: not valid JSON ({exc.msg}, column {exc.colno}); each line must be "
                'one object like {"text": "...", "labels": ["Battery#Positive"]}'
            ) from None
        yield lineno, place, record


def _read_label_list(path: Path, text: str, config: DataConfig, collector: _LabelCollector) -> None:
    sep = config.aspect_separator
    for row, place, record in _iter_json_records(path, text):
        if not isinstance(record, dict):
            raise _fail(
                f"{place}: expected a JSON object with keys {config.text_key!r} and "
                f"{config.labels_key!r}, got {type(record).__name__}"
            )
        if config.text_key not in record:
            raise _fail(
                f"{place}: missing key {config.text_key!r} (keys: {sorted(record)[:10]}); "
                "add the review text under it or set data.text_key"
            )
        review = _check_text(record[config.text_key], f"{place}, key {config.text_key!r}", config)
        if config.labels_key not in record:
            raise _fail(
                f"{place}: missing key {config.labels_key!r}; give a list such as "
                '["Battery#Positive"] ([] for a review that mentions no aspect) or set '
                "data.labels_key"
            )
        entries = record[config.labels_key]
        lkey = f"{place}, key {config.labels_key!r}"
        if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
            raise _fail(
                f'{lkey}: expected a list of strings like "Battery{sep}Positive", got '
                f"{_quote(json.dumps(entries, ensure_ascii=False))}"
            )
        collector.add(row, review, lkey, entries)


# --------------------------------------------------------------------------- duplicates


def duplicate_groups(texts: Sequence[str]) -> list[list[int]]:
    """Indices of texts that occur more than once (by :func:`text_key`), first-seen order."""
    groups: dict[str, list[int]] = {}
    for i, t in enumerate(texts):
        groups.setdefault(text_key(t), []).append(i)
    return [g for g in groups.values() if len(g) > 1]


def _apply_duplicate_policy(reviews: LabeledReviews, config: DataConfig) -> LabeledReviews:
    groups = duplicate_groups(reviews.texts)
    if not groups:
        return reviews
    where = _where(reviews.source)
    if config.duplicates == "error":
        first = groups[0]
        rows = " and ".join(str(reviews.rows[i]) for i in first[:2])
        raise _fail(
            f"{where} rows {rows}: the same text occurs twice ({len(groups)} duplicated texts "
            "in all); remove the copies or set data.duplicates: warn or drop"
        )
    if config.duplicates == "warn":
        logger.warning(
            "%s: %d texts occur more than once (rows %s); set data.duplicates: drop to keep "
            "only the first",
            where,
            len(groups),
            ", ".join("/".join(str(reviews.rows[i]) for i in g) for g in groups[:5]),
        )
        return reviews
    drop = {i: g[0] for g in groups for i in g[1:]}
    keep = [i for i in range(len(reviews)) if i not in drop]
    kept = reviews.subset(keep)
    kept.dropped = list(reviews.dropped) + [
        DroppedRow(reviews.rows[i], f"duplicate of row {reviews.rows[first]}")
        for i, first in sorted(drop.items())
    ]
    return kept

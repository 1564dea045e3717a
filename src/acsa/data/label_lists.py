"""The label formats: JSON-lines label lists and the label column, one parser for their pairs.

* ``label_list``: JSON lines (or a JSON array) of ``{"text": ..., "labels":
  ["Battery#Positive", ...]}``;
* ``label_column``: a CSV with a text column and one column holding the labels
  as pairs, e.g. ``"QUALITY: Positive, SHIPPING: Positive"``.

:class:`LabelCollector` parses the ``ASPECT<sep>POLARITY`` pairs of both row by
row and builds the label matrix (conflicts, malformed labels, unknown aspects).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from acsa.data.config import DataConfig
from acsa.data.label_space import NONE
from acsa.data.label_spellings import CODE_NAME, MISSING, POLARITY_CODE, LabelLookup
from acsa.data.reviews import (
    DroppedRow,
    LabeledReviews,
    SkippedLabel,
    check_text,
    reviews_from_codes,
)
from acsa.data.text_files import (
    column_index,
    columns_list,
    fail,
    file_place,
    open_csv,
    parse_json,
    quote,
)


@dataclass
class _LabelRow:
    """One review of a label format, its labels parsed but not yet placed in columns."""

    row: int
    text: str
    where: str
    # (aspect as written, canonical code or MISSING, the label as written)
    pairs: list[tuple[str, int, str]]
    # aspects named by a skipped malformed label: unknown unless labelled otherwise
    bare: list[str] = field(default_factory=list)
    all_missing: bool = False


class LabelCollector:
    """Parses ``ASPECT<sep>POLARITY`` labels row by row and builds the label matrix.

    Shared by the JSON-lines label list and the label column. With
    ``config.aspects`` set, each row is checked and encoded as it arrives (so
    errors come in file order); otherwise the aspects are collected first and
    the rows encoded in :meth:`assemble`.
    """

    def __init__(self, path: Path, config: DataConfig) -> None:
        self.path = path
        self.config = config
        self.lookup = LabelLookup(config)
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
                raise fail(
                    f"{where}: unknown aspect {quote(aspect)} in {quote(entry.strip())} "
                    f"(expected one of {', '.join(self.aspects)}); add it to data.aspects"
                )
            code = self.lookup.code(polarity)
            if code is None:
                raise fail(
                    f"{where}, label {quote(entry.strip())}: "
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
        raise fail(
            f"{where}: label {quote(label)} {problem}; write it as ASPECT{sep}POLARITY "
            "(separator: data.aspect_separator) or set data.malformed_labels: skip"
        )

    def _encode(self, item: _LabelRow) -> None:
        assert self.aspects is not None
        if item.all_missing:
            self.texts.append(item.text)
            self.codes.append([MISSING] * len(self.aspects))
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
                row_codes[a] = MISSING  # mentioned, sentiment unknown: not "none"
        for a, values in found.items():
            if len(values) == 1:
                row_codes[a] = values[0]
                continue
            names = ", ".join(CODE_NAME.get(v, "unknown") for v in values)
            policy = self.config.conflict_policy
            if policy == "error":
                raise fail(
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
                row_codes[a] = POLARITY_CODE[self.config.conflict_label]
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
                raise fail(
                    f"{file_place(self.path)}: no review has a label, so the aspects cannot be "
                    "taken from this file; list them in data.aspects"
                )
            self._set_aspects(list(aspects))
            for item in self.pending:
                self._encode(item)
            self.pending = []
        assert self.aspects is not None
        return reviews_from_codes(
            self.path, self.aspects, self.texts, self.codes, self.rows, self.dropped, self.skipped
        )


def collect_labels(path: Path, text: str, config: DataConfig, fmt: str) -> LabelCollector:
    """Every review of a label-list or label-column file, parsed into a collector."""
    collector = LabelCollector(path, config)
    if fmt == "label_column":
        _read_label_column(path, text, config, collector)
    else:
        _read_label_list(path, text, config, collector)
    return collector


# --------------------------------------------------------------------------- label column


def _read_label_column(
    path: Path, text: str, config: DataConfig, collector: LabelCollector
) -> None:
    where = file_place(path)
    missing = {v.strip() for v in config.missing_values}
    with open_csv(path, text, config) as table:
        names, text_col = table.names, table.text_col
        label_col = column_index(names).get(config.label_column.strip().casefold())
        if label_col is None:
            raise fail(
                f"{where} row 1: no label column {config.label_column!r} (columns: "
                f"{columns_list(names)}); set data.label_column to the column holding the labels"
            )
        if label_col == text_col:
            raise fail(
                f"{where} row 1: data.text_column and data.label_column both name column "
                f"{names[text_col]!r}; set them to two different columns"
            )
        for row, place, record in table.rows():
            review = check_text(record[text_col], f"{place}, column {names[text_col]!r}", config)
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
    where = file_place(path)
    # a .json file may hold one array of objects instead of one object per line
    if path.suffix.lower() == ".json" and text.lstrip().startswith("["):
        items = parse_json(text, where, "fix the JSON or write one object per line (.jsonl)")
        for i, item in enumerate(items, start=1):
            yield i, f"{where} item {i}", item
        return
    for lineno, line in enumerate(text.split("\n"), start=1):
        line = line.strip()
        if not line:
            continue
        fix = 'each line must be one object like {"text": "...", "labels": ["Battery#Positive"]}'
        record = parse_json(line, where, fix, first_line=lineno)
        yield lineno, f"{where} line {lineno}", record


def _read_label_list(path: Path, text: str, config: DataConfig, collector: LabelCollector) -> None:
    sep = config.aspect_separator
    for row, place, record in _iter_json_records(path, text):
        if not isinstance(record, dict):
            raise fail(
                f"{place}: expected a JSON object with keys {config.text_key!r} and "
                f"{config.labels_key!r}, got {type(record).__name__}"
            )
        if config.text_key not in record:
            raise fail(
                f"{place}: missing key {config.text_key!r} (keys: {sorted(record)[:10]}); "
                "add the review text under it or set data.text_key"
            )
        review = check_text(record[config.text_key], f"{place}, key {config.text_key!r}", config)
        if config.labels_key not in record:
            raise fail(
                f"{place}: missing key {config.labels_key!r}; give a list such as "
                '["Battery#Positive"] ([] for a review that mentions no aspect) or set '
                "data.labels_key"
            )
        entries = record[config.labels_key]
        lkey = f"{place}, key {config.labels_key!r}"
        if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
            raise fail(
                f'{lkey}: expected a list of strings like "Battery{sep}Positive", got '
                f"{quote(json.dumps(entries, ensure_ascii=False))}"
            )
        collector.add(row, review, lkey, entries)

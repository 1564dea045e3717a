"""A clean copy of a labelled file, in the input's own format, with flagged cells fixed.

Policies for a flagged cell:

* ``relabel``: the cell gets the suggested label;
* ``drop``: the whole review (row, line) is left out;
* ``mask``: the cell gets the first of ``data.missing_values``, which the
  readers turn into an unknown label that losses and metrics skip.

Everything else is copied as it was: other columns and keys, the byte-order
mark, the line endings, rows the reader dropped. The input file is only read.
Formats: wide CSV, label column (CSV) and label list (JSON lines or a JSON
array). A Label Studio export is an error (fix it in Label Studio instead).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from acsa.data.config import DataConfig
from acsa.data.label_space import NONE, POLARITIES
from acsa.data.readers import detect_format
from acsa.data.reviews import LabeledReviews
from acsa.errors import ArgumentError, DataArgumentError
from acsa.files import atomic_write

Policy = Literal["relabel", "drop", "mask"]
POLICIES: tuple[str, ...] = ("relabel", "drop", "mask")


def _cell_text(code: int, config: DataConfig) -> str:
    return "" if code == NONE else config.label_names[POLARITIES[code - 1]]


def planned_changes(
    reviews: LabeledReviews,
    flagged: np.ndarray,
    suggested: np.ndarray,
    policy: str,
    config: DataConfig,
) -> tuple[dict[int, dict[str, str | None]], set[int]]:
    """Per file row ``{aspect: new cell text (None: unknown)}``, and the rows to drop."""
    if policy not in POLICIES:
        raise ArgumentError(
            "{policy:{got}}: unknown; use one of {allowed}", got=policy, allowed=", ".join(POLICIES)
        )
    changes: dict[int, dict[str, str | None]] = {}
    dropped: set[int] = set()
    for n, a in zip(*np.nonzero(flagged), strict=True):
        row = reviews.rows[int(n)]
        if policy == "drop":
            dropped.add(row)
            continue
        value = _cell_text(int(suggested[n, a]), config) if policy == "relabel" else None
        changes.setdefault(row, {})[reviews.aspects[int(a)]] = value
    return changes, dropped


def _unknown_text(config: DataConfig) -> str:
    if not config.missing_values:
        raise ArgumentError(
            "{policy:mask} needs data.missing_values (the cell text meaning 'label unknown'); "
            "add e.g. missing_values: ['?'] to the data: section, or use {policy:relabel} or "
            "{policy:drop}"
        )
    return config.missing_values[0]


def _newline(raw: str) -> str:
    return "\r\n" if "\r\n" in raw else "\n"


def _read(path: Path) -> tuple[str, bool]:
    raw = path.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    return raw.decode("utf-8-sig"), bom


def _write(path: Path, text: str, bom: bool) -> None:
    data = ("\ufeff" if bom else "") + text
    atomic_write(path, lambda tmp: tmp.write_bytes(data.encode("utf-8")))


def _csv_records(text: str) -> list[tuple[int, list[str]]]:
    """``(row, record)`` with the readers' numbering (header row 1, blank lines count)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    return [(row, record) for row, record in enumerate(reader, start=1)]


def _csv_text(records: Sequence[list[str]], newline: str) -> str:
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, lineterminator=newline)
    for record in records:
        writer.writerow(record)
    return buf.getvalue()


def _columns(header: list[str]) -> dict[str, int]:
    return {h.replace("\ufeff", "").strip().casefold(): i for i, h in enumerate(header)}


def _wide_csv(text: str, config: DataConfig, changes, dropped, unknown: str | None) -> str:
    records = _csv_records(text)
    columns = _columns(records[0][1])
    out = []
    for row, record in records:
        if row in dropped:
            continue
        for aspect, value in changes.get(row, {}).items():
            record[columns[aspect.casefold()]] = unknown if value is None else value
        out.append(record)
    return _csv_text(out, _newline(text))


def _relabel_pairs(
    entries: list[str], updates: dict[str, str | None], config: DataConfig, unknown: str | None
) -> list[str]:
    sep = config.aspect_separator
    space = " " if any(f"{sep} " in e for e in entries) else ""
    keys = {a.casefold() for a in updates}
    kept = [e for e in entries if e.strip().rsplit(sep, 1)[0].strip().casefold() not in keys]
    for aspect, value in updates.items():
        written = next(
            (
                e.strip().rsplit(sep, 1)[0].strip()
                for e in entries
                if e.strip().rsplit(sep, 1)[0].strip().casefold() == aspect.casefold()
            ),
            aspect,
        )
        label = unknown if value is None else value
        if label:
            kept.append(f"{written}{sep}{space}{label}")
    return kept


def _label_column(text: str, config: DataConfig, changes, dropped, unknown: str | None) -> str:
    records = _csv_records(text)
    col = _columns(records[0][1])[config.label_column.strip().casefold()]
    joiner = config.pair_separator
    out = []
    for row, record in records:
        if row in dropped:
            continue
        if row in changes:
            cell = record[col]
            # the file's style: a space after the separator unless the cell has none
            tight = joiner in cell and f"{joiner} " not in cell
            joiner_out = joiner if tight else f"{joiner} "
            entries = [e.strip() for e in cell.split(config.pair_separator) if e.strip()]
            record[col] = joiner_out.join(_relabel_pairs(entries, changes[row], config, unknown))
        out.append(record)
    return _csv_text(out, _newline(text))


def _label_list(path: Path, text: str, config: DataConfig, changes, dropped, unknown) -> str:
    key = config.labels_key

    def fix(record: dict, updates: dict[str, str | None]) -> dict:
        return {**record, key: _relabel_pairs(list(record[key]), updates, config, unknown)}

    if path.suffix.lower() == ".json" and text.lstrip().startswith("["):
        items = json.loads(text)
        out = []
        for i, item in enumerate(items, start=1):
            if i in dropped:
                continue
            if i in changes:
                item = fix(item, changes[i])
            out.append(item)
        return json.dumps(out, ensure_ascii=False, indent=2) + "\n"
    newline = _newline(text)
    lines = text.split(newline) if newline == "\r\n" else text.split("\n")
    kept = []
    for lineno, line in enumerate(lines, start=1):
        if lineno in dropped:
            continue
        if lineno in changes:
            line = json.dumps(fix(json.loads(line), changes[lineno]), ensure_ascii=False)
        kept.append(line)
    return newline.join(kept)


def write_clean_copy(
    reviews: LabeledReviews,
    flagged: np.ndarray,
    suggested: np.ndarray,
    policy: str,
    config: DataConfig,
    out_dir: Path,
) -> Path:
    """Write ``out_dir/<input file name>`` with the flagged cells fixed; returns its path.

    Raises:
        ConfigError: ``out_dir`` is the input's folder, or ``mask`` without
            ``data.missing_values``.
        DataError: the input's format cannot be written back (Label Studio).
    """
    check_clean_options(reviews.source, config, policy, out_dir)
    source = Path(reviews.source)
    fmt = detect_format(source, config)
    changes, dropped = planned_changes(reviews, flagged, suggested, policy, config)
    unknown = _unknown_text(config) if policy == "mask" else None
    text, bom = _read(source)
    if fmt == "wide_csv":
        result = _wide_csv(text, config, changes, dropped, unknown)
    elif fmt == "label_column":
        result = _label_column(text, config, changes, dropped, unknown)
    else:
        result = _label_list(source, text, config, changes, dropped, unknown)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    target = Path(out_dir) / source.name
    _write(target, result, bom)
    return target


def check_clean_options(source: Path, config: DataConfig, policy: str, out_dir: Path) -> None:
    """Raise the one-line error ``write_clean_copy`` would, before any work is done."""
    source = Path(source)
    target = Path(out_dir) / source.name
    if policy not in POLICIES:
        raise ArgumentError(
            "{policy:{got}}: unknown; use one of {allowed}", got=policy, allowed=", ".join(POLICIES)
        )
    if policy == "mask":
        _unknown_text(config)
    if target.resolve() == source.resolve():
        raise ArgumentError(
            "{write_clean}: {out_dir} is the folder of the input {source}, whose file would be "
            "replaced; choose another folder (the original is never modified)",
            out_dir=out_dir,
            source=source,
        )
    fmt = detect_format(source, config)
    if fmt not in ("wide_csv", "label_column", "label_list"):
        raise DataArgumentError(
            "{source}: {write_clean} cannot write the {fmt} format; fix the labels in the "
            "labelling tool instead, or analyse a wide CSV, label column or label list file",
            source=source,
            fmt=fmt,
        )


def copy_other_splits(paths: Sequence[Path | None], source: Path, out_dir: Path) -> list[Path]:
    """Copy the config's other split files unchanged beside the clean copy (same names).

    So ``out_dir`` as the data folder with the same config trains on the clean copy.
    A file whose name is already taken in ``out_dir`` is not copied.
    """
    copied = []
    for path in paths:
        if path is None or Path(path).resolve() == Path(source).resolve():
            continue
        target = Path(out_dir) / Path(path).name
        if target.exists() or not Path(path).is_file():
            continue
        shutil.copy2(path, target)
        copied.append(target)
    return copied

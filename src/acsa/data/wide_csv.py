"""The wide CSV format: a text column and one column per aspect holding its polarity.

An empty cell means "aspect not mentioned". With ``data.aspects`` unset the
aspects are the columns other than the text column and ``data.ignore_columns``,
in file order; with it set, each listed aspect needs its column and other
columns follow ``data.extra_columns``.
"""

from __future__ import annotations

from pathlib import Path

from acsa.data.config import DataConfig
from acsa.data.label_space import NONE
from acsa.data.label_spellings import LabelLookup
from acsa.data.reviews import LabeledReviews, check_text, reviews_from_codes
from acsa.data.text_files import (
    column_index,
    columns_list,
    fail,
    file_place,
    open_csv,
)


def _ignored(config: DataConfig) -> set[str]:
    return {c.strip().casefold() for c in config.ignore_columns}


def inferred_aspect_columns(
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
            raise fail(
                f"{file_place(path)} row 1: column number {i + 1} has no name, so it cannot be "
                "an aspect; name it (and list it in data.ignore_columns if it holds no labels) "
                "or list the aspects in data.aspects"
            )
    if not columns:
        raise fail(
            f"{file_place(path)} row 1: no aspect columns besides the text column "
            f"{names[text_col]!r} (columns: {columns_list(names)}); add one column per "
            "aspect, or set data.format: label_column if the labels are in one column"
        )
    return columns


def _listed_aspect_columns(
    path: Path, names: list[str], text_col: int, config: DataConfig
) -> list[int]:
    """The column of each aspect in ``config.aspects``; rejects unknown extra columns."""
    assert config.aspects is not None
    where = file_place(path)
    seen = column_index(names)
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
        raise fail(
            f"{where} row 1: no column for aspect {listed} (columns: {columns_list(names)}); "
            "add the column or remove the aspect from data.aspects"
        )
    if config.extra_columns == "error":
        used = {text_col, *aspect_cols}
        ignored = _ignored(config)
        for i, name in enumerate(names):
            if i not in used and name.casefold() not in ignored:
                shown = repr(name) if name else f"number {i + 1} (no name)"
                raise fail(
                    f"{where} row 1: unknown column {shown}; add it to data.aspects or "
                    "data.ignore_columns, or set data.extra_columns: ignore"
                )
    return aspect_cols


def parse_wide_csv(path: Path, text: str, config: DataConfig) -> LabeledReviews:
    """The reviews of a wide CSV whose text is ``text``."""
    lookup = LabelLookup(config)
    with open_csv(path, text, config) as table:
        names, text_col = table.names, table.text_col
        if config.aspects is None:
            inferred = inferred_aspect_columns(path, names, text_col, config)
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
        for row, place, record in table.rows():
            review = check_text(record[text_col], f"{place}, column {names[text_col]!r}", config)
            cell_codes = []
            for aspect_col in aspect_cols:
                cell = record[aspect_col]
                if not cell.strip():
                    cell_codes.append(NONE)
                    continue
                code = lookup.code(cell)
                if code is None:
                    raise fail(
                        f"{place}, column {names[aspect_col]!r}: "
                        + lookup.unknown(cell, allow_empty=True, extra_hint=hint)
                    )
                cell_codes.append(code)
            texts.append(review)
            codes.append(cell_codes)
            rows.append(row)
    return reviews_from_codes(path, aspects, texts, codes, rows, [])

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

import logging
from pathlib import Path

from acsa.data.config import DataConfig
from acsa.data.label_lists import collect_labels
from acsa.data.reviews import DroppedRow, LabeledReviews, duplicate_groups, skipped_labels_line
from acsa.data.text_files import (
    fail,
    file_place,
    open_csv,
    read_text,
)
from acsa.data.wide_csv import inferred_aspect_columns, parse_wide_csv

logger = logging.getLogger("acsa.data")


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
    text = read_text(path)
    if fmt == "wide_csv":
        reviews = parse_wide_csv(path, text, config)
    elif fmt == "label_studio":
        from acsa.data.label_studio import read_label_studio

        reviews = read_label_studio(path, text, config)
    else:
        reviews = collect_labels(path, text, config, fmt).assemble()
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
    text = read_text(path)
    config = config.model_copy(update={"aspects": None})
    if fmt == "wide_csv":
        with open_csv(path, text, config) as table:
            names, text_col = table.names, table.text_col
        return tuple(name for _, name in inferred_aspect_columns(path, names, text_col, config))
    if fmt == "label_studio":
        from acsa.data.label_studio import label_studio_aspects

        return label_studio_aspects(path, text, config)
    return collect_labels(path, text, config, fmt).aspect_names()


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
    raise fail(
        f"{file_place(path)}: cannot tell the format from the suffix {path.suffix!r}; "
        "use .csv (wide CSV) or .jsonl (label list), or set data.format: wide_csv, "
        "label_list or label_column"
    )


def _apply_duplicate_policy(reviews: LabeledReviews, config: DataConfig) -> LabeledReviews:
    groups = duplicate_groups(reviews.texts)
    if not groups:
        return reviews
    where = file_place(reviews.source)
    if config.duplicates == "error":
        first = groups[0]
        rows = " and ".join(str(reviews.rows[i]) for i in first[:2])
        raise fail(
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

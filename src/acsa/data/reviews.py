"""The review container: :class:`LabeledReviews`, what reading left out, and review texts.

Every reader returns a :class:`LabeledReviews` with canonical labels
(``0 none, 1 negative, 2 neutral, 3 positive``) and a mask that is ``False``
where a label is unknown; :func:`reviews_from_codes` builds it from the codes a
reader collected (:data:`~acsa.data.label_spellings.MISSING` for unknown),
:func:`check_text` is the one rule for a review text, and :func:`text_key` /
:func:`duplicate_groups` say which texts count as the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from acsa.data.config import DataConfig
from acsa.data.label_space import NONE
from acsa.data.label_spellings import MISSING
from acsa.data.text_files import fail, file_place, quote


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


def duplicate_groups(texts: Sequence[str]) -> list[list[int]]:
    """Indices of texts that occur more than once (by :func:`text_key`), first-seen order."""
    groups: dict[str, list[int]] = {}
    for i, t in enumerate(texts):
        groups.setdefault(text_key(t), []).append(i)
    return [g for g in groups.values() if len(g) > 1]


def skipped_labels_line(where: str, skipped: Sequence[SkippedLabel]) -> str:
    """One line summing up the malformed labels skipped in one file."""
    shown = ", ".join(f"row {s.row} {quote(s.label)} ({s.reason})" for s in skipped[:5])
    more = ", ..." if len(skipped) > 5 else ""
    return (
        f"{where}: {len(skipped)} malformed label(s) skipped (data.malformed_labels: skip; "
        f"their aspects' labels are unknown for those reviews): {shown}{more}"
    )


def reviews_from_codes(
    path: Path,
    aspects: Sequence[str],
    texts: list[str],
    codes: list[list[int]],
    rows: list[int],
    dropped: list[DroppedRow],
    skipped: list[SkippedLabel] | None = None,
) -> LabeledReviews:
    """The reviews a reader collected, ``MISSING`` codes masked; no review at all is an error."""
    num_aspects = len(aspects)
    if not texts:
        detail = f" ({len(dropped)} dropped: {dropped[0].reason})" if dropped else ""
        raise fail(
            f"{file_place(path)}: no reviews found (header only or zero rows){detail}; "
            "add labelled reviews to the file"
        )
    arr = np.asarray(codes, dtype=np.int64).reshape(len(texts), num_aspects)
    mask = arr != MISSING
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


def check_text(text: object, where: str, config: DataConfig) -> str:
    """The text at ``where``: a non-blank string, valid UTF-8, at most data.max_text_chars."""
    if not isinstance(text, str):
        raise fail(f"{where}: the text must be a string, got {type(text).__name__}")
    if text == "":
        raise fail(f"{where}: the review text is empty; fill it in or remove the row")
    if not text.strip():
        raise fail(f"{where}: the review text is only whitespace; fill it in or remove the row")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        # JSON escapes can smuggle in lone surrogates, which no later stage can write out
        raise fail(
            f"{where}: the text holds an invalid character ({quote(text[exc.start])} at "
            f"position {exc.start}); remove it"
        ) from None
    if len(text) > config.max_text_chars:
        raise fail(
            f"{where}: the text has {len(text)} characters, more than data.max_text_chars = "
            f"{config.max_text_chars}; shorten it or raise data.max_text_chars"
        )
    return text

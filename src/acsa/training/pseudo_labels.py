"""Pseudo-labels for unlabelled reviews: the confident cells of a trained model's predictions.

:func:`pseudo_label` reads the unlabelled texts lazily, one at a time, drops
those that also occur in a labelled split (compared by
:func:`acsa.data.reviews.text_key` after the run's word segmentation, as the
data validation compares splits), predicts the rest in chunks and keeps, per
(review, aspect) cell, the most probable label where its probability is at
least the confidence cut (:func:`confident_cells`); the other cells are unknown
(``mask`` False, which the losses and metrics skip). Reviews without one
confident cell add nothing and are left out. Reading stops at ``limit`` reviews
sent to the model, so a file larger than that is never read to its end.

The model sees no test text: a text of the test split is dropped before the
model is called (unless ``overlaps: keep`` says otherwise), and the cut is a
fixed number, fitted on nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from acsa.data.reviews import LabeledReviews, text_key
from acsa.data.segmentation import segment_texts

logger = logging.getLogger(__name__)

CHUNK_REVIEWS = 1024
"""Unlabelled reviews predicted per step (memory: one chunk's probabilities)."""

Predict = Callable[[list[str]], np.ndarray]
"""Texts -> canonical probabilities ``[n, A, 4]``."""


def confident_cells(probabilities: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """The pseudo-labels ``[N, A]`` (canonical argmax) and the mask of the cells whose top
    probability is at least ``confidence`` (``probabilities``: ``[N, A, 4]``)."""
    probs = np.asarray(probabilities, dtype=np.float64)
    labels = probs.argmax(-1).astype(np.int64)
    mask = probs.max(-1) >= confidence
    return np.where(mask, labels, 0), mask


@dataclass
class PseudoLabeled:
    """What :func:`pseudo_label` produced and what it left out.

    Attributes:
        reviews: the pseudo-labelled reviews (segmented texts, labels, mask, file rows).
        read: unlabelled texts read (blank ones not counted).
        predicted: texts the model predicted (read minus dropped overlaps).
        overlaps: split name -> file rows of the texts found in that split.
        dropped_overlaps: overlapping texts left out.
        unconfident: predicted reviews without one confident cell, left out.
        cells: the kept reviews' cells; ``confident``: those with a pseudo-label.
        at_limit: reading stopped at the limit (the file may hold more).
        seconds: time spent.
    """

    reviews: LabeledReviews
    read: int = 0
    predicted: int = 0
    overlaps: dict[str, list[int]] = field(default_factory=dict)
    dropped_overlaps: int = 0
    unconfident: int = 0
    cells: int = 0
    confident: int = 0
    at_limit: bool = False
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """The ``run.json`` / ``metrics.json`` entry."""
        return {
            "read": self.read,
            "predicted": self.predicted,
            "overlaps": {name: len(rows) for name, rows in self.overlaps.items()},
            "dropped_overlaps": self.dropped_overlaps,
            "pseudo_labeled_reviews": len(self.reviews),
            "unconfident_reviews": self.unconfident,
            "confident_cells": self.confident,
            "cells": self.cells,
            "at_limit": self.at_limit,
            "seconds": round(self.seconds, 1),
        }


def pseudo_label(
    texts: Iterable[str],
    rows: list[int],
    predict: Predict,
    splits: Mapping[str, LabeledReviews],
    *,
    confidence: float,
    limit: int,
    segmentation: str = "none",
    keep_overlaps: bool = False,
    source: Path = Path("unlabeled"),
    chunk_size: int = CHUNK_REVIEWS,
) -> PseudoLabeled:
    """Pseudo-label the unlabelled ``texts`` (read lazily) with ``predict``.

    Args:
        texts: the unlabelled texts as read (raw; ``predict`` segments as the saved model does).
        rows: filled by the reader as it goes: the file row of each text yielded.
        splits: the labelled splits; a text of ``train`` is always dropped, one of another
            split (validation, test) unless ``keep_overlaps``.
        confidence: the cut of :func:`confident_cells`.
        limit: at most this many texts are sent to the model; reading stops there.
        segmentation: ``data.word_segmentation``: the kept texts are stored segmented, as
            the labelled splits are.
    """
    start = time.perf_counter()
    aspects = splits["train"].aspects
    keys = {name: {text_key(t) for t in reviews.texts} for name, reviews in splits.items()}
    overlaps: dict[str, list[int]] = {name: [] for name in splits}
    result = PseudoLabeled(reviews=_empty(aspects, source), overlaps=overlaps)
    parts: list[tuple[list[str], list[int], np.ndarray, np.ndarray]] = []
    iterator = iter(texts)
    exhausted = False
    last_log = start
    while not exhausted and result.predicted < limit:
        raw, segmented, file_rows = [], [], []
        while len(raw) < chunk_size and result.predicted + len(raw) < limit:
            text = next(iterator, None)
            if text is None:
                exhausted = True
                break
            result.read += 1
            row = rows[result.read - 1] if len(rows) >= result.read else result.read
            seg = segment_texts([text], segmentation)[0]
            hit = _overlap(text_key(seg), keys)
            if hit is not None:
                overlaps[hit].append(row)
                if hit == "train" or not keep_overlaps:
                    result.dropped_overlaps += 1
                    continue
            raw.append(text)
            segmented.append(seg)
            file_rows.append(row)
        if not raw:
            continue
        labels, mask = confident_cells(predict(raw), confidence)
        result.predicted += len(raw)
        keep = mask.any(axis=1)
        result.unconfident += int((~keep).sum())
        idx = np.flatnonzero(keep)
        parts.append(
            ([segmented[i] for i in idx], [file_rows[i] for i in idx], labels[idx], mask[idx])
        )
        now = time.perf_counter()
        if now - last_log >= 10 or exhausted or result.predicted >= limit:
            last_log = now
            _progress_line(result, limit, now - start)
    result.at_limit = result.predicted >= limit and not exhausted and _has_more(iterator)
    result.reviews = _joined(parts, aspects, source)
    result.cells = int(result.reviews.mask.size)
    result.confident = int(result.reviews.mask.sum())
    result.seconds = time.perf_counter() - start
    _overlap_line(overlaps, source, keep_overlaps)
    return result


def _overlap(key: str, keys: Mapping[str, set[str]]) -> str | None:
    """The split holding ``key`` (train first, then the others in order), or ``None``."""
    for name, split_keys in keys.items():
        if key in split_keys:
            return name
    return None


def _has_more(iterator: Iterator[str]) -> bool:
    """Whether the reader holds one more text (reads at most one more)."""
    return next(iterator, None) is not None


def _progress_line(result: PseudoLabeled, limit: int, seconds: float) -> None:
    rate = result.predicted / seconds if seconds > 0 else 0.0
    left = max(0, limit - result.predicted)
    eta = f", at most {left / rate:.0f} s left" if rate > 0 and left else ""
    logger.info(
        "pseudo-labelling: %d read, %d predicted (%.0f reviews/s)%s",
        result.read,
        result.predicted,
        rate,
        eta,
    )


def _overlap_line(overlaps: Mapping[str, list[int]], source: Path, keep: bool) -> None:
    """One warning per split sharing texts with the unlabelled file (as data validation)."""
    for name, rows in overlaps.items():
        if not rows:
            continue
        action = "kept (overlaps: keep)" if keep and name != "train" else "dropped"
        logger.warning(
            "%d unlabelled %s of %s also %s in the %s split (rows %s): %s",
            len(rows),
            "text" if len(rows) == 1 else "texts",
            source,
            "occurs" if len(rows) == 1 else "occur",
            name,
            ", ".join(str(r) for r in rows[:5]),
            action,
        )


def _empty(aspects: tuple[str, ...], source: Path) -> LabeledReviews:
    a = len(aspects)
    return LabeledReviews(
        texts=[],
        labels=np.zeros((0, a), dtype=np.int64),
        mask=np.zeros((0, a), dtype=bool),
        source=source,
        rows=[],
        aspects=aspects,
    )


def _joined(
    parts: list[tuple[list[str], list[int], np.ndarray, np.ndarray]],
    aspects: tuple[str, ...],
    source: Path,
) -> LabeledReviews:
    if not parts:
        return _empty(aspects, source)
    return LabeledReviews(
        texts=[t for p in parts for t in p[0]],
        labels=np.concatenate([p[2] for p in parts]),
        mask=np.concatenate([p[3] for p in parts]),
        source=source,
        rows=[r for p in parts for r in p[1]],
        aspects=aspects,
    )


def combined(labelled: LabeledReviews, pseudo: LabeledReviews) -> LabeledReviews:
    """The labelled training reviews followed by the pseudo-labelled ones."""
    return LabeledReviews(
        texts=[*labelled.texts, *pseudo.texts],
        labels=np.concatenate([labelled.labels, pseudo.labels]),
        mask=np.concatenate([labelled.mask, pseudo.mask]),
        source=labelled.source,
        rows=[*labelled.rows, *pseudo.rows],
        aspects=labelled.aspects,
    )

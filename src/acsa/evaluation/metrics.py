"""Metrics of GUIDE.md section 2, on canonical labels ``[N, A]``.

Every function takes gold and predicted labels in the canonical encoding
(``0 = none, 1 = negative, 2 = neutral, 3 = positive``) and an optional
boolean ``mask[N, A]``; cells where the mask is ``False`` (unknown gold) are
left out of every count. Wherever a ratio has a zero denominator (no
predicted mentions, no gold mentions, no cells) its value is 0.0, which is
scikit-learn's ``zero_division=0``.

Definitions (over the unmasked cells):

* **aspect detection**: binary, positive = label is not ``none``.
* **pair** (headline): TP = predicted polarity equals the gold polarity on a
  gold mention; FP = predicted mention whose (aspect, polarity) is not the
  gold pair; FN = gold mention whose pair was not predicted. A wrong polarity
  on a mentioned aspect is therefore one FP and one FN. This is micro
  precision/recall/F1 over the labels ``{1, 2, 3}`` with ``none`` as the
  ignored "negative" class.
* **sentiment macro-F1**: over cells whose gold is a polarity, F1 per
  polarity, then the plain mean; a ``none`` prediction there is a miss for the
  gold polarity (it lowers that class's recall and is nobody's false
  positive). A polarity with neither gold nor predicted cells in the scored
  subset is left out of the mean rather than counted as 0 (a per-aspect score
  would otherwise be capped at 2/3 for an aspect that never has ``neutral``).
* **seed-style weighted F1**: ``none`` mapped to ``neutral`` on both sides,
  support-weighted F1 over the three polarities per aspect, mean over the
  aspects that have unmasked cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from acsa.data.label_space import CANONICAL_CLASSES, NEUTRAL, NONE
from acsa.evaluation.f1 import f1_from_counts

__all__ = [
    "PairCounts",
    "compute_metrics",
    "detection_counts",
    "pair_counts",
    "prf_from_counts",
    "scalar_metrics",
]

_POLARITY_LABELS = [1, 2, 3]
_ALL_LABELS = [0, 1, 2, 3]


class PairCounts(NamedTuple):
    """True positives, false positives and false negatives (arrays of equal shape)."""

    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray


def _check_inputs(
    gold: np.ndarray, pred: np.ndarray, mask: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    gold = np.asarray(gold)
    pred = np.asarray(pred)
    if gold.ndim != 2 or gold.shape != pred.shape:
        raise ValueError(
            f"gold and pred must both have shape [N, A]; got {gold.shape} and {pred.shape}"
        )
    if mask is None:
        valid = np.ones(gold.shape, dtype=bool)
    else:
        valid = np.asarray(mask)
        if valid.shape != gold.shape:
            raise ValueError(f"mask must have shape {gold.shape}, got {valid.shape}")
        if valid.dtype != bool:
            raise ValueError(f"mask must be boolean, got dtype {valid.dtype}")
    # masked cells may hold any sentinel (-1, -100), so only unmasked ones are checked
    for name, arr in (("gold", gold), ("pred", pred)):
        bad = valid & ((arr < 0) | (arr > 3))
        if bad.any():
            n, a = np.argwhere(bad)[0]
            raise ValueError(
                f"{name} labels must be canonical 0..3 (none, negative, neutral, positive); "
                f"found {arr[n, a]!r} at review {n}, aspect {a}"
            )
    return gold.astype(np.int64), pred.astype(np.int64), valid


def pair_counts(
    gold: np.ndarray,
    pred: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    per_aspect: bool = False,
) -> PairCounts:
    """Pair TP/FP/FN per review (shape ``[N]``), or per cell (``[N, A]``) with ``per_aspect``.

    Summing over reviews gives the overall counts behind ``pair_f1``, so a
    bootstrap over reviews only needs to resample these arrays. Per-cell
    counts are 0 or 1; summing a column gives that aspect's counts.
    """
    gold, pred, valid = _check_inputs(gold, pred, mask)
    return _mention_counts(gold, pred, valid, gold == pred, per_aspect)


def detection_counts(
    gold: np.ndarray,
    pred: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    per_aspect: bool = False,
) -> PairCounts:
    """Aspect-detection TP/FP/FN per review (``[N]``) or per cell (``[N, A]``)."""
    gold, pred, valid = _check_inputs(gold, pred, mask)
    # a mention is right when both or neither mention the aspect
    return _mention_counts(gold, pred, valid, (gold != NONE) == (pred != NONE), per_aspect)


def _mention_counts(
    gold: np.ndarray, pred: np.ndarray, valid: np.ndarray, right: np.ndarray, per_aspect: bool
) -> PairCounts:
    """TP = a gold mention predicted ``right``, FP = a predicted mention not right, FN = a
    gold mention not right; per cell or summed per review."""
    gold_mention = valid & (gold != NONE)
    pred_mention = valid & (pred != NONE)
    tp = gold_mention & right
    fp = pred_mention & ~right
    fn = gold_mention & ~right
    if per_aspect:
        return PairCounts(tp.astype(np.int64), fp.astype(np.int64), fn.astype(np.int64))
    return PairCounts(tp.sum(axis=1), fp.sum(axis=1), fn.sum(axis=1))


def prf_from_counts(
    tp: npt.ArrayLike, fp: npt.ArrayLike, fn: npt.ArrayLike
) -> tuple[float | np.ndarray, float | np.ndarray, float | np.ndarray]:
    """Precision, recall and F1 from counts; 0.0 where a denominator is 0.

    Works on scalars (returns floats) and on arrays of equal shape, for
    example the summed counts of many bootstrap resamples (returns arrays).
    """
    tp_a, fp_a, fn_a = (np.asarray(x, dtype=np.float64) for x in (tp, fp, fn))
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp_a + fp_a > 0, tp_a / (tp_a + fp_a), 0.0)
        recall = np.where(tp_a + fn_a > 0, tp_a / (tp_a + fn_a), 0.0)
    f1 = f1_from_counts(tp_a, fp_a, fn_a)
    if precision.ndim == 0:
        return float(precision), float(recall), float(f1)
    return precision, recall, f1


def _binary_prf(gold_pos: np.ndarray, pred_pos: np.ndarray) -> tuple[float, float, float]:
    if gold_pos.size == 0:
        return 0.0, 0.0, 0.0
    p, r, f, _ = precision_recall_fscore_support(
        gold_pos, pred_pos, average="binary", pos_label=True, zero_division=0
    )
    return float(p), float(r), float(f)


def _pair_prf(gold: np.ndarray, pred: np.ndarray) -> tuple[float, float, float]:
    # micro average over the polarity labels only: "none" never scores, so a
    # predicted polarity that differs from gold is an FP of its label and an FN
    # of the gold label -- exactly the pair definition
    if gold.size == 0:
        return 0.0, 0.0, 0.0
    p, r, f, _ = precision_recall_fscore_support(
        gold, pred, labels=_POLARITY_LABELS, average="micro", zero_division=0
    )
    return float(p), float(r), float(f)


def _sentiment_macro_f1(gold: np.ndarray, pred: np.ndarray) -> float:
    scored = gold != NONE
    gold_s, pred_s = gold[scored], pred[scored]
    if gold_s.size == 0:
        return 0.0
    present = [c for c in _POLARITY_LABELS if np.any(gold_s == c) or np.any(pred_s == c)]
    # pred_s may hold 0 (none); it is outside `labels`, so it only costs recall
    return float(f1_score(gold_s, pred_s, labels=present, average="macro", zero_division=0))


def _seed_weighted_f1(gold: np.ndarray, pred: np.ndarray) -> float:
    if gold.size == 0:
        return 0.0
    gold_s = np.where(gold == NONE, NEUTRAL, gold)
    pred_s = np.where(pred == NONE, NEUTRAL, pred)
    return float(
        f1_score(gold_s, pred_s, labels=_POLARITY_LABELS, average="weighted", zero_division=0)
    )


def _confusion(gold: np.ndarray, pred: np.ndarray) -> list[list[int]]:
    if gold.size == 0:
        return [[0] * 4 for _ in range(4)]
    cm = confusion_matrix(gold, pred, labels=_ALL_LABELS)
    return [[int(v) for v in row] for row in cm]


def compute_metrics(
    gold: np.ndarray,
    pred: np.ndarray,
    aspects: Sequence[str],
    mask: np.ndarray | None = None,
) -> dict[str, Any]:
    """All metrics of GUIDE.md section 2, overall and per aspect (JSON-serializable).

    Args:
        gold: canonical gold labels ``[N, A]``.
        pred: canonical predicted labels ``[N, A]``.
        aspects: the ``A`` aspect names, in column order.
        mask: boolean ``[N, A]``; ``False`` marks an unknown gold cell, left out
            of every metric. ``None`` scores every cell.

    Returns:
        A dict with the overall metrics as top-level floats/ints
        (``pair_f1``, ``pair_precision``, ``pair_recall``, ``pair_tp``,
        ``pair_fp``, ``pair_fn``, ``aspect_f1``, ``aspect_precision``,
        ``aspect_recall``, ``sentiment_macro_f1``, ``seed_weighted_f1``,
        ``num_reviews``, ``num_cells``, ``num_masked_cells``), plus
        ``aspects`` (names), ``labels`` (confusion axis names),
        ``per_aspect`` (``{aspect: {...}}``, see :func:`_aspect_metrics`) and
        ``confusion`` (``{aspect: 4x4 list}``, rows gold, columns predicted,
        order none, negative, neutral, positive).
    """
    gold, pred, valid = _check_inputs(gold, pred, mask)
    aspects = [str(a) for a in aspects]
    if len(aspects) != gold.shape[1]:
        raise ValueError(f"got {len(aspects)} aspect names for {gold.shape[1]} label columns")

    g, p = gold[valid], pred[valid]
    aspect_p, aspect_r, aspect_f = _binary_prf(g != NONE, p != NONE)
    pair_p, pair_r, pair_f = _pair_prf(g, p)
    counts = pair_counts(gold, pred, valid, per_aspect=True)

    per_aspect: dict[str, dict[str, float | int]] = {}
    confusion: dict[str, list[list[int]]] = {}
    seed_scores: list[float] = []
    for j, name in enumerate(aspects):
        col = valid[:, j]
        ga, pa = gold[col, j], pred[col, j]
        per_aspect[name] = _aspect_metrics(
            ga,
            pa,
            int(counts.tp[:, j].sum()),
            int(counts.fp[:, j].sum()),
            int(counts.fn[:, j].sum()),
        )
        confusion[name] = _confusion(ga, pa)
        if ga.size:
            seed_scores.append(per_aspect[name]["seed_weighted_f1"])  # type: ignore[arg-type]

    return {
        "pair_f1": pair_f,
        "pair_precision": pair_p,
        "pair_recall": pair_r,
        "pair_tp": int(counts.tp.sum()),
        "pair_fp": int(counts.fp.sum()),
        "pair_fn": int(counts.fn.sum()),
        "aspect_f1": aspect_f,
        "aspect_precision": aspect_p,
        "aspect_recall": aspect_r,
        "sentiment_macro_f1": _sentiment_macro_f1(g, p),
        "seed_weighted_f1": float(np.mean(seed_scores)) if seed_scores else 0.0,
        "num_reviews": int(gold.shape[0]),
        "num_cells": int(valid.sum()),
        "num_masked_cells": int((~valid).sum()),
        "aspects": aspects,
        "labels": list(CANONICAL_CLASSES),
        "per_aspect": per_aspect,
        "confusion": confusion,
    }


def _aspect_metrics(
    gold: np.ndarray, pred: np.ndarray, tp: int, fp: int, fn: int
) -> dict[str, float | int]:
    """One aspect's metrics from its unmasked cells (1-D gold and pred).

    Keys: ``aspect_precision``, ``aspect_recall``, ``aspect_f1``,
    ``pair_precision``, ``pair_recall``, ``pair_f1``, ``pair_tp``,
    ``pair_fp``, ``pair_fn``, ``sentiment_macro_f1``, ``seed_weighted_f1``,
    ``num_cells``, ``support_mentioned`` (gold mentions),
    ``predicted_mentioned``, ``support_none``, ``support_negative``,
    ``support_neutral``, ``support_positive``.
    """
    a_p, a_r, a_f = _binary_prf(gold != NONE, pred != NONE)
    p_p, p_r, p_f = _pair_prf(gold, pred)
    out: dict[str, float | int] = {
        "aspect_precision": a_p,
        "aspect_recall": a_r,
        "aspect_f1": a_f,
        "pair_precision": p_p,
        "pair_recall": p_r,
        "pair_f1": p_f,
        "pair_tp": tp,
        "pair_fp": fp,
        "pair_fn": fn,
        "sentiment_macro_f1": _sentiment_macro_f1(gold, pred),
        "seed_weighted_f1": _seed_weighted_f1(gold, pred),
        "num_cells": int(gold.size),
        "support_mentioned": int(np.sum(gold != NONE)),
        "predicted_mentioned": int(np.sum(pred != NONE)),
    }
    for k, cls in enumerate(CANONICAL_CLASSES):
        out[f"support_{cls}"] = int(np.sum(gold == k))
    return out


def scalar_metrics(metrics: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """The overall numeric entries of a :func:`compute_metrics` result, as floats.

    Suited to ``transformers.Trainer``'s ``compute_metrics`` hook and to
    TensorBoard, which take only flat scalars.
    """
    return {
        f"{prefix}{k}": float(v)
        for k, v in metrics.items()
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
    }

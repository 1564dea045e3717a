"""The four headline metrics as functions of per-review counts, for resampling reviews.

A bootstrap over test reviews needs every metric of a resampled test set
without scoring it from labels again. All four metrics of GUIDE.md section 2
are functions of counts that add up over reviews, so each run is reduced once
to a matrix ``[N, Q]`` of per-review counts; a resample with review
multiplicities ``w[N]`` then has the counts ``w @ counts`` and the scores
:meth:`CountLayout.score` of those.

Counts per review (``TP, FP, FN`` on the last axis of each block):

* **pair**, per aspect ``[A, 3]`` -- pair micro-F1, overall (summed over
  aspects) and per aspect;
* **aspect detection**, per aspect ``[A, 3]``;
* **sentiment**, per polarity, pooled over aspects ``[3, 3]`` -- macro-F1 over
  the polarities present (gold or predicted) in the resample, as
  :func:`acsa.evaluation.metrics.compute_metrics` leaves absent ones out;
* **seed-style**, per aspect and polarity with ``none`` mapped to ``neutral``
  ``[A, 3, 3]`` -- support-weighted F1 per aspect (support ``TP + FN``), mean
  over the aspects with scored cells in the resample.

The scores equal :func:`~acsa.evaluation.metrics.compute_metrics` on the
resampled labels (tested), so the resampling changes nothing but the reviews.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from acsa.data.label_space import NEUTRAL, NONE
from acsa.evaluation.f1 import f1_from_counts
from acsa.evaluation.metrics import detection_counts, pair_counts

POLARITIES = (1, 2, 3)
# the headline metrics in the order of the first columns of CountLayout.score
HEADLINE: tuple[str, ...] = ("pair_f1", "aspect_f1", "sentiment_macro_f1", "seed_weighted_f1")


def _class_counts(gold: np.ndarray, pred: np.ndarray, scored: np.ndarray) -> np.ndarray:
    """``[N, A, 3, 3]``: per polarity ``TP, FP, FN`` over the ``scored`` cells."""
    out = np.empty(gold.shape + (3, 3), dtype=np.int64)
    for k, c in enumerate(POLARITIES):
        g, p = scored & (gold == c), scored & (pred == c)
        out[..., k, 0] = g & p
        out[..., k, 1] = p & ~g
        out[..., k, 2] = g & ~p
    return out


@dataclass(frozen=True)
class CountLayout:
    """Column layout of the per-review count matrix of ``n_aspects`` aspects.

    ``score`` maps summed counts ``[..., Q]`` to scores ``[..., M]``: the
    columns are :data:`HEADLINE` (4), then pair micro-F1 per aspect, then
    aspect-detection micro-F1 per aspect.
    """

    n_aspects: int

    @property
    def width(self) -> int:
        """``Q``, the number of count columns."""
        return 15 * self.n_aspects + 9

    @property
    def n_scores(self) -> int:
        """``M``, the number of score columns."""
        return len(HEADLINE) + 2 * self.n_aspects

    def column(self, metric: str, aspect: int | None = None) -> int:
        """Score column of a headline metric, or of ``pair_f1`` / ``aspect_f1`` for one aspect."""
        if aspect is None:
            return HEADLINE.index(metric)
        if metric not in ("pair_f1", "aspect_f1") or not 0 <= aspect < self.n_aspects:
            raise ValueError(f"no per-aspect column for {metric!r}, aspect {aspect}")
        return len(HEADLINE) + (0 if metric == "pair_f1" else self.n_aspects) + aspect

    def score(self, summed: np.ndarray) -> np.ndarray:
        """Scores ``[..., M]`` from summed counts ``[..., Q]`` (any leading axes)."""
        summed = np.asarray(summed, dtype=np.float64)
        if summed.shape[-1] != self.width:
            raise ValueError(f"expected {self.width} count columns, got {summed.shape[-1]}")
        a = self.n_aspects
        lead = summed.shape[:-1]
        pair = summed[..., : 3 * a].reshape(lead + (a, 3))
        aspect = summed[..., 3 * a : 6 * a].reshape(lead + (a, 3))
        senti = summed[..., 6 * a : 6 * a + 9].reshape(lead + (3, 3))
        seed = summed[..., 6 * a + 9 :].reshape(lead + (a, 3, 3))

        out = np.empty(lead + (self.n_scores,), dtype=np.float64)
        p_tot, a_tot = pair.sum(axis=-2), aspect.sum(axis=-2)
        out[..., 0] = f1_from_counts(p_tot[..., 0], p_tot[..., 1], p_tot[..., 2])
        out[..., 1] = f1_from_counts(a_tot[..., 0], a_tot[..., 1], a_tot[..., 2])

        # macro over the polarities that occur (gold or predicted) among the scored cells
        f1_c = f1_from_counts(senti[..., 0], senti[..., 1], senti[..., 2])
        present = senti.sum(axis=-1) > 0
        n_present = present.sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[..., 2] = np.where(
                n_present > 0, (f1_c * present).sum(axis=-1) / np.maximum(n_present, 1), 0.0
            )

        # support-weighted F1 per aspect, mean over aspects with scored cells
        f1_ac = f1_from_counts(seed[..., 0], seed[..., 1], seed[..., 2])
        support = seed[..., 0] + seed[..., 2]
        total = support.sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_aspect = (support * f1_ac).sum(axis=-1) / np.where(total > 0, total, 1.0)
        has = total > 0
        n_has = has.sum(axis=-1)
        out[..., 3] = np.where(n_has > 0, (per_aspect * has).sum(axis=-1) / np.maximum(n_has, 1), 0)

        out[..., 4 : 4 + a] = f1_from_counts(pair[..., 0], pair[..., 1], pair[..., 2])
        out[..., 4 + a :] = f1_from_counts(aspect[..., 0], aspect[..., 1], aspect[..., 2])
        return out


def per_review_counts(
    gold: np.ndarray, pred: np.ndarray, mask: np.ndarray | None = None
) -> tuple[np.ndarray, CountLayout]:
    """The per-review count matrix ``[N, Q]`` (int32) of one run and its layout.

    Args:
        gold: canonical gold labels ``[N, A]``.
        pred: canonical predictions ``[N, A]``.
        mask: ``[N, A]`` bool, ``False`` where the gold label is unknown (the
            cell counts nowhere).
    """
    pair = np.stack(pair_counts(gold, pred, mask, per_aspect=True), axis=-1)  # [N, A, 3]
    det = np.stack(detection_counts(gold, pred, mask, per_aspect=True), axis=-1)
    gold = np.asarray(gold, dtype=np.int64)
    pred = np.asarray(pred, dtype=np.int64)
    valid = np.ones(gold.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    senti = _class_counts(gold, pred, valid & (gold != NONE)).sum(axis=1)  # [N, 3, 3]
    seed = _class_counts(
        np.where(gold == NONE, NEUTRAL, gold), np.where(pred == NONE, NEUTRAL, pred), valid
    )
    n = gold.shape[0]
    counts = np.concatenate(
        [pair.reshape(n, -1), det.reshape(n, -1), senti.reshape(n, -1), seed.reshape(n, -1)],
        axis=1,
    ).astype(np.int32)
    return counts, CountLayout(gold.shape[1])

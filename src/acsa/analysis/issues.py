"""Probable label errors per (review, aspect) cell, with cleanlab (confident learning).

Each aspect is one 4-class problem (none, negative, neutral, positive) over the
reviews whose cell is known (mask True). For it, cleanlab

* flags the cells whose given label is probably wrong
  (:func:`cleanlab.filter.find_label_issues`, its default rule
  ``prune_by_noise_rate``: Northcutt, Jiang and Chuang, "Confident Learning:
  Estimating Uncertainty in Dataset Labels", JAIR 70, 2021, section 3);
* scores every cell's label quality
  (:func:`cleanlab.rank.get_label_quality_scores`, self-confidence: the
  out-of-fold probability of the given label; low = suspicious);
* estimates the joint distribution of given and true labels
  (:func:`cleanlab.count.estimate_joint`), the per-aspect noise table.

The suggested label of a cell is the most probable other class under the
out-of-fold probabilities.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from acsa.data.reviews import LabeledReviews

NUM_CLASSES = 4


@dataclass
class CellIssues:
    """What cleanlab found in one split.

    Attributes:
        probs: ``float [N, A, 4]`` out-of-fold probabilities.
        score: ``float [N, A]`` label-quality score of the given label (NaN where masked).
        flagged: ``bool [N, A]`` cells whose given label is probably wrong.
        suggested: ``int [N, A]`` most probable class other than the given one.
        joint: ``float [A, 4, 4]`` estimated P(given = i, true = j) per aspect
            (rows given, columns true; each aspect's table sums to 1).
        known: ``int [A]`` cells analysed per aspect (mask True).
    """

    probs: np.ndarray
    score: np.ndarray
    flagged: np.ndarray
    suggested: np.ndarray
    joint: np.ndarray
    known: np.ndarray

    @property
    def noise_rate(self) -> np.ndarray:
        """``float [A]``: estimated share of an aspect's cells whose given label is wrong."""
        return 1.0 - np.trace(self.joint, axis1=1, axis2=2)

    def ranked_cells(self) -> list[tuple[int, int]]:
        """``(review, aspect)`` of every flagged cell, most suspicious (lowest score) first."""
        rows, cols = np.nonzero(self.flagged)
        order = np.lexsort((cols, rows, self.score[rows, cols]))
        return [(int(rows[i]), int(cols[i])) for i in order]


def suggested_labels(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """``int [N, A]``: per cell the most probable class other than the given label."""
    others = probs.copy()
    np.put_along_axis(others, labels[..., None], -1.0, axis=-1)
    return others.argmax(-1).astype(np.int64)


def find_cell_issues(reviews: LabeledReviews, probs: np.ndarray) -> CellIssues:
    """Run cleanlab on every aspect of ``reviews`` given out-of-fold ``probs [N, A, 4]``."""
    from cleanlab.count import estimate_joint
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    n, num_aspects = reviews.labels.shape
    score = np.full((n, num_aspects), np.nan)
    flagged = np.zeros((n, num_aspects), dtype=bool)
    joint = np.zeros((num_aspects, NUM_CLASSES, NUM_CLASSES))
    known = reviews.mask.sum(0).astype(np.int64)
    for a in range(num_aspects):
        rows = np.flatnonzero(reviews.mask[:, a])
        labels = reviews.labels[rows, a]
        if rows.size == 0 or np.unique(labels).size < 2:
            joint[a] = np.diag(np.bincount(labels, minlength=NUM_CLASSES) / max(rows.size, 1))
            if rows.size:
                score[rows, a] = probs[rows, a, labels]
            continue
        # renormalise: a class the fold models never saw has probability 0 everywhere
        p = np.clip(probs[rows, a], 1e-12, None)
        p /= p.sum(-1, keepdims=True)
        with warnings.catch_warnings():
            # "too few examples in class k": expected for a rare neutral class
            warnings.simplefilter("ignore", UserWarning)
            flagged[rows, a] = find_label_issues(labels, p, n_jobs=1)
            joint[a] = estimate_joint(labels, p)
        score[rows, a] = get_label_quality_scores(labels, p, method="self_confidence")
    suggested = suggested_labels(reviews.labels, probs)
    return CellIssues(probs, score, flagged, suggested, joint, known)

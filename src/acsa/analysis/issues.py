"""Probable label errors per (review, aspect) cell, with cleanlab (confident learning).

Each aspect is one 4-class problem (none, negative, neutral, positive) over the
reviews whose cell is known (mask True). For it, cleanlab

* finds the cells whose given label is probably wrong
  (:func:`cleanlab.filter.find_label_issues`, confident learning: Northcutt,
  Jiang and Chuang, "Confident Learning: Estimating Uncertainty in Dataset
  Labels", JAIR 70, 2021, section 3), and this module keeps those whose
  out-of-fold probabilities are decisive enough (the ``rule``, below);
* scores every cell's label quality
  (:func:`cleanlab.rank.get_label_quality_scores`, self-confidence: the
  out-of-fold probability of the given label; low = suspicious);
* estimates the joint distribution of given and true labels
  (:func:`cleanlab.count.estimate_joint`), the per-aspect noise table.

The suggested label of a cell is the most probable other class under the
out-of-fold probabilities, its *margin* ``p(suggested) - p(given)``.

Rules (``acsa analyze --rule``):

* ``strict`` (default): cleanlab's ``filter_by="both"`` (a cell off-diagonal in
  the confident joint *and* pruned by noise rate and by class), kept only when
  its margin is at least :data:`MENTION_MARGIN` for a flip between
  not-mentioned and a polarity (either way), and at least
  :data:`POLARITY_MARGIN` for a flip between two polarities. The two kinds
  behave differently: whether an aspect is mentioned at all is where a
  bag-of-words model is most often confidently wrong (an implicit mention, a
  rare word), so those flips need near-certainty; a polarity flip of a
  mentioned aspect is rarely flagged without cause. Chosen on planted noise in
  the smartphone split and checked unchanged on the cosmetics split
  (docs/BENCHMARKS.md, issue 22).
* ``cleanlab``: cleanlab's own default (``prune_by_noise_rate``), no margin:
  more of the planted errors found at half the precision (smartphone split,
  5% planted: recall 0.89 against 0.62, precision 0.36 against 0.72); for a
  person who reviews every flag in a labelling tool.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from acsa.data.reviews import LabeledReviews
from acsa.errors import ArgumentError

NUM_CLASSES = 4
RULES: tuple[str, ...] = ("strict", "cleanlab")
DEFAULT_RULE = "strict"
# least margin p(suggested) - p(given) of a strict flag between not-mentioned and a polarity
MENTION_MARGIN = 0.975
# least margin of a strict flag between two polarities
POLARITY_MARGIN = 0.5
_FILTER_BY = {"strict": "both", "cleanlab": "prune_by_noise_rate"}


def check_rule(rule: str) -> None:
    """Raise the one-line error for an unknown rule (the CLI's ``--rule``)."""
    if rule not in RULES:
        raise ArgumentError(
            "{rule:{got}}: unknown; use one of {names}", got=rule, names=", ".join(RULES)
        )


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


def margin_ok(labels: np.ndarray, probs: np.ndarray, suggested: np.ndarray) -> np.ndarray:
    """``bool [N, A]``: the strict rule's margin test (see the module docstring)."""
    given = np.take_along_axis(probs, labels[..., None], -1)[..., 0]
    other = np.take_along_axis(probs, suggested[..., None], -1)[..., 0]
    mention_flip = (labels == 0) | (suggested == 0)
    least = np.where(mention_flip, MENTION_MARGIN, POLARITY_MARGIN)
    return other - given >= least


def find_cell_issues(
    reviews: LabeledReviews, probs: np.ndarray, rule: str = DEFAULT_RULE
) -> CellIssues:
    """Run cleanlab on every aspect of ``reviews`` given out-of-fold ``probs [N, A, 4]``."""
    from cleanlab.count import estimate_joint
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    check_rule(rule)
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
            flagged[rows, a] = find_label_issues(labels, p, filter_by=_FILTER_BY[rule], n_jobs=1)
            joint[a] = estimate_joint(labels, p)
        score[rows, a] = get_label_quality_scores(labels, p, method="self_confidence")
    suggested = suggested_labels(reviews.labels, probs)
    if rule == "strict":
        flagged &= margin_ok(reviews.labels, probs, suggested)
    return CellIssues(probs, score, flagged, suggested, joint, known)

"""The Trainer's ``compute_metrics`` hook: GUIDE.md metrics on the canonical gold rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from acsa.data.label_space import LabelSpace
from acsa.data.reviews import LabeledReviews

if TYPE_CHECKING:
    from transformers import EvalPrediction


class MetricsFunction:
    """``compute_metrics`` for the Trainer's evaluation of one split.

    Predictions arrive as ``[N, A, C]`` logits with ``(labels, label_mask,
    example_index)``; the gold canonical labels are looked up by index in
    ``reviews``, and predictions are decided by the same rule as every other
    consumer (:mod:`acsa.evaluation.decision`).
    """

    def __init__(self, reviews: LabeledReviews, label_space: LabelSpace) -> None:
        self.reviews = reviews
        self.label_space = label_space

    def __call__(self, eval_pred: EvalPrediction) -> dict[str, float]:
        from acsa.evaluation import compute_metrics, scalar_metrics
        from acsa.evaluation.decision import canonical_probabilities, decide

        logits = eval_pred.predictions
        if isinstance(logits, (tuple, list)):
            logits = logits[0]
        label_ids = eval_pred.label_ids
        index = np.asarray(label_ids[-1], dtype=np.int64).reshape(-1)
        # DDP pads the last batch with repeated rows; keep the first occurrence.
        index, first = np.unique(index, return_index=True)
        pred = decide(canonical_probabilities(np.asarray(logits)[first], self.label_space))
        gold = self.reviews.labels[index]
        mask = self.reviews.mask[index]
        metrics = compute_metrics(gold, pred, self.label_space.aspects, mask)
        return scalar_metrics(metrics)

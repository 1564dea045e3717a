"""Scoring a split: metrics of predictions against the gold labels, and the report files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from acsa.evaluation.metrics import compute_metrics
from acsa.evaluation.report import write_report


@dataclass
class SplitPredictions:
    """A model's predictions on a labelled split, beside its gold labels (canonical encoding).

    Attributes:
        aspects: the ``A`` aspect names.
        texts: the ``N`` review texts.
        gold: ``[N, A]`` gold labels (0 where the label is unknown).
        mask: ``[N, A]`` bool, False where the gold label is unknown.
        pred: ``[N, A]`` predicted labels.
        probabilities: ``[N, A, 4]`` class probabilities (none, negative, neutral, positive).
    """

    aspects: tuple[str, ...]
    texts: list[str]
    gold: np.ndarray
    mask: np.ndarray
    pred: np.ndarray
    probabilities: np.ndarray


def score_and_report(
    scored: SplitPredictions,
    output_dir: Path | None,
    *,
    extra: dict[str, Any] | None = None,
    log_history: list[dict[str, Any]] | None = None,
    plots: bool = True,
) -> dict[str, Any]:
    """The metrics of ``scored`` (GUIDE.md section 2); the report files when ``output_dir`` is set.

    Args:
        scored: predictions and gold labels of one split.
        output_dir: where ``metrics.json``, ``predictions.csv`` and the plots
            go; ``None`` writes nothing.
        extra: entries added to the metrics (e.g. the best validation scores).
        log_history: the Trainer's log history, for the training-curve plot.
        plots: write the PNG plots.
    """
    metrics = compute_metrics(scored.gold, scored.pred, list(scored.aspects), scored.mask)
    metrics.update(extra or {})
    if output_dir is not None:
        write_report(
            output_dir,
            metrics,
            texts=scored.texts,
            pred=scored.pred,
            gold=scored.gold,
            gold_mask=scored.mask,
            probabilities=scored.probabilities,
            log_history=log_history,
            plots=plots,
        )
    return metrics

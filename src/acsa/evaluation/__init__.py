"""Evaluation: metrics (GUIDE.md section 2), reports and plots.

Plots live in :mod:`acsa.evaluation.plots` and are imported on first use, so
that importing this package (as ``acsa predict`` does) does not load
matplotlib.
"""

from __future__ import annotations

from typing import Any

from acsa.evaluation.metrics import (
    PairCounts,
    compute_metrics,
    detection_counts,
    f1_from_counts,
    pair_counts,
    prf_from_counts,
    scalar_metrics,
)
from acsa.evaluation.report import (
    format_metrics_table,
    format_prediction_line,
    prediction_record,
    write_metrics_json,
    write_predictions_csv,
    write_report,
)

_PLOTS = ("plot_confusion_matrices", "plot_per_aspect_f1", "plot_training_curves")

__all__ = [
    "PairCounts",
    "compute_metrics",
    "detection_counts",
    "f1_from_counts",
    "format_metrics_table",
    "format_prediction_line",
    "pair_counts",
    "prediction_record",
    "prf_from_counts",
    "scalar_metrics",
    "write_metrics_json",
    "write_predictions_csv",
    "write_report",
    *_PLOTS,
]


def __getattr__(name: str) -> Any:
    if name in _PLOTS:
        from acsa.evaluation import plots

        return getattr(plots, name)
    raise AttributeError(f"module 'acsa.evaluation' has no attribute {name!r}")

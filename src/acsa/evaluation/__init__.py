"""Evaluation: metrics (GUIDE.md section 2), reports and plots.

Every public name is imported from its module on first use, so that
importing this package or one light submodule (``decision``, as a server
does) does not load scikit-learn, pandas or matplotlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# public name -> its module; imported on first use, so that a submodule such as
# ``decision`` (what a server loads) does not pull in scikit-learn, pandas or matplotlib
_LAZY = {
    "f1_from_counts": "f1",
    **dict.fromkeys(
        (
            "PairCounts",
            "compute_metrics",
            "detection_counts",
            "pair_counts",
            "prf_from_counts",
            "scalar_metrics",
        ),
        "metrics",
    ),
    **dict.fromkeys(
        (
            "format_metrics_table",
            "format_prediction_line",
            "prediction_record",
            "write_metrics_json",
            "write_predictions_csv",
            "write_report",
        ),
        "report",
    ),
}
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
    import importlib

    module = "plots" if name in _PLOTS else _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'acsa.evaluation' has no attribute {name!r}")
    return getattr(importlib.import_module(f"acsa.evaluation.{module}"), name)


if TYPE_CHECKING:
    from acsa.evaluation.f1 import f1_from_counts
    from acsa.evaluation.metrics import (
        PairCounts,
        compute_metrics,
        detection_counts,
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

"""F1 from counts, ``2 TP / (2 TP + FP + FN)``: the one formula every score uses.

Numpy only, so the decision rule (what a server loads) can use it without
scikit-learn.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def f1_from_counts(tp: npt.ArrayLike, fp: npt.ArrayLike, fn: npt.ArrayLike) -> float | np.ndarray:
    """F1 = 2 TP / (2 TP + FP + FN); 0.0 where ``2 TP + FP + FN`` is 0 (nothing to count).

    Works on scalars (returns a float) and elementwise on arrays of one shape
    (or broadcastable ones), for example the summed counts of many bootstrap
    resamples. The arithmetic is in the inputs' floating precision (integers
    in float64); a caller that needs float64 converts first.
    """
    tp = np.asarray(tp)
    denom = 2.0 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(denom > 0, 2.0 * tp / np.where(denom > 0, denom, 1.0), 0.0)
    return float(f1) if f1.ndim == 0 else f1

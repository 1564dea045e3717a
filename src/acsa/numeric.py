"""Numeric helpers shared by models and evaluation, in numpy (no torch).

:func:`softmax` is the one softmax that turns logits into the probabilities
acsa reports, decides on and blends: training, ``acsa evaluate``, ``acsa
predict`` and the server all go through it, on either runtime, so the
probabilities written by training and by a reloaded model agree to the last
bit, and predicting on ONNX Runtime never needs PyTorch.
"""

from __future__ import annotations

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, in float32 (the largest logit subtracted first)."""
    x = np.asarray(logits, dtype=np.float32)
    if x.size == 0:
        return x.copy()
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)

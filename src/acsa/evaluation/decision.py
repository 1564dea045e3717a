"""From a model's logits to canonical labels: the probabilities, and the decision rule.

Every consumer of a model (training's validation and test reports,
``acsa evaluate``, ``acsa predict``, :class:`acsa.api.Predictor`) decides
labels through :func:`decide`, so a change of rule (per-aspect thresholds
fitted on validation, saved with the model) changes them all at once.
"""

from __future__ import annotations

import numpy as np

from acsa.data.label_space import CANONICAL_CLASSES, LabelSpace


def canonical_probabilities(logits: np.ndarray, label_space: LabelSpace) -> np.ndarray:
    """Softmax over each aspect's classes, in canonical order: float32 ``[N, A, 4]``.

    Args:
        logits: ``[N, A, C]`` in the label scheme's class order.
        label_space: the scheme the model was trained with. Under ``seed``
            (positive, negative, neutral) the ``neutral`` probability is that of
            canonical ``none`` (see :meth:`LabelSpace.to_canonical`), and
            canonical ``neutral`` gets 0.
    """
    import torch

    # torch's softmax, as the Trainer's own evaluation uses, so the probabilities
    # written by training and by a reloaded model agree to the last bit
    probs = torch.softmax(torch.as_tensor(np.asarray(logits), dtype=torch.float32), dim=-1)
    probs = probs.numpy()
    if label_space.num_classes == len(CANONICAL_CLASSES):
        return probs
    canonical = np.zeros(probs.shape[:2] + (len(CANONICAL_CLASSES),), dtype=probs.dtype)
    for scheme_index, index in enumerate(label_space.to_canonical(np.arange(probs.shape[-1]))):
        canonical[..., index] += probs[..., scheme_index]
    return canonical


def decide(probabilities: np.ndarray) -> np.ndarray:
    """Canonical labels ``[N, A]`` from canonical probabilities ``[N, A, 4]``: the most probable.

    Ties go to the lower canonical index (``none`` first).
    """
    probs = np.asarray(probabilities)
    if probs.ndim != 3 or probs.shape[-1] != len(CANONICAL_CLASSES):
        raise ValueError(
            f"probabilities must be [N, A, {len(CANONICAL_CLASSES)}] in canonical order, "
            f"got shape {probs.shape}"
        )
    return probs.argmax(-1).astype(np.int64)

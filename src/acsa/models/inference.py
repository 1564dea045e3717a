"""Batched inference: texts -> logits ``[N, A, C]`` in the input order."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from acsa.models.featurizer import Featurizer
from acsa.models.model import AcsaModel


def predict_logits(
    model: AcsaModel,
    featurizer: Featurizer,
    texts: Sequence[str],
    batch_size: int = 64,
) -> np.ndarray:
    """Logits of ``texts`` as float32 ``[N, A, C]``, in the order of ``texts``.

    Reviews are batched by similar length (less padding, a large speed-up for
    transformer encoders) and the output is put back in input order.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    num_aspects = model.label_space.num_aspects
    num_classes = model.label_space.num_classes
    out = np.zeros((len(texts), num_aspects, num_classes), dtype=np.float32)
    if len(texts) == 0:
        return out
    features = featurizer.encode(texts)
    order = np.argsort([len(f["input_ids"]) for f in features], kind="stable")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                idx = order[start : start + batch_size]
                batch = featurizer.collate([features[i] for i in idx])
                batch = {k: v.to(device) for k, v in batch.items()}
                logits = model(**batch)["logits"]
                out[idx] = logits.float().cpu().numpy()
    finally:
        model.train(was_training)
    return out

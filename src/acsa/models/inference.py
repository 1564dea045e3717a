"""Batched inference: texts -> logits ``[N, A, C]`` in the input order.

The batching (:func:`logits_in_length_order`) needs no torch, so the ONNX
Runtime backend uses it without loading PyTorch; :func:`predict_logits` (the
PyTorch runtime) imports torch when called.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from acsa.models.featurizer import Featurizer

if TYPE_CHECKING:
    from acsa.models.model import AcsaModel

# a collated batch (featurizer.collate_arrays: int64 arrays) -> its logits [b, A, C]
BatchRunner = Callable[[dict[str, np.ndarray]], np.ndarray]
# most padded tokens (rows x longest row) in one model call: a few long reviews among
# short ones would otherwise make every row in the batch as long as the longest
MAX_BATCH_TOKENS = 1024


def length_batches(
    lengths: Sequence[int], batch_size: int, max_tokens: int = MAX_BATCH_TOKENS
) -> list[np.ndarray]:
    """Indices of ``lengths`` in batches of similar length, shortest first.

    A batch holds at most ``batch_size`` rows and, beyond its first row, at most
    ``max_tokens`` padded tokens (rows x its longest row).
    """
    order = np.argsort(np.asarray(lengths), kind="stable")
    batches: list[np.ndarray] = []
    start = 0
    while start < len(order):
        end = start + 1
        while (
            end < len(order)
            and end - start < batch_size
            and (end - start + 1) * lengths[order[end]] <= max_tokens
        ):
            end += 1
        batches.append(order[start:end])
        start = end
    return batches


def logits_in_length_order(
    featurizer: Featurizer,
    texts: Sequence[str],
    batch_size: int,
    shape: tuple[int, int],
    run_batch: BatchRunner,
    max_tokens: int = MAX_BATCH_TOKENS,
) -> np.ndarray:
    """Encode ``texts``, run ``run_batch`` on batches of similar length, return input order.

    Batching reviews by length means less padding (a large speed-up for
    transformer encoders and for a server's small mixed batches); every
    runtime (PyTorch, ONNX Runtime) shares this.

    Args:
        featurizer: encodes and collates the texts.
        texts: the reviews.
        batch_size: most reviews per call of ``run_batch``.
        shape: ``(A, C)``, the logits' trailing dimensions.
        run_batch: a collated batch (int64 arrays) -> float logits ``[b, A, C]``.
        max_tokens: most padded tokens per call (see :func:`length_batches`).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    out = np.zeros((len(texts), *shape), dtype=np.float32)
    if len(texts) == 0:
        return out
    features = featurizer.encode(texts)
    lengths = [len(f["input_ids"]) for f in features]
    for idx in length_batches(lengths, batch_size, max_tokens):
        out[idx] = run_batch(featurizer.collate_arrays([features[i] for i in idx]))
    return out


def predict_logits(
    model: AcsaModel,
    featurizer: Featurizer,
    texts: Sequence[str],
    batch_size: int = 64,
) -> np.ndarray:
    """Logits of ``texts`` as float32 ``[N, A, C]``, in the order of ``texts``."""
    import torch

    device = next(model.parameters()).device

    def run_batch(arrays: dict[str, np.ndarray]) -> np.ndarray:
        batch = {k: torch.from_numpy(v).to(device) for k, v in arrays.items()}
        return model(**batch)["logits"].float().cpu().numpy()

    shape = (model.label_space.num_aspects, model.label_space.num_classes)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            return logits_in_length_order(featurizer, texts, batch_size, shape, run_batch)
    finally:
        model.train(was_training)

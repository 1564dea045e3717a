"""Supervised contrastive losses on review embeddings with multi-aspect labels.

Both losses take ``embeddings[B, D]`` (the model's projection head output),
``targets[B, A]`` and an optional ``mask[B, A]``. With ``z`` the L2-normalized
embeddings and ``s_ij = z_i . z_j / temperature``, anchor ``i`` scores every other
review ``j`` by ``log P_ij = s_ij - log sum_{k != i} exp(s_ik)`` and the loss is

    L_i = - sum_{j != i} w_ij log P_ij / sum_{j != i} w_ij

averaged over the anchors with ``sum_j w_ij > 0``. They differ in the pair weights:

- :func:`multilabel_supcon_loss`: ``w_ij`` is the fraction of aspects, among those
  labelled in both reviews, on which the two labels agree. With one aspect this is
  exactly SupCon's ``L_out`` (Khosla et al., NeurIPS 2020, arXiv:2004.11362).
- :func:`soft_contrastive_loss` (the older scripts' variant):
  ``w_ij = base_weight + mean_a [y_ia == y_ja] (1 + extra_weight [y_ia != neutral])``,
  so every pair is a weak positive and agreeing non-neutral labels count more.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _check(embeddings: Tensor, targets: Tensor, mask: Tensor | None) -> None:
    if embeddings.dim() != 2:
        raise ValueError(f"embeddings must have shape [B, D], got {tuple(embeddings.shape)}")
    if targets.dim() == 1:
        raise ValueError("targets must have shape [B, A]; for one aspect use targets[:, None]")
    if targets.dim() != 2 or targets.shape[0] != embeddings.shape[0]:
        raise ValueError(
            f"targets must have shape [B, A] with B = {embeddings.shape[0]}, "
            f"got {tuple(targets.shape)}"
        )
    if mask is not None and mask.shape != targets.shape:
        raise ValueError(f"mask must have shape {tuple(targets.shape)}, got {tuple(mask.shape)}")


def _onehot(targets: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """``(onehot [B, A, C], valid [B, A])`` as floats, unlabelled cells all zero."""
    safe = targets.clamp_min(0)
    num_classes = int(safe.max().item()) + 1 if safe.numel() else 1
    valid = torch.ones(safe.shape, device=safe.device) if mask is None else mask.float()
    onehot = F.one_hot(safe, num_classes).float() * valid.unsqueeze(-1)
    return onehot, valid


def _agreement(onehot: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
    """``(agree, both)``: per pair, aspects with equal labels / labelled in both; ``[B, B]``."""
    flat = onehot.flatten(1)
    return flat @ flat.t(), valid @ valid.t()


class _Gram(torch.autograd.Function):
    """``z @ z.T`` with a backward of one matrix product instead of two (it is symmetric)."""

    @staticmethod
    def forward(ctx, z: Tensor) -> Tensor:
        ctx.save_for_backward(z)
        return z @ z.t()

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        (z,) = ctx.saved_tensors
        return (grad + grad.t()) @ z


def _weighted_log_prob_loss(embeddings: Tensor, weights: Tensor, temperature: float) -> Tensor:
    """Mean over anchors with positive weight of ``-sum_j w_ij log P_ij / sum_j w_ij``."""
    if embeddings.dtype != torch.float64:
        embeddings = embeddings.float()
    z = F.normalize(embeddings, dim=-1)
    logits = _Gram.apply(z) / temperature
    eye = torch.eye(z.shape[0], dtype=torch.bool, device=z.device)
    # A large negative instead of -inf: 0 * -inf would be NaN for the zero diagonal weights.
    logits = logits.masked_fill(eye, -1e9)
    log_prob = torch.log_softmax(logits, dim=-1)
    weights = weights.masked_fill(eye, 0.0)
    total = weights.sum(-1)
    has_pos = total > 0
    per_anchor = -(weights * log_prob).sum(-1) / total.clamp_min(1e-12)
    per_anchor = torch.where(has_pos, per_anchor, 0.0)
    return per_anchor.sum() / has_pos.sum().clamp_min(1)


def multilabel_supcon_loss(
    embeddings: Tensor,
    targets: Tensor,
    mask: Tensor | None = None,
    temperature: float = 0.1,
) -> Tensor:
    """Multi-label supervised contrastive loss with label-agreement pair weights.

    Args:
        embeddings: ``[B, D]`` projections (normalized inside).
        targets: ``[B, A]`` class indices.
        mask: optional ``[B, A]`` bool; unlabelled cells take no part in the agreement.
        temperature: softmax temperature.

    Returns a scalar: the mean over anchors that have at least one positive
    (0 with a zero gradient when there is none).
    """
    _check(embeddings, targets, mask)
    # float32 and no autocast: bf16 similarities divided by a small temperature
    # lose the differences that the loss is about.
    with torch.autocast(embeddings.device.type, enabled=False):
        agree, both = _agreement(*_onehot(targets.long(), mask))
        weights = agree / both.clamp_min(1)
        return _weighted_log_prob_loss(embeddings, weights, temperature)


def soft_contrastive_loss(
    embeddings: Tensor,
    targets: Tensor,
    mask: Tensor | None = None,
    temperature: float = 0.07,
    base_weight: float = 0.1,
    neutral_index: int = 2,
    extra_weight: float = 1.0,
) -> Tensor:
    """The older scripts' soft multi-label contrastive loss, vectorized.

    Args:
        embeddings: ``[B, D]`` projections (normalized inside).
        targets: ``[B, A]`` class indices.
        mask: optional ``[B, A]`` bool; unlabelled cells take no part in the matches.
        temperature: softmax temperature.
        base_weight: weight added to every pair.
        neutral_index: the class whose matches get no extra weight (index 2 is
            ``neutral`` in both label schemes).
        extra_weight: additional weight of a match on a non-neutral label.
    """
    _check(embeddings, targets, mask)
    with torch.autocast(embeddings.device.type, enabled=False):
        targets = targets.long()
        onehot, valid = _onehot(targets, mask)
        agree, both = _agreement(onehot, valid)
        # A match on a non-neutral label: drop the neutral class before matching.
        if 0 <= neutral_index < onehot.shape[-1]:
            onehot = onehot.clone()
            onehot[..., neutral_index] = 0
        sel = onehot.flatten(1)
        agree_non_neutral = sel @ sel.t()
        score = (agree + extra_weight * agree_non_neutral) / both.clamp_min(1)
        weights = base_weight + score
        return _weighted_log_prob_loss(embeddings, weights, temperature)


class MultiLabelSupConLoss(nn.Module):
    """Module form of :func:`multilabel_supcon_loss`.

    Args:
        temperature: softmax temperature.
    """

    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)

    def forward(self, embeddings: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
        return multilabel_supcon_loss(embeddings, targets, mask, self.temperature)


class SoftContrastiveLoss(nn.Module):
    """Module form of :func:`soft_contrastive_loss` (same arguments)."""

    def __init__(
        self,
        temperature: float = 0.07,
        base_weight: float = 0.1,
        neutral_index: int = 2,
        extra_weight: float = 1.0,
    ) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)
        self.base_weight = float(base_weight)
        self.neutral_index = int(neutral_index)
        self.extra_weight = float(extra_weight)

    def forward(self, embeddings: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
        return soft_contrastive_loss(
            embeddings,
            targets,
            mask,
            self.temperature,
            self.base_weight,
            self.neutral_index,
            self.extra_weight,
        )

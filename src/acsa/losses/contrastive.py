"""Supervised contrastive losses on review embeddings with multi-aspect labels.

Both losses take ``embeddings[B, D]`` (the model's projection head output),
``targets[B, A]`` and an optional ``mask[B, A]``. With ``z`` the L2-normalized
embeddings and ``s_ij = z_i . z_j / temperature``, anchor ``i`` scores every other
review ``j`` by ``log P_ij = s_ij - log sum_{k != i} exp(s_ik)`` and the loss is

    L_i = - sum_{j != i} w_ij log P_ij / sum_{j != i} w_ij

averaged over the anchors with ``sum_j w_ij > 0`` (0, attached to the graph, when
there is none: a batch of 0 or 1 reviews, or no positive pair). They differ in
the pair weights:

- :func:`multilabel_supcon_loss`: ``w_ij`` is the fraction of aspects, among those
  labelled in both reviews, on which the two labels agree. With one aspect this is
  exactly SupCon's ``L_out`` (Khosla et al., NeurIPS 2020, arXiv:2004.11362).
- :func:`soft_contrastive_loss` (the older scripts' variant): ``w_ij = base_weight +
  mean_a [y_ia == y_ja] (1 + extra_weight [y_ia != background])`` over the aspects
  labelled in both, so every pair is a weak positive and agreeing on a sentiment
  counts more than both leaving an aspect unmentioned.

Both compute in float32 with autocast off: bf16 similarities divided by a small
temperature lose the differences the loss is about.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._common import check_range


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


def _labels(targets: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
    """``(targets, valid)`` as long / float ``[B, A]``; unlabelled cells hold -1."""
    if mask is None:
        valid = torch.ones(targets.shape, device=targets.device)
    else:
        valid = mask.float()
    return targets.long().masked_fill(valid == 0, -1), valid


def _agreement(labels: Tensor, keep: Tensor | None = None) -> Tensor:
    """``[B, B]``: per pair, the number of aspects on which both hold the same kept label."""
    # [B, 1, A] == [1, B, A]; unlabelled cells (-1) never agree.
    same = (labels.unsqueeze(1) == labels.unsqueeze(0)) & (labels >= 0).unsqueeze(1)
    if keep is not None:
        same = same & keep.unsqueeze(1)
    return same.float().sum(-1)


def _weighted_log_prob_loss(embeddings: Tensor, weights: Tensor, temperature: float) -> Tensor:
    """Mean over anchors with positive weight of ``-sum_j w_ij log P_ij / sum_j w_ij``."""
    if embeddings.dtype != torch.float64:
        embeddings = embeddings.float()
    z = F.normalize(embeddings, dim=-1)
    eye = torch.eye(z.shape[0], dtype=torch.bool, device=z.device)
    # A large negative instead of -inf: 0 * -inf would be NaN for the zero diagonal weights.
    logits = (z @ z.t() / temperature).masked_fill(eye, -1e9)
    log_prob = torch.log_softmax(logits, dim=-1)
    weights = weights.to(log_prob).masked_fill(eye, 0.0)
    total = weights.sum(-1)
    has_pos = total > 0
    per_anchor = -(weights * log_prob).sum(-1) / total.clamp_min(1e-12)
    per_anchor = torch.where(has_pos, per_anchor, 0.0)
    return per_anchor.sum() / has_pos.sum().clamp_min(1)


def multilabel_supcon_loss(
    embeddings: Tensor,
    targets: Tensor,
    mask: Tensor | None = None,
    *,
    temperature: float = 0.1,
) -> Tensor:
    """Multi-label supervised contrastive loss with label-agreement pair weights.

    Args:
        embeddings: ``[B, D]`` projections (normalized inside).
        targets: ``[B, A]`` class indices.
        mask: optional ``[B, A]`` bool; unlabelled cells take no part in the agreement.
        temperature: softmax temperature > 0.

    Example:
        >>> emb = torch.tensor([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0]])
        >>> targets = torch.tensor([[1], [1], [2]])
        >>> # anchors 0 and 1 are each other's positive; anchor 2 has none and is skipped
        >>> round(multilabel_supcon_loss(emb, targets, temperature=1.0).item(), 4)
        0.3285
    """
    _check(embeddings, targets, mask)
    check_range("temperature", temperature, 0, low_open=True)
    with torch.autocast(embeddings.device.type, enabled=False):
        labels, valid = _labels(targets, mask)
        both = valid @ valid.t()
        weights = _agreement(labels) / both.clamp_min(1)
        return _weighted_log_prob_loss(embeddings, weights, temperature)


def soft_contrastive_loss(
    embeddings: Tensor,
    targets: Tensor,
    mask: Tensor | None = None,
    *,
    temperature: float = 0.07,
    base_weight: float = 0.1,
    extra_weight: float = 1.0,
    background_class: int = 0,
) -> Tensor:
    """The older scripts' soft multi-label contrastive loss, vectorized.

    Args:
        embeddings: ``[B, D]`` projections (normalized inside).
        targets: ``[B, A]`` class indices.
        mask: optional ``[B, A]`` bool; unlabelled cells take no part in the matches.
        temperature: softmax temperature > 0.
        base_weight: weight added to every pair.
        extra_weight: additional weight of a match on a sentiment, i.e. on any class
            but ``background_class``.
        background_class: the class of an unmentioned aspect (0 ``none`` under
            ``with_none``; 2 ``neutral`` under ``seed``, where empty cells go):
            two reviews that both leave an aspect unmentioned match without the
            extra weight.
    """
    _check(embeddings, targets, mask)
    check_range("temperature", temperature, 0, low_open=True)
    with torch.autocast(embeddings.device.type, enabled=False):
        labels, valid = _labels(targets, mask)
        both = valid @ valid.t()
        agree = _agreement(labels)
        sentiment = _agreement(labels, keep=labels != background_class)
        score = (agree + extra_weight * sentiment) / both.clamp_min(1)
        return _weighted_log_prob_loss(embeddings, base_weight + score, temperature)


class MultiLabelSupConLoss(nn.Module):
    """Module form of :func:`multilabel_supcon_loss`.

    Args:
        temperature: softmax temperature > 0.
    """

    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        check_range("temperature", temperature, 0, low_open=True)
        self.temperature = float(temperature)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"

    def forward(self, embeddings: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
        return multilabel_supcon_loss(embeddings, targets, mask, temperature=self.temperature)


class SoftContrastiveLoss(nn.Module):
    """Module form of :func:`soft_contrastive_loss` (same arguments).

    ``background_class`` is set from the label space by ``build_loss``.
    """

    def __init__(
        self,
        temperature: float = 0.07,
        base_weight: float = 0.1,
        extra_weight: float = 1.0,
        background_class: int = 0,
    ) -> None:
        super().__init__()
        check_range("temperature", temperature, 0, low_open=True)
        check_range("base_weight", base_weight, 0)
        check_range("extra_weight", extra_weight, 0)
        self.temperature = float(temperature)
        self.base_weight = float(base_weight)
        self.extra_weight = float(extra_weight)
        self.background_class = int(background_class)

    def extra_repr(self) -> str:
        return (
            f"temperature={self.temperature}, base_weight={self.base_weight}, "
            f"extra_weight={self.extra_weight}, background_class={self.background_class}"
        )

    def forward(self, embeddings: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
        return soft_contrastive_loss(
            embeddings,
            targets,
            mask,
            temperature=self.temperature,
            base_weight=self.base_weight,
            extra_weight=self.extra_weight,
            background_class=self.background_class,
        )

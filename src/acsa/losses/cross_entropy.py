"""Cross-entropy per (review, aspect) cell, with class weights and label smoothing."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._common import as_class_table, check_reduction, gather_class_table, prepare, reduce_cells
from .focal import focal_loss


def cross_entropy_loss(
    logits: Tensor,
    targets: Tensor,
    mask: Tensor | None = None,
    weight: Tensor | None = None,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> Tensor:
    """Softmax cross-entropy over the C classes of every aspect.

    ``loss_i = -(1 - eps) w_{t_i} log p_{t_i} - (eps / C) sum_k w_k log p_k``.

    Args:
        logits: ``[B, A, C]`` raw scores.
        targets: ``[B, A]`` class indices (long).
        mask: optional ``[B, A]`` bool, False marks a missing label that is skipped.
        weight: optional class weights ``[C]`` or per-(aspect, class) ``[A, C]``.
        label_smoothing: ``eps`` in [0, 1].
        reduction: 'none' (``[B, A]``, masked cells 0) | 'mean' (over valid cells;
            unlike ``F.cross_entropy`` it does not divide by the summed weights) | 'sum'.

    Example:
        >>> logits, targets = torch.zeros(2, 3, 4), torch.zeros(2, 3, dtype=torch.long)
        >>> round(cross_entropy_loss(logits, targets).item(), 4)
        1.3863
    """
    check_reduction(reduction)
    logits, targets, mask = prepare(logits, targets, mask)
    num_classes = logits.shape[-1]
    if weight is None or weight.dim() == 1:
        # One fused kernel when the weight is per class; masked cells use ignore_index.
        flat_targets = targets if mask is None else targets.masked_fill(~mask, -100)
        inner = "none" if reduction == "none" else "sum"
        loss = F.cross_entropy(
            logits.reshape(-1, num_classes),
            flat_targets.reshape(-1),
            weight=None if weight is None else weight.to(logits),
            label_smoothing=label_smoothing,
            reduction=inner,
        )
        if reduction == "none":
            return loss.view(targets.shape)
        if reduction == "sum" or mask is None:
            return loss if reduction == "sum" else loss / targets.numel()
        return loss / mask.sum().clamp_min(1)
    if label_smoothing == 0:
        # Per-(aspect, class) weighted CE is focal loss with gamma = 0 and alpha = weight,
        # whose analytic-gradient path is cheaper than this generic one.
        return focal_loss(logits, targets, mask, weight, 0.0, reduction)
    log_p = torch.log_softmax(logits, dim=-1)
    weight = weight.to(logits)
    nll = -log_p.gather(-1, targets.unsqueeze(-1)).squeeze(-1) * gather_class_table(weight, targets)
    if label_smoothing > 0:
        smooth = -(log_p * weight).sum(-1) / num_classes
        nll = (1 - label_smoothing) * nll + label_smoothing * smooth
    return reduce_cells(nll, mask, reduction)


class CrossEntropyLoss(nn.Module):
    """Module form of :func:`cross_entropy_loss`; ``weight`` is kept as a buffer.

    Args:
        weight: optional class weights ``[C]`` or ``[A, C]``.
        label_smoothing: smoothing ``eps`` in [0, 1].
        reduction: 'none' | 'mean' | 'sum' (see :func:`cross_entropy_loss`).
    """

    weight: Tensor | None

    def __init__(
        self,
        weight: Tensor | list | None = None,
        label_smoothing: float = 0.0,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        check_reduction(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
        self.register_buffer("weight", as_class_table(weight, "weight"))
        self.label_smoothing = label_smoothing
        self.reduction = reduction

    def forward(self, logits: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
        return cross_entropy_loss(
            logits, targets, mask, self.weight, self.label_smoothing, self.reduction
        )

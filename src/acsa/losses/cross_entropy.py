"""Cross-entropy per (review, aspect) cell, with class weights and label smoothing."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ._common import (
    check_range,
    check_reduction,
    class_weights,
    pick_class_weight,
    prepare,
    reduce_cells,
)


def cross_entropy_loss(
    logits: Tensor,
    targets: Tensor,
    mask: Tensor | None = None,
    *,
    weight: Tensor | None = None,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> Tensor:
    """Softmax cross-entropy over the C classes of every aspect.

    ``loss = -(1 - eps) w_t log p_t - (eps / C) sum_k w_k log p_k`` per cell.

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
        >>> round(cross_entropy_loss(logits, targets).item(), 4)  # log 4
        1.3863
    """
    check_reduction(reduction)
    check_range("label_smoothing", label_smoothing, 0, 1)
    logits, targets, valid = prepare(logits, targets, mask)
    log_p = torch.log_softmax(logits, dim=-1)
    nll = -log_p.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    if weight is not None:
        weight = weight.to(log_p)
        nll = nll * pick_class_weight(weight, targets)
    if label_smoothing > 0:
        weighted = log_p if weight is None else log_p * weight
        nll = (1 - label_smoothing) * nll - label_smoothing * weighted.mean(-1)
    return reduce_cells(nll, valid, reduction)


class CrossEntropyLoss(nn.Module):
    """Module form of :func:`cross_entropy_loss`; ``weight`` is kept as a buffer.

    Args:
        weight: optional class weights ``[C]`` or ``[A, C]``, or ``"auto"``: inverse
            frequency ``N_a / (C n_ac)`` from ``class_counts``.
        label_smoothing: smoothing ``eps`` in [0, 1].
        reduction: 'none' | 'mean' | 'sum' (see :func:`cross_entropy_loss`).
        class_counts: ``[A, C]`` training label counts, needed for ``"auto"``.
    """

    weight: Tensor | None

    def __init__(
        self,
        weight: Tensor | list | str | None = None,
        label_smoothing: float = 0.0,
        reduction: str = "mean",
        class_counts: Tensor | None = None,
    ) -> None:
        super().__init__()
        check_reduction(reduction)
        check_range("label_smoothing", label_smoothing, 0, 1)
        self.register_buffer("weight", class_weights(weight, class_counts, "weight"))
        self.label_smoothing = float(label_smoothing)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"label_smoothing={self.label_smoothing}, reduction={self.reduction!r}"

    def forward(self, logits: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
        return cross_entropy_loss(
            logits,
            targets,
            mask,
            weight=self.weight,
            label_smoothing=self.label_smoothing,
            reduction=self.reduction,
        )

"""Asymmetric loss ASL (Ridnik et al., ICCV 2021, arXiv:2009.14119).

Every class of a cell is a binary problem on the one-hot target, ``p = sigmoid(x)``:

    L+ = (1 - p)^gamma_pos * log(p)                             for the target class
    L- = p_m^gamma_neg * log(1 - p_m),  p_m = max(p - clip, 0)   for the others

and the cell loss is ``-sum_c (y_c L+ + (1 - y_c) L-)``. ``clip`` (the probability
margin) discards easy negatives entirely.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._common import check_range, check_reduction, one_hot, prepare, reduce_cells, safe_pow


def asymmetric_loss(
    logits: Tensor,
    targets: Tensor,
    mask: Tensor | None = None,
    *,
    gamma_pos: float = 0.0,
    gamma_neg: float = 4.0,
    clip: float = 0.05,
    reduction: str = "mean",
) -> Tensor:
    """ASL summed over the C classes of each cell.

    Args:
        logits: ``[B, A, C]`` raw scores.
        targets: ``[B, A]`` class indices (long).
        mask: optional ``[B, A]`` bool, False skips the cell.
        gamma_pos: focusing exponent >= 0 for the target class.
        gamma_neg: focusing exponent >= 0 for the other classes.
        clip: probability margin ``m`` in [0, 1) shifted off the negatives.
        reduction: 'none' (``[B, A]``) | 'mean' (over valid cells) | 'sum'.

    Example:
        >>> logits, targets = torch.zeros(1, 1, 2), torch.zeros(1, 1, dtype=torch.long)
        >>> round(asymmetric_loss(logits, targets, gamma_neg=0.0, clip=0.0).item(), 4)  # 2 log 2
        1.3863
    """
    _check(gamma_pos, gamma_neg, clip, reduction)
    logits, targets, valid = prepare(logits, targets, mask)
    y = one_hot(targets, logits)
    if clip > 0:
        p_m = (torch.sigmoid(logits) - clip).clamp_min(0)
        log_not_p = torch.log1p(-p_m)  # 1 - p_m >= clip: finite for any logit
    else:
        p_m = torch.sigmoid(logits)
        log_not_p = F.logsigmoid(-logits)  # log(1 - p) without rounding 1 - p to 0
    negative = safe_pow(p_m, gamma_neg) * log_not_p
    positive = safe_pow(torch.sigmoid(-logits), gamma_pos) * F.logsigmoid(logits)
    per_cell = -(y * positive + (1 - y) * negative).sum(-1)
    return reduce_cells(per_cell, valid, reduction)


def _check(gamma_pos: float, gamma_neg: float, clip: float, reduction: str) -> None:
    check_reduction(reduction)
    check_range("gamma_pos", gamma_pos, 0)
    check_range("gamma_neg", gamma_neg, 0)
    check_range("clip", clip, 0, 1, high_open=True)


class AsymmetricLoss(nn.Module):
    """Module form of :func:`asymmetric_loss` (same arguments)."""

    def __init__(
        self,
        gamma_pos: float = 0.0,
        gamma_neg: float = 4.0,
        clip: float = 0.05,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        _check(gamma_pos, gamma_neg, clip, reduction)
        self.gamma_pos = float(gamma_pos)
        self.gamma_neg = float(gamma_neg)
        self.clip = float(clip)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return (
            f"gamma_pos={self.gamma_pos}, gamma_neg={self.gamma_neg}, clip={self.clip}, "
            f"reduction={self.reduction!r}"
        )

    def forward(self, logits: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
        return asymmetric_loss(
            logits,
            targets,
            mask,
            gamma_pos=self.gamma_pos,
            gamma_neg=self.gamma_neg,
            clip=self.clip,
            reduction=self.reduction,
        )

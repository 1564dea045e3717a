"""Asymmetric loss ASL (Ridnik et al., ICCV 2021, arXiv:2009.14119).

Every class of a cell is a binary problem on the one-hot target, ``p = sigmoid(x)``:

    L+ = (1 - p)^gamma_pos * log(p)                 for the target class
    L- = p_m^gamma_neg * log(1 - p_m),  p_m = max(p - clip, 0)   for the others

and the cell loss is ``-sum_c (y_c L+ + (1 - y_c) L-)``. ``clip`` (the probability
margin) discards easy negatives entirely.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._common import check_reduction, lift_2d, prepare, reduce_cells, safe_pow


def asymmetric_loss(
    logits: Tensor,
    targets: Tensor,
    mask: Tensor | None = None,
    gamma_pos: float = 0.0,
    gamma_neg: float = 4.0,
    clip: float = 0.05,
    reduction: str = "mean",
) -> Tensor:
    """ASL summed over the C classes of each cell.

    Args:
        logits: ``[B, A, C]`` raw scores; targets: ``[B, A]`` long; mask: optional ``[B, A]``.
        gamma_pos: focusing exponent for the target class.
        gamma_neg: focusing exponent for the other classes.
        clip: probability margin ``m`` in [0, 1) shifted off the negatives.
        reduction: 'none' (``[B, A]``) | 'mean' (over valid cells) | 'sum'.
    """
    check_reduction(reduction)
    if not 0.0 <= clip < 1.0:
        raise ValueError(f"clip must be in [0, 1), got {clip}")
    logits, targets, mask = prepare(logits, targets, mask)
    index = targets.unsqueeze(-1)
    if clip > 0:
        prob_neg = (torch.sigmoid(logits) - clip).clamp_min_(0)
        # 1 - p_m >= clip, so the log stays finite for any logit.
        log_not_p = torch.log1p(-prob_neg)
    else:
        prob_neg = torch.sigmoid(logits)
        # log(1 - p) straight from the logits: exact for |x| up to 1e4.
        log_not_p = F.logsigmoid(-logits)
    loss_neg = safe_pow(prob_neg, gamma_neg) * log_not_p
    # The negative term over all classes, with the target class zeroed; the
    # positive term is computed for the target logit only ([B, A], not [B, A, C]).
    is_pos = torch.zeros_like(logits, dtype=torch.bool).scatter_(-1, index, True)
    loss_neg = loss_neg.masked_fill(is_pos, 0.0).sum(-1)
    logit_t = logits.gather(-1, index).squeeze(-1)
    loss_pos = F.logsigmoid(logit_t)
    if gamma_pos != 0:
        loss_pos = loss_pos * safe_pow(torch.sigmoid(-logit_t), gamma_pos)
    per_cell = -(loss_neg + loss_pos)
    return reduce_cells(per_cell, mask, reduction)


class AsymmetricLoss(nn.Module):
    """Module form of :func:`asymmetric_loss` (same arguments).

    ``forward`` also accepts the single-aspect shape ``logits[B, C], targets[B]``.
    """

    def __init__(
        self,
        gamma_pos: float = 0.0,
        gamma_neg: float = 4.0,
        clip: float = 0.05,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        check_reduction(reduction)
        if not 0.0 <= clip < 1.0:
            raise ValueError(f"clip must be in [0, 1), got {clip}")
        if gamma_pos < 0 or gamma_neg < 0:
            raise ValueError(f"gammas must be >= 0, got {gamma_pos}, {gamma_neg}")
        self.gamma_pos = float(gamma_pos)
        self.gamma_neg = float(gamma_neg)
        self.clip = float(clip)
        self.reduction = reduction

    def forward(self, logits: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
        logits, targets, mask, lifted = lift_2d(logits, targets, mask)
        out = asymmetric_loss(
            logits, targets, mask, self.gamma_pos, self.gamma_neg, self.clip, self.reduction
        )
        return out.squeeze(1) if lifted and self.reduction == "none" else out

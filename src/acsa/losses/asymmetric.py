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

from ._common import check_reduction, lift_2d, pow_and_slope, prepare


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
    cell = None if mask is None else mask.to(logits.dtype).unsqueeze(-1)
    scale: Tensor | float = 1.0
    if reduction == "mean":
        scale = 1.0 / (targets.numel() if mask is None else mask.sum().clamp_min(1))
    return _Asymmetric.apply(
        logits,
        targets.unsqueeze(-1),
        float(gamma_pos),
        float(gamma_neg),
        float(clip),
        cell,
        scale,
        reduction,
    )


class _Asymmetric(torch.autograd.Function):
    """ASL with its analytic gradient in one autograd node.

    Negatives: ``L- = -p_m^g- log(1 - p_m)``, ``dL-/dx = (p_m^g- / (1 - p_m) - g- p_m^(g- - 1)
    log(1 - p_m)) p (1 - p) [p > clip]``. Positive: ``L+ = -(1 - p)^g+ log p``,
    ``dL+/dx = (1 - p) (g+ p (1 - p)^(g+ - 1) log p - (1 - p)^g+)``.
    """

    @staticmethod
    def forward(ctx, logits, index, gamma_pos, gamma_neg, clip, cell, scale, reduction):
        prob = torch.sigmoid(logits)
        if clip > 0:
            prob_neg = (prob - clip).clamp_min_(0)
            # 1 - p_m >= clip, so the log stays finite for any logit.
            log_not_p = torch.log1p(-prob_neg)
        else:
            prob_neg = prob
            # log(1 - p) straight from the logits: exact for |x| up to 1e4.
            log_not_p = F.logsigmoid(-logits)
        mod_neg, slope_neg = pow_and_slope(prob_neg, gamma_neg)
        is_pos = torch.zeros_like(logits, dtype=torch.bool).scatter_(-1, index, True)
        # Every class as a negative, the target class zeroed; the positive term is
        # computed for the target logit only ([B, A, 1], not [B, A, C]).
        loss_neg = (mod_neg * log_not_p).masked_fill_(is_pos, 0.0)
        logit_t = logits.gather(-1, index)
        log_pt = F.logsigmoid(logit_t)
        not_pt = torch.sigmoid(-logit_t)
        if gamma_pos == 0:
            # The default: no focusing on the positive, skip the constant factor 1.
            mod_pos, slope_pos, loss_pos = None, 0.0, log_pt
        else:
            mod_pos, slope_pos = pow_and_slope(not_pt, gamma_pos)
            loss_pos = mod_pos * log_pt
        ctx.save_for_backward(prob, prob_neg, log_not_p, is_pos, index, log_pt, not_pt, cell)
        ctx.parts = (mod_neg, slope_neg, mod_pos, slope_pos)
        ctx.clip, ctx.scale, ctx.reduction = clip, scale, reduction
        if cell is None and reduction != "none":
            return (loss_neg.sum() + loss_pos.sum()) * -scale
        per_cell = -(loss_neg.sum(-1, keepdim=True) + loss_pos)  # [B, A, 1]
        if cell is not None:
            per_cell = per_cell * cell
        if reduction == "none":
            return per_cell.squeeze(-1)
        return per_cell.sum() * scale

    @staticmethod
    def backward(ctx, grad):
        prob, prob_neg, log_not_p, is_pos, index, log_pt, not_pt, cell = ctx.saved_tensors
        mod_neg, slope_neg, mod_pos, slope_pos = ctx.parts
        clip = ctx.clip
        # dp/dx = p (1 - p); 1 - p from the logits' complement keeps it exact.
        if clip > 0:
            dp = prob * (1 - prob) * (prob > clip)
            d_neg = (mod_neg / (1 - prob_neg) - slope_neg * log_not_p) * dp
        else:
            # (1 - p_m) cancels against dp/dx, which avoids 1 / (1 - p) = inf for large x.
            d_neg = mod_neg * prob - slope_neg * log_not_p * (prob * (1 - prob))
        if mod_pos is None:
            d_pos = not_pt.neg()
        else:
            d_pos = not_pt * ((1 - not_pt) * log_pt * slope_pos - mod_pos)
        g = grad.unsqueeze(-1) if ctx.reduction == "none" else grad * ctx.scale
        if cell is not None:
            g = g * cell
        grad_logits = d_neg.masked_fill(is_pos, 0.0).scatter_add_(-1, index, d_pos)
        return grad_logits.mul_(g), None, None, None, None, None, None, None


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

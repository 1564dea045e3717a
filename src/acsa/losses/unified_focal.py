"""Unified focal loss (Yeung et al., Comput. Med. Imaging Graph. 2022, arXiv:2102.04525).

``L = lambda * L_aF + (1 - lambda) * L_aFT`` (the paper's asymmetric variant), applied
to the C classes of every aspect:

- asymmetric focal ``L_aF``, per cell with target t and ``p_t`` its softmax
  probability: ``-delta log p_t`` if t is a rare class (no focal suppression), else
  ``-(1 - delta) (1 - p_t)^gamma log p_t``;
- asymmetric focal Tversky ``L_aFT``, per aspect and class over the valid cells of
  the batch: ``TI_c = (TP + eps) / (TP + delta FN + (1 - delta) FP + eps)`` with soft
  counts from the probabilities; the term is ``1 - TI_c`` for a common class and
  ``(1 - TI_c)^(1 - gamma_tversky)`` for a rare one, averaged over the classes and
  the aspects that have valid cells.

``weight`` is the paper's ``lambda`` and multiplies the focal part; when comparing
with numbers from other implementations, check which part their weight multiplies.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ._common import check_reduction, lift_2d, pow_and_slope, prepare, reduce_cells, safe_pow


def _rare_flags(rare_classes: Sequence[int] | None, num_classes: int, device) -> Tensor:
    flags = torch.zeros(num_classes, dtype=torch.bool, device=device)
    if rare_classes is None:
        flags[1:] = True
    else:
        for c in rare_classes:
            if not 0 <= c < num_classes:
                raise ValueError(f"rare class {c} is out of range for {num_classes} classes")
        flags[list(rare_classes)] = True
    return flags


def _focal_part(
    log_pt: Tensor, targets: Tensor, rare: Tensor, delta: float, gamma: float
) -> Tensor:
    """Per-cell ``L_aF`` from the log-probability of the target class."""
    focal = safe_pow(-torch.expm1(log_pt), gamma)
    factor = torch.where(rare[targets], delta, (1 - delta) * focal)
    return -log_pt * factor


def _tversky_part(
    log_p: Tensor,
    log_pt: Tensor,
    targets: Tensor,
    mask: Tensor | None,
    rare: Tensor,
    delta: float,
    gamma: float,
    epsilon: float,
) -> Tensor:
    """Batch-level ``L_aFT`` from the log-probabilities ``[B, A, C]``."""
    num_aspects, num_classes = log_p.shape[1], log_p.shape[2]
    prob, prob_t = log_p.exp(), log_pt.exp()
    if mask is None:
        cells = torch.ones_like(prob_t)
        aspect_has_cells = None
    else:
        cells = mask.to(prob_t.dtype)
        prob, prob_t = prob * cells.unsqueeze(-1), prob_t * cells
        aspect_has_cells = mask.any(0)
    index = targets.t()
    # Soft counts per (aspect, class) from the per-cell target probability, without
    # materializing a one-hot [B, A, C] tensor.
    tp = prob_t.new_zeros(num_aspects, num_classes).scatter_add(1, index, prob_t.t())
    with torch.no_grad():
        n_true = cells.new_zeros(num_aspects, num_classes).scatter_add(1, index, cells.t())
    # TP + delta FN + (1 - delta) FP = delta * n_true + (1 - delta) * sum(p): TP cancels.
    denominator = (1 - delta) * prob.sum(0) + (delta * n_true + epsilon)
    one_minus = (1 - (tp + epsilon) / denominator).clamp_min(0)
    term = torch.where(rare, safe_pow(one_minus, 1 - gamma), one_minus)
    if aspect_has_cells is None:
        return term.mean()
    # Aspects without any valid cell contribute nothing (an all-masked batch gives 0).
    term = torch.where(aspect_has_cells.unsqueeze(-1), term, 0.0)
    return term.sum() / (aspect_has_cells.sum() * num_classes).clamp_min(1)


def _log_probs(logits: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
    log_p = torch.log_softmax(logits, dim=-1)
    return log_p, log_p.gather(-1, targets.unsqueeze(-1)).squeeze(-1)


def asymmetric_focal_loss(
    logits: Tensor,
    targets: Tensor,
    mask: Tensor | None = None,
    delta: float = 0.7,
    gamma: float = 2.0,
    rare_classes: Sequence[int] | None = None,
    reduction: str = "mean",
) -> Tensor:
    """Asymmetric focal part ``L_aF`` per cell (see the module docstring).

    Args:
        logits: ``[B, A, C]``; targets: ``[B, A]`` long; mask: optional ``[B, A]`` bool.
        delta: weight of the rare classes (common ones get ``1 - delta``).
        gamma: focal exponent for the common classes.
        rare_classes: class indices treated as rare; default all but class 0 (``none``).
        reduction: 'none' (``[B, A]``) | 'mean' (over valid cells) | 'sum'.
    """
    check_reduction(reduction)
    logits, targets, mask = prepare(logits, targets, mask)
    rare = _rare_flags(rare_classes, logits.shape[-1], logits.device)
    _, log_pt = _log_probs(logits, targets)
    return reduce_cells(_focal_part(log_pt, targets, rare, delta, gamma), mask, reduction)


def asymmetric_focal_tversky_loss(
    logits: Tensor,
    targets: Tensor,
    mask: Tensor | None = None,
    delta: float = 0.7,
    gamma: float = 0.75,
    rare_classes: Sequence[int] | None = None,
    epsilon: float = 1e-7,
) -> Tensor:
    """Asymmetric focal Tversky part ``L_aFT``: a batch-level scalar (see the module docstring).

    Args:
        logits: ``[B, A, C]``; targets: ``[B, A]`` long; mask: optional ``[B, A]`` bool.
        delta: weight of false negatives (false positives get ``1 - delta``).
        gamma: Tversky focal exponent, the rare-class term is ``(1 - TI)^(1 - gamma)``.
        rare_classes: class indices treated as rare; default all but class 0.
        epsilon: smoothing of the Tversky index.
    """
    logits, targets, mask = prepare(logits, targets, mask)
    rare = _rare_flags(rare_classes, logits.shape[-1], logits.device)
    log_p, log_pt = _log_probs(logits, targets)
    return _tversky_part(log_p, log_pt, targets, mask, rare, delta, gamma, epsilon)


class UnifiedFocalLoss(nn.Module):
    """Unified focal loss ``weight * L_aF + (1 - weight) * L_aFT``.

    Args:
        weight: lambda in [0, 1], the share of the asymmetric focal part.
        delta: class weighting of both parts (rare classes / false negatives).
        gamma: focal exponent of the focal part.
        gamma_tversky: exponent of the Tversky part; None uses ``gamma``.
        rare_classes: class indices treated as rare; default all but class 0 (``none``).
        epsilon: Tversky smoothing.
        reduction: 'mean' | 'sum' | 'none'. The Tversky part is one number per batch;
            'none' returns ``weight * L_aF_i + (1 - weight) * L_aFT`` for every valid cell
            (masked cells 0), so that 'mean' is the mean of 'none' over valid cells and
            'sum' its sum.

    ``forward`` also accepts the single-aspect shape ``logits[B, C], targets[B]``.
    """

    def __init__(
        self,
        weight: float = 0.5,
        delta: float = 0.6,
        gamma: float = 0.5,
        gamma_tversky: float | None = None,
        rare_classes: Sequence[int] | None = None,
        epsilon: float = 1e-7,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        check_reduction(reduction)
        for name, v in (("weight", weight), ("delta", delta)):
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {v}")
        self.weight = float(weight)
        self.delta = float(delta)
        self.gamma = float(gamma)
        self.gamma_tversky = float(gamma if gamma_tversky is None else gamma_tversky)
        self.rare_classes = None if rare_classes is None else tuple(rare_classes)
        self.epsilon = float(epsilon)
        self.reduction = reduction

    def forward(self, logits: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
        logits, targets, mask, lifted = lift_2d(logits, targets, mask)
        logits, targets, mask = prepare(logits, targets, mask)
        rare = _rare_flags(self.rare_classes, logits.shape[-1], logits.device)
        out = _UnifiedFocal.apply(logits, targets, mask, rare, self)
        return out.squeeze(1) if lifted and self.reduction == "none" else out


class _UnifiedFocal(torch.autograd.Function):
    """Unified focal loss with its analytic gradient in one autograd node.

    Focal part, per cell with ``l = log p_t``, ``q = 1 - p_t``:
    ``-dL/dl = delta`` (rare target) or ``(1 - delta) (q^gamma - gamma p_t l q^(gamma-1))``,
    and ``dl/dz = onehot - softmax``. Tversky part, per aspect and class with
    ``D = delta n_true + (1 - delta) sum_b p + eps`` and ``TI = (TP + eps) / D``:
    ``dTI/dTP = 1 / D``, ``dTI/d sum_b p = -(1 - delta) TI / D``, and
    ``dL/dz = p (h - sum_c p h)`` for ``h = dL/dp``. The autograd version of the
    same formulas needs about forty graph nodes; their bookkeeping cost more than
    the arithmetic.
    """

    @staticmethod
    def forward(ctx, logits, targets, mask, rare, loss: UnifiedFocalLoss):
        lam, delta, reduction = loss.weight, loss.delta, loss.reduction
        num_aspects, num_classes = logits.shape[1], logits.shape[2]
        index = targets.unsqueeze(-1)
        log_p = torch.log_softmax(logits, dim=-1)
        log_pt = log_p.gather(-1, index)  # [B, A, 1]
        pt_minus_one = torch.expm1(log_pt)
        q = pt_minus_one.neg()
        rare_t = rare[index]
        cell = None if mask is None else mask.to(logits.dtype).unsqueeze(-1)
        n_valid = targets.numel() if mask is None else mask.sum()

        mod, slope = pow_and_slope(q, loss.gamma)
        focal_factor = torch.where(rare_t, delta, (1 - delta) * mod)
        focal = -log_pt * focal_factor  # [B, A, 1]

        prob = log_p.exp()
        prob_t = pt_minus_one + 1
        if cell is None:
            prob_v, prob_tv, cells = prob, prob_t, torch.ones_like(prob_t)
            has = None
            terms = num_aspects * num_classes
        else:
            prob_v, prob_tv, cells = prob * cell, prob_t * cell, cell
            has = mask.any(0).unsqueeze(-1).to(logits.dtype)  # [A, 1]
            terms = (has.sum() * num_classes).clamp_min(1)
        tindex = targets.t()
        tp = prob_t.new_zeros(num_aspects, num_classes).scatter_add_(
            1, tindex, prob_tv.squeeze(-1).t()
        )
        n_true = prob_t.new_zeros(num_aspects, num_classes).scatter_add_(
            1, tindex, cells.squeeze(-1).t()
        )
        denom = (1 - delta) * prob_v.sum(0) + (delta * n_true + loss.epsilon)
        tversky_index = (tp + loss.epsilon) / denom
        one_minus = (1 - tversky_index).clamp_min(0)
        rare_pow, rare_slope = pow_and_slope(one_minus, 1 - loss.gamma_tversky)
        term = torch.where(rare, rare_pow, one_minus)
        if has is not None:
            term = term * has
        tversky = term.sum() / terms

        ctx.save_for_backward(
            log_pt, prob, index, pt_minus_one, q, rare_t, cell, tversky_index, denom, has
        )
        ctx.focal_factor, ctx.slope, ctx.rare_slope = focal_factor, slope, rare_slope
        ctx.one_minus, ctx.rare, ctx.terms, ctx.n_valid = one_minus, rare, terms, n_valid
        ctx.loss = loss

        if reduction == "none":
            per_cell = lam * focal + (1 - lam) * tversky
            if cell is not None:
                per_cell = per_cell * cell
            return per_cell.squeeze(-1)
        focal_sum = focal.sum() if cell is None else torch.dot(focal.view(-1), cell.view(-1))
        if reduction == "sum":
            return lam * focal_sum + (1 - lam) * tversky * n_valid
        return lam * focal_sum / (n_valid if cell is None else n_valid.clamp_min(1)) + (
            (1 - lam) * tversky
        )

    @staticmethod
    def backward(ctx, grad):
        (log_pt, prob, index, pt_minus_one, q, rare_t, cell, tversky_index, denom, has) = (
            ctx.saved_tensors
        )
        loss = ctx.loss
        lam, delta, gamma, reduction = loss.weight, loss.delta, loss.gamma, loss.reduction
        n_valid = ctx.n_valid
        if not isinstance(n_valid, int):
            n_valid = n_valid.clamp_min(1)
        # Upstream factors of the focal cells and of the Tversky scalar.
        if reduction == "none":
            g_cell = grad.unsqueeze(-1)
            if cell is not None:
                g_cell = g_cell * cell
            g_tversky = (1 - lam) * g_cell.sum()
            g_focal = lam * g_cell
        else:
            scale = grad if reduction == "sum" else grad / n_valid
            g_focal = lam * scale if cell is None else (lam * scale) * cell
            g_tversky = (1 - lam) * (grad * ctx.n_valid if reduction == "sum" else grad)

        # Focal part: (softmax - onehot) * F with F = -dL/dl per cell.
        prob_t = pt_minus_one + 1
        common = ctx.focal_factor - (1 - delta) * prob_t * log_pt * ctx.slope
        neg_dl = torch.where(rare_t, delta, common) if gamma != 0 else ctx.focal_factor
        focal_coef = neg_dl * g_focal  # [B, A, 1]

        # Tversky part: dL/dp = g_sum[a, c] + [c = t] g_tp[a, t] on valid cells, then
        # the softmax Jacobian p * (h - sum_c p h). Written out so that no [B, A, C]
        # tensor h is built.
        d_term = torch.where(ctx.rare, ctx.rare_slope, 1.0) * (ctx.one_minus > 0)
        if has is not None:
            d_term = d_term * has
        r = -(g_tversky / ctx.terms) * d_term  # dL/dTI, [A, C]
        g_sum = -(r * tversky_index * (1 - delta) / denom)  # dL/d sum_b p
        g_tp = r / denom  # dL/dTP
        g_tp_t = g_tp.gather(1, index.squeeze(-1).t()).t().unsqueeze(-1)  # [B, A, 1]
        p_dot = (prob * g_sum).sum(-1, keepdim=True) + prob_t * g_tp_t  # sum_c p h
        inner = g_sum - p_dot
        if cell is not None:
            inner = inner * cell
            g_tp_t = g_tp_t * cell
        grad_logits = prob * (inner + focal_coef)
        grad_logits.scatter_add_(-1, index, prob_t * g_tp_t - focal_coef)
        return grad_logits, None, None, None, None


class AsymmetricFocalLoss(UnifiedFocalLoss):
    """The asymmetric focal part alone (``weight = 1``); older name and arguments."""

    def __init__(self, delta: float = 0.7, gamma: float = 2.0, **kwargs) -> None:
        super().__init__(weight=1.0, delta=delta, gamma=gamma, **kwargs)


class AsymmetricFocalTverskyLoss(UnifiedFocalLoss):
    """The asymmetric focal Tversky part alone (``weight = 0``); older name and arguments."""

    def __init__(
        self, delta: float = 0.7, gamma: float = 0.75, epsilon: float = 1e-7, **kwargs
    ) -> None:
        super().__init__(weight=0.0, delta=delta, gamma=gamma, epsilon=epsilon, **kwargs)

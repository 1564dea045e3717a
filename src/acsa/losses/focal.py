"""Focal loss (Lin et al., ICCV 2017, arXiv:1708.02002), softmax and sigmoid forms."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._common import (
    as_class_table,
    check_reduction,
    gather_class_table,
    inverse_frequency,
    lift_2d,
    prepare,
    safe_pow,
)

AlphaLike = float | Tensor | None


def focal_loss(
    logits: Tensor,
    targets: Tensor,
    mask: Tensor | None = None,
    alpha: AlphaLike = None,
    gamma: float = 2.0,
    reduction: str = "mean",
) -> Tensor:
    """Softmax focal loss per (review, aspect) cell: ``-alpha_t (1 - p_t)^gamma log p_t``.

    ``p_t`` is the softmax probability of the target class among the C classes
    of the aspect; ``gamma = 0`` and ``alpha = None`` give cross-entropy.

    Args:
        logits: ``[B, A, C]`` raw scores.
        targets: ``[B, A]`` class indices (long).
        mask: optional ``[B, A]`` bool, False skips the cell.
        alpha: None (no weighting), a scalar factor, per-class ``[C]`` or
            per-(aspect, class) ``[A, C]`` weights picked by the target class.
        gamma: focusing parameter >= 0.
        reduction: 'none' (``[B, A]``) | 'mean' (over valid cells) | 'sum'.

    Example:
        >>> logits, targets = torch.zeros(2, 3, 4), torch.zeros(2, 3, dtype=torch.long)
        >>> round(focal_loss(logits, targets, gamma=0.0).item(), 4)
        1.3863
    """
    check_reduction(reduction)
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    logits, targets, mask = prepare(logits, targets, mask)
    # Constant per-cell factor (alpha_t, 0 on masked cells) and the reduction's scale.
    cell: Tensor | None = None
    scale: Tensor | float = 1.0
    if alpha is not None:
        a = _alpha_t(alpha, targets, logits)
        if isinstance(a, Tensor):
            cell = a
        else:
            scale = a
    if mask is not None:
        cell = mask.to(logits.dtype) if cell is None else cell * mask
    if reduction == "mean":
        scale = scale / (targets.numel() if mask is None else mask.sum().clamp_min(1))
    if cell is not None:
        cell = cell.unsqueeze(-1)
    return _SoftmaxFocal.apply(logits, targets, float(gamma), cell, scale, reduction)



def _scaled_total(log_pt: Tensor, factor: Tensor | None, scale: float) -> Tensor:
    """``-scale * sum(factor * log_pt)``; one dot product instead of multiply then sum."""
    if factor is None:
        return log_pt.sum() * -scale
    return torch.dot(log_pt.view(-1), factor.reshape(-1)) * -scale

class _SoftmaxFocal(torch.autograd.Function):
    """Softmax focal loss with its analytic gradient in one autograd node.

    With ``l = log p_t`` and ``q = 1 - p_t``: ``L = -q^gamma l`` and
    ``dL/dz = (q^gamma - gamma p_t l q^(gamma - 1)) (softmax(z) - onehot)``. One node
    instead of about ten halves the bookkeeping that dominates at small batches.
    """

    @staticmethod
    def forward(ctx, logits, targets, gamma, cell, scale, reduction):
        index = targets.unsqueeze(-1)
        log_p = torch.log_softmax(logits, dim=-1)
        log_pt = log_p.gather(-1, index)  # [B, A, 1]
        pt_minus_one = torch.expm1(log_pt)  # -(1 - p_t), accurate near p_t = 1
        q = pt_minus_one.neg()
        factor = None if gamma == 0 else safe_pow(q, gamma)
        if cell is not None:
            factor = cell if factor is None else factor * cell
        ctx.save_for_backward(log_p, index, log_pt, pt_minus_one, q, factor, cell)
        ctx.gamma, ctx.scale, ctx.reduction = gamma, scale, reduction
        if reduction == "none":
            out = log_pt if factor is None else log_pt * factor
            return out.squeeze(-1).neg_()
        return _scaled_total(log_pt, factor, scale)

    @staticmethod
    def backward(ctx, grad):
        log_p, index, log_pt, pt_minus_one, q, factor, cell = ctx.saved_tensors
        gamma = ctx.gamma
        if gamma == 0:
            coef = cell
        else:
            # -dL/dl = q^gamma - gamma p_t l q^(gamma - 1), times the constant cell factor.
            deriv = (gamma * (pt_minus_one + 1)) * log_pt * safe_pow(q, gamma - 1)
            coef = factor - (deriv if cell is None else deriv * cell)
        if ctx.reduction == "none":
            g = grad.unsqueeze(-1)
        else:
            g = grad * ctx.scale
        coef = g if coef is None else coef * g
        # d l / d z = onehot - softmax, so the sign of coef flips: (softmax - onehot) * coef.
        grad_logits = log_p.exp().scatter_(-1, index, pt_minus_one)
        return grad_logits.mul_(coef), None, None, None, None, None


def sigmoid_focal_loss(
    logits: Tensor,
    targets: Tensor,
    mask: Tensor | None = None,
    alpha: AlphaLike = 0.25,
    gamma: float = 2.0,
    reduction: str = "mean",
) -> Tensor:
    """Sigmoid focal loss on the one-hot targets, summed over the C classes of a cell.

    Every class is an independent binary problem:
    ``-alpha_t (1 - p_t)^gamma log p_t`` with ``p_t = sigmoid(x)`` for the target
    class and ``1 - sigmoid(x)`` for the others.

    Args:
        logits: ``[B, A, C]`` raw scores.
        targets: ``[B, A]`` class indices (long).
        mask: optional ``[B, A]`` bool, False skips the cell.
        alpha: None (no weighting); a scalar in [0, 1] weighting positives by
            ``alpha`` and negatives by ``1 - alpha`` (torchvision convention); or
            per-class ``[C]`` / per-(aspect, class) ``[A, C]`` values in [0, 1]
            used the same way for each class.
        gamma: focusing parameter >= 0.
        reduction: 'none' (``[B, A]``, summed over classes) | 'mean' (over valid
            cells, not over cells times classes) | 'sum'.
    """
    check_reduction(reduction)
    if gamma < 0:
        raise ValueError(f"gamma must be >= 0, got {gamma}")
    logits, targets, mask = prepare(logits, targets, mask)
    index = targets.unsqueeze(-1)
    # Per-element constant factor alpha_t (alpha on the target class, 1 - alpha elsewhere).
    elem: Tensor | None = None
    if alpha is not None:
        if isinstance(alpha, Tensor):
            a = alpha.to(logits)
            if a.dim() == 2:
                a = a.unsqueeze(0)
            a = a.expand_as(logits)
            elem = (1 - a).scatter(-1, index, a.gather(-1, index))
        else:
            elem = torch.full_like(logits, 1.0 - alpha).scatter_(-1, index, float(alpha))
    cell: Tensor | None = None
    scale: Tensor | float = 1.0
    if mask is not None:
        cell = mask.to(logits.dtype).unsqueeze(-1)
        elem = cell if elem is None else elem * cell
    if reduction == "mean":
        scale = 1.0 / (targets.numel() if mask is None else mask.sum().clamp_min(1))
    return _SigmoidFocal.apply(logits, index, float(gamma), elem, scale, reduction)


class _SigmoidFocal(torch.autograd.Function):
    """Sigmoid focal loss with its analytic gradient in one autograd node.

    With ``z = x`` on the target class and ``-x`` elsewhere, ``l = log sigmoid(z)`` and
    ``u = 1 - sigmoid(z)``: ``L = -u^gamma l`` and ``dL/dx = sign * u^gamma (gamma p_t l - u)``.
    """

    @staticmethod
    def forward(ctx, logits, index, gamma, elem, scale, reduction):
        sign = torch.full_like(logits, -1.0).scatter_(-1, index, 1.0)
        log_pt = F.logsigmoid(logits * sign)
        # 1 - p_t = -expm1(log p_t): no cancellation when p_t is close to 1.
        u = torch.expm1(log_pt).neg_()
        factor = None if gamma == 0 else safe_pow(u, gamma)
        if elem is not None:
            factor = elem.expand_as(log_pt) if factor is None else factor * elem
        ctx.save_for_backward(sign, log_pt, u, factor, elem)
        ctx.gamma, ctx.scale, ctx.reduction = gamma, scale, reduction
        if reduction == "none":
            out = log_pt if factor is None else log_pt * factor
            return out.sum(-1).neg_()
        return _scaled_total(log_pt, factor, scale)

    @staticmethod
    def backward(ctx, grad):
        sign, log_pt, u, factor, elem = ctx.saved_tensors
        gamma = ctx.gamma
        # dL/dz = u^gamma (gamma p_t l - u) times the constant factor.
        if gamma == 0:
            dz = u.neg()
            if elem is not None:
                dz = dz * elem
        else:
            dz = (gamma * (1 - u)) * log_pt - u
            dz = dz * factor
        g = grad.unsqueeze(-1) if ctx.reduction == "none" else grad * ctx.scale
        return dz.mul_(sign).mul_(g), None, None, None, None, None


def _alpha_t(alpha: float | Tensor, targets: Tensor, like: Tensor) -> Tensor | float:
    """``alpha`` picked per cell by the target class, or the scalar itself."""
    if isinstance(alpha, Tensor):
        return gather_class_table(alpha.to(like), targets)
    return float(alpha)


class FocalLoss(nn.Module):
    """Focal loss module, softmax (default) or sigmoid form.

    Also the older scripts' ``FocalLoss(alpha, gamma, reduction)``: positional
    arguments keep that order, and ``forward`` accepts the single-aspect shape
    ``logits[B, C], targets[B]`` as well as ``logits[B, A, C], targets[B, A]``.

    Args:
        alpha: None, a scalar, per-class ``[C]``, per-(aspect, class) ``[A, C]``
            (see :func:`focal_loss` / :func:`sigmoid_focal_loss`), or ``"auto"``:
            derived from ``class_counts`` (softmax: inverse frequency
            ``N_a / (C n_ac)``; sigmoid: ``1 - n_ac / N_a``).
        gamma: focusing parameter >= 0.
        reduction: 'none' | 'mean' | 'sum'.
        use_sigmoid: sigmoid form instead of softmax.
        class_counts: ``[A, C]`` or ``[C]`` training label counts, needed for ``"auto"``.
    """

    alpha_table: Tensor | None

    def __init__(
        self,
        alpha: float | Tensor | list | str | None = None,
        gamma: float = 2.0,
        reduction: str = "mean",
        use_sigmoid: bool = False,
        class_counts: Tensor | None = None,
    ) -> None:
        super().__init__()
        check_reduction(reduction)
        if gamma < 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        self.gamma = float(gamma)
        self.reduction = reduction
        self.use_sigmoid = use_sigmoid
        self.alpha_scalar: float | None = None
        table: Tensor | None = None
        if isinstance(alpha, str):
            if alpha != "auto":
                raise ValueError(
                    f"alpha must be a number, a list, a tensor or 'auto', got {alpha!r}"
                )
            if class_counts is None:
                raise ValueError("alpha='auto' needs class_counts (training label counts [A, C])")
            counts = torch.as_tensor(class_counts, dtype=torch.float32)
            if use_sigmoid:
                table = 1 - counts / counts.sum(-1, keepdim=True).clamp_min(1)
            else:
                table = inverse_frequency(counts)
        elif isinstance(alpha, (int, float)):
            self.alpha_scalar = float(alpha)
        else:
            table = as_class_table(alpha, "alpha")
        self.register_buffer("alpha_table", table)

    @property
    def alpha(self) -> float | Tensor | None:
        return self.alpha_table if self.alpha_table is not None else self.alpha_scalar

    def forward(self, logits: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
        logits, targets, mask, lifted = lift_2d(logits, targets, mask)
        fn = sigmoid_focal_loss if self.use_sigmoid else focal_loss
        out = fn(logits, targets, mask, self.alpha, self.gamma, self.reduction)
        return out.squeeze(1) if lifted and self.reduction == "none" else out

"""Unified focal loss (Yeung et al., Comput. Med. Imaging Graph. 2022, arXiv:2102.04525).

``L = lambda * L_aF + (1 - lambda) * L_aFT`` (the paper's symmetric-free, "asymmetric"
variant), applied to the C classes of every aspect:

- asymmetric focal ``L_aF``, per cell with target t and ``p_t`` its softmax
  probability: ``-delta log p_t`` if t is a rare class (no focal suppression), else
  ``-(1 - delta) (1 - p_t)^gamma log p_t``;
- asymmetric focal Tversky ``L_aFT``, per aspect and class over the valid cells of
  the batch: ``TI_c = (TP + eps) / (TP + delta FN + (1 - delta) FP + eps)`` with soft
  counts from the probabilities; the term is ``1 - TI_c`` for a common class and
  ``(1 - TI_c)^(1 - gamma_tversky)`` for a rare one, averaged over the classes and
  the aspects that have valid cells.

Note: the authors' reference code weights the Tversky part by ``weight`` and the
focal part by ``1 - weight``; here ``weight`` is the paper's ``lambda`` on the focal part.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ._common import check_reduction, lift_2d, prepare, reduce_cells, safe_pow


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
        # One log-softmax feeds both parts.
        log_p, log_pt = _log_probs(logits, targets)
        reduction = self.reduction
        out: Tensor | float = 0.0
        if self.weight > 0:
            focal = _focal_part(log_pt, targets, rare, self.delta, self.gamma)
            out = reduce_cells(self.weight * focal, mask, reduction)
        if self.weight < 1:
            tversky = (1 - self.weight) * _tversky_part(
                log_p, log_pt, targets, mask, rare, self.delta, self.gamma_tversky, self.epsilon
            )
            # The batch-level part counts once per valid cell (0 on an all-masked batch).
            if reduction == "none":
                out = out + reduce_cells(tversky.expand(targets.shape), mask, "none")
            elif reduction == "sum":
                valid = targets.numel() if mask is None else mask.sum()
                out = out + tversky * valid
            else:
                out = out + tversky
        assert isinstance(out, Tensor)
        return out.squeeze(1) if lifted and reduction == "none" else out


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

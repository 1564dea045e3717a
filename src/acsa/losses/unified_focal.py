"""Unified focal loss (Yeung et al., Comput. Med. Imaging Graph. 2022, arXiv:2102.04525).

``L = lambda * L_aF + (1 - lambda) * L_aFT`` (the paper's asymmetric variant),
applied to the C classes of every aspect:

- asymmetric focal ``L_aF``, per cell with target t and ``p_t`` its softmax
  probability: ``-delta log p_t`` if t is a rare class (no focal suppression), else
  ``-(1 - delta) (1 - p_t)^gamma log p_t``;
- asymmetric focal Tversky ``L_aFT``, per aspect and class over the valid cells of
  the batch: ``TI_c = (TP + eps) / (TP + delta FN + (1 - delta) FP + eps)`` with soft
  counts from the probabilities; the term is ``1 - TI_c`` for a common class and
  ``(1 - TI_c)^(1 - gamma_tversky)`` for a rare one, averaged over the classes and
  the aspects that have valid cells.

The paper's "background" is the one common (suppressed) class; here it is the
class an unmentioned aspect gets, which depends on the label scheme:
``background_class=0`` (``none``) under ``with_none``, ``2`` (``neutral``, where
empty cells go) under ``seed``. ``build_loss`` passes it from the label space.
Every other class is rare unless ``rare_classes`` says otherwise.

``weight`` is the paper's ``lambda`` and multiplies the focal part; when comparing
with numbers from other implementations, check which part their weight multiplies.

Example:
    >>> import torch
    >>> logits, targets = torch.zeros(1, 3, 3), torch.tensor([[0, 1, 2]])
    >>> asymmetric_focal_loss(logits, targets, delta=0.6, gamma=0.5, reduction="none")
    tensor([[0.3588, 0.6592, 0.6592]])
    >>> asymmetric_focal_loss(
    ...     logits, targets, delta=0.6, gamma=0.5, background_class=2, reduction="none"
    ... )
    tensor([[0.6592, 0.6592, 0.3588]])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ._common import (
    check_option,
    check_range,
    check_reduction,
    focal_factor,
    one_hot,
    prepare,
    reduce_cells,
    safe_pow,
    target_log_prob,
)


def rare_flags(
    num_classes: int, rare_classes: Sequence[int] | None, background_class: int, device=None
) -> Tensor:
    """``[C]`` bool: the rare classes, by default every class but ``background_class``."""
    chosen = [c for c in range(num_classes) if c != background_class]
    if rare_classes is not None:
        chosen = list(rare_classes)
    for c in (*chosen, background_class):
        if not 0 <= c < num_classes:
            raise ValueError(f"class {c} is out of range for {num_classes} classes")
    flags = torch.zeros(num_classes, dtype=torch.bool, device=device)
    flags[chosen] = True
    return flags


def asymmetric_focal_loss(
    logits: Tensor,
    targets: Tensor,
    mask: Tensor | None = None,
    *,
    delta: float = 0.7,
    gamma: float = 2.0,
    rare_classes: Sequence[int] | None = None,
    background_class: int = 0,
    reduction: str = "mean",
) -> Tensor:
    """Asymmetric focal part ``L_aF`` per cell (see the module docstring).

    Args:
        logits: ``[B, A, C]`` raw scores.
        targets: ``[B, A]`` class indices (long).
        mask: optional ``[B, A]`` bool, False skips the cell.
        delta: weight of the rare classes (common ones get ``1 - delta``).
        gamma: focal exponent >= 0 for the common classes.
        rare_classes: class indices treated as rare; default all but ``background_class``.
        background_class: the class of an unmentioned aspect (0 ``none`` under
            ``with_none``, 2 ``neutral`` under ``seed``).
        reduction: 'none' (``[B, A]``) | 'mean' (over valid cells) | 'sum'.
    """
    check_reduction(reduction)
    logits, targets, valid = prepare(logits, targets, mask)
    rare = rare_flags(logits.shape[-1], rare_classes, background_class, logits.device)
    per_cell = _focal_part(target_log_prob(logits, targets), targets, rare, delta, gamma)
    return reduce_cells(per_cell, valid, reduction)


def asymmetric_focal_tversky_loss(
    logits: Tensor,
    targets: Tensor,
    mask: Tensor | None = None,
    *,
    delta: float = 0.7,
    gamma: float = 0.75,
    rare_classes: Sequence[int] | None = None,
    background_class: int = 0,
    epsilon: float = 1e-7,
) -> Tensor:
    """Asymmetric focal Tversky part ``L_aFT``: one scalar per batch (see the module docstring).

    Args:
        logits: ``[B, A, C]`` raw scores.
        targets: ``[B, A]`` class indices (long).
        mask: optional ``[B, A]`` bool, False skips the cell.
        delta: weight of false negatives (false positives get ``1 - delta``).
        gamma: Tversky focal exponent; the rare-class term is ``(1 - TI)^(1 - gamma)``.
        rare_classes: class indices treated as rare; default all but ``background_class``.
        background_class: the class of an unmentioned aspect.
        epsilon: smoothing of the Tversky index.

    An empty or all-masked batch gives 0 (attached to the graph).
    """
    logits, targets, valid = prepare(logits, targets, mask)
    rare = rare_flags(logits.shape[-1], rare_classes, background_class, logits.device)
    prob = torch.softmax(logits, dim=-1)
    return _tversky_part(prob, targets, valid, rare, delta, gamma, epsilon)


def unified_focal_loss(
    logits: Tensor,
    targets: Tensor,
    mask: Tensor | None = None,
    *,
    weight: float = 0.5,
    delta: float = 0.6,
    gamma: float = 0.5,
    gamma_tversky: float | None = None,
    rare_classes: Sequence[int] | None = None,
    background_class: int = 0,
    epsilon: float = 1e-7,
    reduction: str = "mean",
) -> Tensor:
    """``weight * L_aF + (1 - weight) * L_aFT`` (arguments as in the two parts).

    ``gamma_tversky`` is the Tversky part's exponent (None: ``gamma``). The
    Tversky part is one number per batch: 'none' gives
    ``weight * L_aF_i + (1 - weight) * L_aFT`` for every valid cell (masked cells 0),
    so that 'mean' and 'sum' follow the common rule.

    Example:
        >>> logits, targets = torch.zeros(1, 1, 2), torch.tensor([[1]])
        >>> round(unified_focal_loss(logits, targets, weight=1.0, delta=0.6).item(), 4)
        0.4159
    """
    check_reduction(reduction)
    _check(weight, delta, gamma, gamma_tversky)
    logits, targets, valid = prepare(logits, targets, mask)
    rare = rare_flags(logits.shape[-1], rare_classes, background_class, logits.device)
    log_p = torch.log_softmax(logits, dim=-1)
    log_pt = log_p.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    focal = _focal_part(log_pt, targets, rare, delta, gamma)
    tversky = _tversky_part(
        log_p.exp(),
        targets,
        valid,
        rare,
        delta,
        gamma if gamma_tversky is None else gamma_tversky,
        epsilon,
    )
    return reduce_cells(weight * focal + (1 - weight) * tversky, valid, reduction)


def _check(weight: float, delta: float, gamma: float, gamma_tversky: float | None) -> None:
    check_range("weight", weight, 0, 1)
    check_range("delta", delta, 0, 1)
    check_range("gamma", gamma, 0)
    if gamma_tversky is not None:
        check_range("gamma_tversky", gamma_tversky, 0)


def _focal_part(
    log_pt: Tensor, targets: Tensor, rare: Tensor, delta: float, gamma: float
) -> Tensor:
    """Per-cell ``L_aF`` ``[B, A]`` from ``log p_t``."""
    factor = torch.where(rare[targets], delta, (1 - delta) * focal_factor(log_pt, gamma))
    return -factor * log_pt


def _tversky_part(
    prob: Tensor,
    targets: Tensor,
    valid: Tensor,
    rare: Tensor,
    delta: float,
    gamma: float,
    epsilon: float,
) -> Tensor:
    """Batch-level ``L_aFT`` from the probabilities ``[B, A, C]``."""
    cells = valid.unsqueeze(-1).to(prob)
    prob = prob * cells
    truth = one_hot(targets, prob) * cells
    tp = (prob * truth).sum(0)  # [A, C]
    # TP + delta FN + (1 - delta) FP = delta * n_true + (1 - delta) * sum(p): TP cancels.
    denominator = delta * truth.sum(0) + (1 - delta) * prob.sum(0) + epsilon
    one_minus = (1 - (tp + epsilon) / denominator).clamp_min(0)
    term = torch.where(rare, safe_pow(one_minus, 1 - gamma), one_minus)
    # Aspects without a valid cell take no part (an all-masked batch gives 0).
    seen = valid.any(0)
    term = torch.where(seen.unsqueeze(-1), term, 0.0)
    return term.sum() / (seen.sum() * term.shape[-1]).clamp_min(1)


class AsymmetricUnifiedFocalLoss(nn.Module):
    """Module form of :func:`unified_focal_loss` (same arguments).

    Args:
        weight: lambda in [0, 1], the share of the asymmetric focal part.
        delta: class weighting of both parts (rare classes / false negatives).
        gamma: focal exponent of the focal part.
        gamma_tversky: exponent of the Tversky part; None uses ``gamma``.
        rare_classes: class indices treated as rare; default all but ``background_class``.
        background_class: the class of an unmentioned aspect (0 ``none`` under
            ``with_none``, 2 ``neutral`` under ``seed``); ``build_loss`` sets it from
            the label space.
        epsilon: Tversky smoothing.
        reduction: 'none' | 'mean' | 'sum' (see :func:`unified_focal_loss`).
    """

    def __init__(
        self,
        weight: float = 0.5,
        delta: float = 0.6,
        gamma: float = 0.5,
        gamma_tversky: float | None = None,
        rare_classes: Sequence[int] | None = None,
        background_class: int = 0,
        epsilon: float = 1e-7,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        check_reduction(reduction)
        _check(weight, delta, gamma, gamma_tversky)
        self.weight = float(weight)
        self.delta = float(delta)
        self.gamma = float(gamma)
        self.gamma_tversky = float(gamma if gamma_tversky is None else gamma_tversky)
        check_option(
            "rare_classes",
            rare_classes,
            rare_classes is None
            or (
                isinstance(rare_classes, (list, tuple))
                and all(isinstance(c, int) for c in rare_classes)
            ),
            "a list of class indices",
        )
        check_range("epsilon", epsilon, 0, low_open=True)
        self.rare_classes = None if rare_classes is None else tuple(rare_classes)
        self.background_class = int(background_class)
        self.epsilon = float(epsilon)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return (
            f"weight={self.weight}, delta={self.delta}, gamma={self.gamma}, "
            f"gamma_tversky={self.gamma_tversky}, background_class={self.background_class}, "
            f"reduction={self.reduction!r}"
        )

    def forward(self, logits: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
        return unified_focal_loss(
            logits,
            targets,
            mask,
            weight=self.weight,
            delta=self.delta,
            gamma=self.gamma,
            gamma_tversky=self.gamma_tversky,
            rare_classes=self.rare_classes,
            background_class=self.background_class,
            epsilon=self.epsilon,
            reduction=self.reduction,
        )

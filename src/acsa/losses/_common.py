"""Pieces shared by every classification loss: argument checks, masking, reduction."""

from __future__ import annotations

import torch
from torch import Tensor

REDUCTIONS = ("none", "mean", "sum")


def check_choice(name: str, value: object, allowed: tuple) -> None:
    """Raise ``ValueError`` naming the option, the value found and the allowed values."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {value!r}")


def check_reduction(reduction: str) -> None:
    """Validate a ``reduction`` argument ('none' | 'mean' | 'sum')."""
    check_choice("reduction", reduction, REDUCTIONS)


def prepare(
    logits: Tensor, targets: Tensor, mask: Tensor | None
) -> tuple[Tensor, Tensor, Tensor | None]:
    """Check shapes, upcast logits and make masked targets safe to index with.

    Returns ``(logits32, targets, mask)`` where masked cells of ``targets`` are
    replaced by 0, so that padding values such as -1 or -100 cannot break a gather.
    """
    if logits.dim() != 3:
        raise ValueError(f"logits must have shape [B, A, C], got {tuple(logits.shape)}")
    if targets.shape != logits.shape[:2]:
        raise ValueError(
            f"targets must have shape [B, A] = {tuple(logits.shape[:2])}, "
            f"got {tuple(targets.shape)}"
        )
    # float32 inside: bf16/fp16 probabilities underflow and the log loses its precision.
    # float64 input stays float64 (gradcheck, reference computations).
    if logits.dtype not in (torch.float32, torch.float64):
        logits = logits.float()
    if targets.dtype != torch.long:
        targets = targets.long()
    if mask is not None:
        if mask.shape != targets.shape:
            raise ValueError(
                f"mask must have shape [B, A] = {tuple(targets.shape)}, got {tuple(mask.shape)}"
            )
        mask = mask.bool()
        targets = targets.masked_fill(~mask, 0)
    return logits, targets, mask


def reduce_cells(per_cell: Tensor, mask: Tensor | None, reduction: str) -> Tensor:
    """Apply ``mask`` then ``reduction`` to a per-cell loss ``[B, A]``.

    'none' returns the per-cell tensor with masked cells set to 0; 'sum' sums
    the valid cells; 'mean' divides that sum by the number of valid cells (an
    all-masked batch gives 0 with a zero gradient).
    """
    if mask is not None:
        # where, not multiply: a masked cell's value never reaches the result or its gradient.
        per_cell = torch.where(mask, per_cell, 0.0)
    if reduction == "none":
        return per_cell
    if reduction == "sum":
        return per_cell.sum()
    if mask is None:
        return per_cell.mean()
    return per_cell.sum() / mask.sum().clamp_min(1)


def safe_pow(base: Tensor, gamma: float) -> Tensor:
    """``base ** gamma`` for ``base`` in [0, 1] with a finite gradient at 0.

    ``gamma == 0`` gives ones (the gradient of ``0 ** 0`` would be NaN) and
    ``0 < gamma < 1`` clamps the base away from 0, where ``d/dx x**gamma`` is infinite.
    """
    if gamma == 0:
        return torch.ones_like(base)
    if gamma == 1:
        return base
    if gamma < 1:
        base = base.clamp_min(1e-12)
    return base.pow(gamma)


def as_class_table(value: Tensor | list | tuple | float | None, name: str) -> Tensor | None:
    """Convert a per-class ``[C]`` or per-(aspect, class) ``[A, C]`` option to a float tensor."""
    if value is None:
        return None
    t = torch.as_tensor(value, dtype=torch.float32)
    if t.dim() > 2:
        raise ValueError(f"{name} must be a scalar, [C] or [A, C], got shape {tuple(t.shape)}")
    return t


def gather_class_table(table: Tensor, targets: Tensor) -> Tensor:
    """Look up ``table[c]`` (``[C]``) or ``table[a, c]`` (``[A, C]``) for every cell ``[B, A]``."""
    if table.dim() == 0:
        return table.expand(targets.shape)
    if table.dim() == 1:
        return table[targets]
    num_aspects = table.shape[0]
    if num_aspects != targets.shape[1]:
        raise ValueError(
            f"a per-(aspect, class) table has {num_aspects} aspects but targets have "
            f"{targets.shape[1]}"
        )
    return table.gather(1, targets.t()).t()


def inverse_frequency(class_counts: Tensor) -> Tensor:
    """Per-(aspect, class) weights ``N_a / (C * n_ac)``: 1 for a balanced aspect.

    Classes never seen count as one example so that the weight stays finite.
    """
    counts = torch.as_tensor(class_counts, dtype=torch.float32)
    counts = counts.clamp_min(1.0)
    return counts.sum(-1, keepdim=True) / (counts.shape[-1] * counts)


def lift_2d(
    logits: Tensor, targets: Tensor, mask: Tensor | None
) -> tuple[Tensor, Tensor, Tensor | None, bool]:
    """Accept the older single-aspect call shape ``logits[B, C], targets[B]`` as A = 1.

    Returns the ``[B, 1, C]`` / ``[B, 1]`` views and whether a lift happened, so
    that a per-cell result can be squeezed back to ``[B]``.
    """
    if logits.dim() == 2:
        return (
            logits.unsqueeze(1),
            targets.unsqueeze(1),
            None if mask is None else mask.unsqueeze(1),
            True,
        )
    return logits, targets, mask, False


def pow_and_slope(base: Tensor, exponent: float) -> tuple[Tensor, Tensor | float]:
    """``safe_pow(base, exponent)`` and its derivative, with the same clamping."""
    if exponent == 0:
        return torch.ones_like(base), 0.0
    if exponent == 1:
        return base, 1.0
    if exponent < 1:
        clamped = base.clamp_min(1e-12)
        slope = exponent * clamped.pow(exponent - 1) * (base >= 1e-12)
        return clamped.pow(exponent), slope
    return base.pow(exponent), exponent * base.pow(exponent - 1)

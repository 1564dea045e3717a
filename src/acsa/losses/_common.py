"""Pieces every loss shares: option checks, the input contract, class tables, reductions.

The reduction rule, the same for every classification loss:

- ``'none'``: one value per (review, aspect) cell, ``[B, A]``; a form that treats
  each class as a binary problem (sigmoid focal, GHM-C sigmoid, ASL) sums over
  the C classes of the cell; masked cells hold 0.
- ``'sum'``: the sum of ``'none'``.
- ``'mean'``: ``'sum'`` divided by the number of valid cells, so ``'mean'`` is
  always ``none.sum() / n_valid``.

An empty batch (B = 0) or one whose cells are all masked gives 0 for
``'mean'`` and ``'sum'``: a zero still attached to the graph, so ``backward()``
runs and yields zero gradients. NaN logits in a valid cell give a NaN loss,
which the trainer's ``nan_policy`` then handles.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import torch
from torch import Tensor

REDUCTIONS = ("none", "mean", "sum")


class LossOptionError(ValueError):
    """An option value a loss rejects.

    Attributes:
        option: the constructor or function argument, e.g. ``"momentum"``.
        problem: what is wrong, e.g. ``"must be in [0, 1), got 1.5"``.
        allowed: the accepted values when they form a short list, else ``()``.
    """

    def __init__(self, option: str, problem: str, allowed: tuple = ()) -> None:
        super().__init__(f"{option} {problem}")
        self.option = option
        self.problem = problem
        self.allowed = tuple(allowed)


def check_option(name: str, value: object, ok: bool, expected: str) -> None:
    """Raise :class:`LossOptionError` ``"<name> must be <expected>, got <value>"`` unless ``ok``."""
    if not ok:
        raise LossOptionError(name, f"must be {expected}, got {value!r}")


def check_range(
    name: str,
    value: object,
    low: float,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """Raise :class:`LossOptionError` unless ``value`` is a real number in the interval."""
    if high is None:
        expected = f"{'>' if low_open else '>='} {low:g}"
    else:
        expected = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    ok = ok and (value > low if low_open else value >= low)  # type: ignore[operator]
    if high is not None:
        ok = ok and (value < high if high_open else value <= high)  # type: ignore[operator]
    check_option(name, value, ok, expected)


def check_choice(name: str, value: object, allowed: tuple) -> None:
    """Raise :class:`LossOptionError` naming the value found and the allowed values."""
    if value not in allowed:
        raise LossOptionError(name, f"must be one of {list(allowed)}, got {value!r}", allowed)


def check_reduction(reduction: str) -> None:
    """Validate a ``reduction`` argument ('none' | 'mean' | 'sum')."""
    check_choice("reduction", reduction, REDUCTIONS)


def prepare(logits: Tensor, targets: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
    """Check shapes, upcast logits and make masked targets safe to index with.

    Returns ``(logits, targets, valid)``: float32 logits (float64 stays float64, for
    gradcheck and references), long targets whose masked cells hold 0 (so padding
    such as -1 or -100 cannot break a gather), and the ``[B, A]`` bool mask of the
    cells that count (all True when ``mask`` is None).
    """
    if logits.dim() != 3:
        raise ValueError(f"logits must have shape [B, A, C], got {tuple(logits.shape)}")
    if targets.shape != logits.shape[:2]:
        raise ValueError(
            f"targets must have shape [B, A] = {tuple(logits.shape[:2])}, "
            f"got {tuple(targets.shape)}"
        )
    # float32 inside: bf16/fp16 probabilities underflow the log and the focal factors.
    if logits.dtype not in (torch.float32, torch.float64):
        logits = logits.float()
    targets = targets.long()
    if mask is None:
        return logits, targets, torch.ones_like(targets, dtype=torch.bool)
    if mask.shape != targets.shape:
        raise ValueError(
            f"mask must have shape [B, A] = {tuple(targets.shape)}, got {tuple(mask.shape)}"
        )
    valid = mask.bool()
    return logits, targets.masked_fill(~valid, 0), valid


def reduce_cells(per_cell: Tensor, valid: Tensor, reduction: str) -> Tensor:
    """Apply the mask and the reduction rule of this module's docstring to ``[B, A]`` values."""
    # where, not multiply: a masked cell's value (even NaN) never reaches the result.
    per_cell = torch.where(valid, per_cell, 0.0)
    if reduction == "none":
        return per_cell
    total = per_cell.sum()
    if reduction == "sum":
        return total
    return total / valid.sum().clamp_min(1)


def one_hot(targets: Tensor, like: Tensor) -> Tensor:
    """``[B, A, C]`` one-hot of ``targets`` in the dtype and device of ``like``."""
    return torch.zeros_like(like).scatter_(-1, targets.unsqueeze(-1), 1.0)


def target_log_prob(logits: Tensor, targets: Tensor) -> Tensor:
    """``log p_t`` ``[B, A]``: the log-softmax of the target class of every cell."""
    return torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)


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


def focal_factor(log_pt: Tensor, gamma: float) -> Tensor:
    """``(1 - p_t) ** gamma`` from ``log p_t``; ``-expm1`` keeps ``1 - p_t`` exact near p_t = 1."""
    return safe_pow(-torch.expm1(log_pt), gamma)


def inverse_frequency(class_counts: Tensor) -> Tensor:
    """Per-(aspect, class) weights ``N_a / (C * n_ac)``: 1 for a balanced aspect.

    Classes never seen count as one example so that the weight stays finite.
    """
    counts = torch.as_tensor(class_counts, dtype=torch.float32).clamp_min(1.0)
    return counts.sum(-1, keepdim=True) / (counts.shape[-1] * counts)


def class_weights(
    value: Tensor | list | tuple | float | str | None,
    class_counts: Tensor | None,
    name: str,
    auto: Callable[[Tensor], Tensor] = inverse_frequency,
) -> Tensor | None:
    """Resolve a class-weight option to None or a float tensor: scalar, ``[C]`` or ``[A, C]``.

    ``"auto"`` derives the table from ``class_counts`` (training label counts
    ``[A, C]`` or ``[C]``) with ``auto`` (inverse frequency by default).
    """
    if value is None:
        return None
    if isinstance(value, str):
        if value != "auto":
            raise LossOptionError(name, f"must be a number, a list or 'auto', got {value!r}")
        if class_counts is None:
            raise LossOptionError(name, "'auto' needs class_counts (training label counts [A, C])")
        return auto(torch.as_tensor(class_counts, dtype=torch.float32))
    try:
        table = torch.as_tensor(value, dtype=torch.float32)
    except (TypeError, ValueError, RuntimeError):
        raise LossOptionError(
            name, f"must be a number, a list of numbers or 'auto', got {value!r}"
        ) from None
    if table.dim() > 2:
        raise LossOptionError(
            name, f"must be a number, [C] or [A, C], got shape {tuple(table.shape)}"
        )
    return table


def pick_class_weight(table: Tensor, targets: Tensor) -> Tensor:
    """``table`` (scalar, ``[C]`` or ``[A, C]``) looked up by the target class of every cell."""
    if table.dim() == 0:
        return table.expand(targets.shape)
    if table.dim() == 1:
        return table[targets]
    if table.shape[0] != targets.shape[1]:
        raise ValueError(
            f"a per-(aspect, class) table has {table.shape[0]} aspects but targets have "
            f"{targets.shape[1]}"
        )
    return table.gather(1, targets.t()).t()

"""Focal loss (Lin et al., ICCV 2017, arXiv:1708.02002), softmax and sigmoid forms.

``FL(p_t) = -alpha_t (1 - p_t)^gamma log p_t``: the factor ``(1 - p_t)^gamma``
shrinks the loss of cells the model already gets right, so training concentrates
on the hard ones. ``gamma = 0`` and no ``alpha`` give cross-entropy.

Example:
    >>> import torch
    >>> logits = torch.tensor([[[2.0, 0.0, 0.0, 0.0]]])  # one review, one aspect, 4 classes
    >>> targets = torch.tensor([[0]])
    >>> round(focal_loss(logits, targets, gamma=0.0).item(), 4)  # cross-entropy
    0.3408
    >>> round(focal_loss(logits, targets, gamma=2.0).item(), 4)  # easy cell: down-weighted
    0.0284
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._common import (
    check_range,
    check_reduction,
    class_weights,
    focal_factor,
    inverse_frequency,
    one_hot,
    pick_class_weight,
    prepare,
    reduce_cells,
    target_log_prob,
)

AlphaLike = float | Tensor | None


def focal_loss(
    logits: Tensor,
    targets: Tensor,
    mask: Tensor | None = None,
    *,
    alpha: AlphaLike = None,
    gamma: float = 2.0,
    reduction: str = "mean",
) -> Tensor:
    """Softmax focal loss per (review, aspect) cell: ``-alpha_t (1 - p_t)^gamma log p_t``.

    ``p_t`` is the softmax probability of the target class among the C classes
    of the aspect.

    Args:
        logits: ``[B, A, C]`` raw scores.
        targets: ``[B, A]`` class indices (long).
        mask: optional ``[B, A]`` bool, False skips the cell (a missing label).
        alpha: None (no weighting), a scalar factor, or per-class ``[C]`` /
            per-(aspect, class) ``[A, C]`` weights picked by the target class.
        gamma: focusing parameter >= 0.
        reduction: 'none' (``[B, A]``) | 'mean' (over valid cells) | 'sum'.

    Example:
        >>> logits, targets = torch.zeros(2, 3, 4), torch.zeros(2, 3, dtype=torch.long)
        >>> round(focal_loss(logits, targets, gamma=0.0).item(), 4)  # log 4
        1.3863
    """
    check_reduction(reduction)
    check_range("gamma", gamma, 0)
    logits, targets, valid = prepare(logits, targets, mask)
    log_pt = target_log_prob(logits, targets)
    loss = -focal_factor(log_pt, gamma) * log_pt
    if alpha is not None:
        loss = loss * pick_class_weight(torch.as_tensor(alpha).to(loss), targets)
    return reduce_cells(loss, valid, reduction)


def sigmoid_focal_loss(
    logits: Tensor,
    targets: Tensor,
    mask: Tensor | None = None,
    *,
    alpha: AlphaLike = 0.25,
    gamma: float = 2.0,
    reduction: str = "mean",
) -> Tensor:
    """Sigmoid focal loss on the one-hot targets, summed over the C classes of a cell.

    Every class is an independent binary problem: ``p_t = sigmoid(x)`` for the
    target class and ``1 - sigmoid(x)`` for the others.

    Args:
        logits: ``[B, A, C]`` raw scores.
        targets: ``[B, A]`` class indices (long).
        mask: optional ``[B, A]`` bool, False skips the cell.
        alpha: None (no weighting); a scalar in [0, 1] weighting the target class
            by ``alpha`` and the others by ``1 - alpha`` (torchvision convention); or
            per-class ``[C]`` / per-(aspect, class) ``[A, C]`` values in [0, 1],
            used the same way class by class.
        gamma: focusing parameter >= 0.
        reduction: 'none' (``[B, A]``, summed over classes) | 'mean' (over valid
            cells) | 'sum'.

    Example:
        >>> logits, targets = torch.zeros(1, 1, 2), torch.zeros(1, 1, dtype=torch.long)
        >>> round(sigmoid_focal_loss(logits, targets, alpha=None, gamma=0.0).item(), 4)  # 2 log 2
        1.3863
    """
    check_reduction(reduction)
    check_range("gamma", gamma, 0)
    logits, targets, valid = prepare(logits, targets, mask)
    y = one_hot(targets, logits)
    log_pt = F.logsigmoid(logits * (2 * y - 1))  # log sigmoid(x) for y = 1, log sigmoid(-x) else
    loss = -focal_factor(log_pt, gamma) * log_pt
    if alpha is not None:
        a = torch.as_tensor(alpha).to(loss)
        if a.dim() == 2:
            a = a.unsqueeze(0)  # [A, C] -> [1, A, C]
        loss = loss * (y * a + (1 - y) * (1 - a))
    return reduce_cells(loss.sum(-1), valid, reduction)


class _FocalModule(nn.Module):
    """The module form of a focal function: options checked once, ``alpha`` a buffer."""

    alpha: Tensor | None
    _loss: Callable[..., Tensor]
    _auto: Callable[[Tensor], Tensor]

    def __init__(
        self,
        alpha: float | Tensor | list | str | None = None,
        gamma: float = 2.0,
        reduction: str = "mean",
        class_counts: Tensor | None = None,
    ) -> None:
        super().__init__()
        check_reduction(reduction)
        check_range("gamma", gamma, 0)
        self.gamma = float(gamma)
        self.reduction = reduction
        self.register_buffer("alpha", class_weights(alpha, class_counts, "alpha", self._auto))

    def extra_repr(self) -> str:
        return f"gamma={self.gamma}, reduction={self.reduction!r}"

    def forward(self, logits: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
        return self._loss(
            logits, targets, mask, alpha=self.alpha, gamma=self.gamma, reduction=self.reduction
        )


def _complement_frequency(counts: Tensor) -> Tensor:
    return 1 - counts / counts.sum(-1, keepdim=True).clamp_min(1)


class SoftmaxFocalLoss(_FocalModule):
    """Module form of :func:`focal_loss`; ``alpha`` is kept as a buffer.

    Args:
        alpha: None, a scalar, per-class ``[C]``, per-(aspect, class) ``[A, C]``, or
            ``"auto"``: inverse frequency ``N_a / (C n_ac)`` from ``class_counts``.
        gamma: focusing parameter >= 0.
        reduction: 'none' | 'mean' | 'sum'.
        class_counts: ``[A, C]`` or ``[C]`` training label counts, needed for ``"auto"``.
    """

    _loss = staticmethod(focal_loss)
    _auto = staticmethod(inverse_frequency)


class SigmoidFocalLoss(_FocalModule):
    """Module form of :func:`sigmoid_focal_loss`; ``alpha`` is kept as a buffer.

    Args:
        alpha: None (the default here), a scalar in [0, 1], per-class ``[C]`` or
            per-(aspect, class) ``[A, C]`` values in [0, 1], or ``"auto"``: the share of
            the other classes ``1 - n_ac / N_a`` from ``class_counts``.
        gamma: focusing parameter >= 0.
        reduction: 'none' | 'mean' | 'sum'.
        class_counts: ``[A, C]`` or ``[C]`` training label counts, needed for ``"auto"``.
    """

    _loss = staticmethod(sigmoid_focal_loss)
    _auto = staticmethod(_complement_frequency)

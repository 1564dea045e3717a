"""Logit-adjusted cross-entropy (Menon et al., ICLR 2021, arXiv:2007.07314).

Training uses ``softmax(logits + tau * log prior)`` with the class priors of the
training labels, which makes the plain ``argmax(logits)`` at test time
approximately balanced-error optimal.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ._common import check_range, check_reduction
from .cross_entropy import cross_entropy_loss


def log_priors(class_counts: Tensor) -> Tensor:
    """``log(n_c / N)`` per class (``[C]``) or per aspect and class (``[A, C]``).

    A class never seen counts as one example so that its log prior stays finite.

    Example:
        >>> log_priors(torch.tensor([1, 3])).exp().tolist()
        [0.25, 0.75]
    """
    counts = torch.as_tensor(class_counts, dtype=torch.float32).clamp_min(1.0)
    return (counts / counts.sum(-1, keepdim=True)).log()


def logit_adjusted_loss(
    logits: Tensor,
    targets: Tensor,
    log_prior: Tensor,
    mask: Tensor | None = None,
    *,
    tau: float = 1.0,
    reduction: str = "mean",
) -> Tensor:
    """Cross-entropy of ``logits + tau * log_prior``.

    Args:
        logits: ``[B, A, C]`` raw scores.
        targets: ``[B, A]`` class indices (long).
        log_prior: ``[C]`` or ``[A, C]`` log class priors (see :func:`log_priors`).
        mask: optional ``[B, A]`` bool, False skips the cell.
        tau: temperature of the adjustment; 0 gives cross-entropy.
        reduction: 'none' (``[B, A]``) | 'mean' (over valid cells) | 'sum'.

    Example:
        >>> logits, targets = torch.zeros(1, 1, 2), torch.tensor([[1]])
        >>> prior = log_priors(torch.tensor([3, 1]))  # class 1 is rare
        >>> round(logit_adjusted_loss(logits, targets, prior, tau=0.0).item(), 4)  # log 2
        0.6931
        >>> round(logit_adjusted_loss(logits, targets, prior).item(), 4)  # -log 1/4
        1.3863
    """
    check_reduction(reduction)
    # Add in float32: a bf16 sum would round the adjustment away for large logits.
    x = logits if logits.dtype == torch.float64 else logits.float()
    return cross_entropy_loss(x + tau * log_prior.to(x), targets, mask, reduction=reduction)


class LogitAdjustedLoss(nn.Module):
    """Module form of :func:`logit_adjusted_loss`; the log priors are a buffer.

    Args:
        class_counts: training label counts ``[C]`` or ``[A, C]``.
        tau: adjustment temperature (the paper's default is 1).
        reduction: 'none' | 'mean' | 'sum'.
    """

    log_prior: Tensor

    def __init__(self, class_counts: Tensor, tau: float = 1.0, reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(reduction)
        check_range("tau", tau, 0)
        self.register_buffer("log_prior", log_priors(class_counts))
        self.tau = float(tau)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"tau={self.tau}, reduction={self.reduction!r}"

    def forward(self, logits: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
        return logit_adjusted_loss(
            logits, targets, self.log_prior, mask, tau=self.tau, reduction=self.reduction
        )

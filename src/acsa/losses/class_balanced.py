"""Class-balanced loss (Cui et al., CVPR 2019, arXiv:1901.05555).

The effective number of samples of a class with ``n`` examples is
``(1 - beta^n) / (1 - beta)``; the class weight is its inverse
``w_c = (1 - beta) / (1 - beta^n_c)``, normalized so that the weights of an aspect
sum to C. The weights multiply cross-entropy or focal loss of the target class.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ._common import check_choice, check_range, check_reduction
from .focal import focal_loss

BASE_LOSSES = ("ce", "focal")


def class_balanced_weights(class_counts: Tensor, beta: float = 0.9999) -> Tensor:
    """Effective-number weights ``[C]`` or ``[A, C]`` from label counts of the same shape.

    A class never seen counts as one example so that its weight stays finite.

    Example:
        >>> class_balanced_weights(torch.tensor([10.0, 10.0]), beta=0.9).tolist()
        [1.0, 1.0]
    """
    check_range("beta", beta, 0, 1, high_open=True)
    counts = torch.as_tensor(class_counts, dtype=torch.float64).clamp_min(1.0)
    # float64: beta^n with beta = 0.9999 and n in the thousands loses digits in float32.
    weights = (1.0 - beta) / (1.0 - torch.pow(beta, counts))
    weights = weights * counts.shape[-1] / weights.sum(-1, keepdim=True)
    return weights.float()


class ClassBalancedLoss(nn.Module):
    """Cross-entropy or focal loss weighted by effective-number class weights.

    Args:
        class_counts: training label counts ``[C]`` or ``[A, C]``.
        beta: hyper-parameter in [0, 1); 0 gives uniform weights, values near 1
            approach inverse frequency.
        loss_type: 'ce' | 'focal' (softmax focal loss with ``gamma``).
        gamma: focal exponent when ``loss_type='focal'``.
        reduction: 'none' | 'mean' (over valid cells) | 'sum'.
    """

    class_weights: Tensor

    def __init__(
        self,
        class_counts: Tensor,
        beta: float = 0.9999,
        loss_type: str = "ce",
        gamma: float = 2.0,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        check_reduction(reduction)
        check_choice("loss_type", loss_type, BASE_LOSSES)
        check_range("gamma", gamma, 0)
        self.register_buffer("class_weights", class_balanced_weights(class_counts, beta))
        self.beta = float(beta)
        self.loss_type = loss_type
        self.gamma = float(gamma)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"beta={self.beta}, loss_type={self.loss_type!r}, reduction={self.reduction!r}"

    def forward(self, logits: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
        # Weighted cross-entropy is focal loss with gamma = 0.
        gamma = 0.0 if self.loss_type == "ce" else self.gamma
        return focal_loss(
            logits,
            targets,
            mask,
            alpha=self.class_weights,
            gamma=gamma,
            reduction=self.reduction,
        )

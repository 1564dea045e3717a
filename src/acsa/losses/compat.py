"""The older scripts' loss names, constructors and call shapes, on the new implementations.

Behaviour follows the corrected losses (see GUIDE.md section 3), not the older
code's mistakes: GHM-C bins a gradient norm in [0, 1], keeps its statistics in
buffers and updates them only in training mode.
"""

from __future__ import annotations

from torch import Tensor, nn

from .contrastive import soft_contrastive_loss
from .focal import FocalLoss
from .ghm import GHMCLoss
from .unified_focal import AsymmetricFocalLoss, AsymmetricFocalTverskyLoss, UnifiedFocalLoss


class GHM_Loss(nn.Module):  # noqa: N801 - the older scripts' name
    """``GHM_Loss(bins, momentum, use_sigmoid, loss_weight)``: shared-statistics GHM-C.

    ``forward(pred, target, label_weight=None)`` takes ``pred[B, C]`` or ``[B, A, C]``
    and class indices ``target[B]`` / ``[B, A]``; a one-hot float ``target`` of the
    same shape as ``pred`` is converted to indices. ``label_weight`` (same shape as
    ``target``, or as ``pred`` in the one-hot form) marks valid samples by a non-zero
    value. Returns ``loss_weight`` times the mean GHM-C loss.
    """

    def __init__(
        self,
        bins: int = 10,
        momentum: float = 0.0,
        use_sigmoid: bool = True,
        loss_weight: float = 1.0,
    ) -> None:
        super().__init__()
        self.ghm = GHMCLoss(bins=bins, momentum=momentum, use_sigmoid=use_sigmoid)
        self.loss_weight = float(loss_weight)

    def forward(self, pred: Tensor, target: Tensor, label_weight: Tensor | None = None) -> Tensor:
        if target.shape == pred.shape and target.is_floating_point():
            if label_weight is not None and label_weight.shape == pred.shape:
                label_weight = label_weight.amax(-1)
            target = target.argmax(-1)
        mask = None if label_weight is None else label_weight != 0
        if pred.dim() == 2:
            pred, target = pred.unsqueeze(1), target.unsqueeze(1)
            mask = None if mask is None else mask.unsqueeze(1)
        return self.loss_weight * self.ghm(pred, target, mask)


class MultiLabelGHM_Loss(nn.Module):  # noqa: N801 - the older scripts' name
    """``MultiLabelGHM_Loss(num_aspects, num_sentiments, bins, momentum, loss_weight)``.

    Softmax-form GHM-C over ``logits[B, A, C]`` with ``targets[B, A]`` (optional
    ``mask[B, A]``), statistics kept per aspect. Returns ``loss_weight`` times the mean.
    """

    def __init__(
        self,
        num_aspects: int,
        num_sentiments: int,
        bins: int = 10,
        momentum: float = 0.75,
        loss_weight: float = 1.0,
    ) -> None:
        super().__init__()
        self.num_sentiments = int(num_sentiments)
        self.ghm = GHMCLoss(bins=bins, momentum=momentum, per_aspect=True, num_aspects=num_aspects)
        self.loss_weight = float(loss_weight)

    def forward(self, logits: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
        if logits.shape[-1] != self.num_sentiments:
            raise ValueError(
                f"logits have {logits.shape[-1]} classes, expected num_sentiments="
                f"{self.num_sentiments}"
            )
        return self.loss_weight * self.ghm(logits, targets, mask)


class MultiLabelUnifiedFocalLoss(UnifiedFocalLoss):
    """``MultiLabelUnifiedFocalLoss(num_aspects, num_sentiments, weight, delta, gamma,
    gamma_tversky)`` on ``logits[B, A, C]``, ``targets[B, A]``."""

    def __init__(
        self,
        num_aspects: int,
        num_sentiments: int,
        weight: float = 0.5,
        delta: float = 0.6,
        gamma: float = 0.5,
        gamma_tversky: float | None = None,
    ) -> None:
        super().__init__(weight=weight, delta=delta, gamma=gamma, gamma_tversky=gamma_tversky)
        self.num_aspects = int(num_aspects)
        self.num_sentiments = int(num_sentiments)

    def forward(self, logits: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
        if logits.dim() == 3 and tuple(logits.shape[1:]) != (
            self.num_aspects,
            self.num_sentiments,
        ):
            raise ValueError(
                f"logits must be [B, {self.num_aspects}, {self.num_sentiments}], "
                f"got {tuple(logits.shape)}"
            )
        return super().forward(logits, targets, mask)


class ImprovedMultiLabelContrastiveLoss(nn.Module):
    """``ImprovedMultiLabelContrastiveLoss(temperature, base_weight)``.

    ``forward(embeddings[B, D], labels[B, A], mask=None)``: the soft multi-label
    contrastive loss (:func:`acsa.losses.contrastive.soft_contrastive_loss`).
    """

    def __init__(self, temperature: float = 0.07, base_weight: float = 0.1) -> None:
        super().__init__()
        self.temperature = float(temperature)
        self.base_weight = float(base_weight)

    def forward(self, embeddings: Tensor, labels: Tensor, mask: Tensor | None = None) -> Tensor:
        return soft_contrastive_loss(embeddings, labels, mask, self.temperature, self.base_weight)


__all__ = [
    "AsymmetricFocalLoss",
    "AsymmetricFocalTverskyLoss",
    "FocalLoss",
    "GHM_Loss",
    "ImprovedMultiLabelContrastiveLoss",
    "MultiLabelGHM_Loss",
    "MultiLabelUnifiedFocalLoss",
    "UnifiedFocalLoss",
]

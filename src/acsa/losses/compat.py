"""The older scripts' loss names, constructors and call shapes, on the new implementations.

Behaviour follows the corrected losses (GUIDE.md section 3), not the older code's
mistakes: GHM-C bins a gradient norm in [0, 1], keeps its statistics in buffers and
updates them only in training mode. The older scripts used the ``seed`` label scheme
(``positive, negative, neutral``, an empty cell trained as neutral), so these
classes take the background (the class of an unmentioned aspect) from the number
of classes as the label schemes define it: 2 (``neutral``) with 3 classes, 0
(``none``) with 4.

Every class here also accepts the older single-aspect call shape
``logits[B, C], targets[B]`` where the older class did. Importing these names from
``acsa.losses`` works but is deprecated; import them from ``acsa.losses.compat``.
"""

from __future__ import annotations

from torch import Tensor, nn

from .contrastive import SoftContrastiveLoss
from .focal import SoftmaxFocalLoss
from .ghm import GHMCLoss
from .unified_focal import AsymmetricUnifiedFocalLoss

SEED_BACKGROUND = 2  # neutral in the older scripts' Positive=0, Negative=1, Neutral=2


def background_for(num_classes: int) -> int:
    """The class of an unmentioned aspect for ``num_classes`` as the label schemes define it."""
    return SEED_BACKGROUND if num_classes == 3 else 0


def _lift(logits: Tensor, targets: Tensor, mask: Tensor | None) -> tuple:
    """``logits[B, C], targets[B]`` -> ``[B, 1, C]``, ``[B, 1]``; ``[B, A, C]`` unchanged."""
    if logits.dim() == 2:
        return logits[:, None], targets[:, None], None if mask is None else mask[:, None]
    return logits, targets, mask


def _unlift(out: Tensor, logits: Tensor) -> Tensor:
    # 'none' on the single-aspect shape gives [B], as the older classes did.
    return out.squeeze(1) if logits.dim() == 2 and out.dim() == 2 else out


class FocalLoss(SoftmaxFocalLoss):
    """``FocalLoss(alpha, gamma, reduction)``: softmax focal loss, also on ``[B, C]`` logits."""

    def __init__(
        self,
        alpha: float | Tensor | list | None = None,
        gamma: float = 2.0,
        reduction: str = "mean",
    ) -> None:
        super().__init__(alpha=alpha, gamma=gamma, reduction=reduction)

    def forward(self, logits: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
        return _unlift(super().forward(*_lift(logits, targets, mask)), logits)


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
        return self.loss_weight * self.ghm(*_lift(pred, target, mask))


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
        _check_classes(logits, self.num_sentiments)
        return self.loss_weight * self.ghm(logits, targets, mask)


class UnifiedFocalLoss(AsymmetricUnifiedFocalLoss):
    """``UnifiedFocalLoss(weight, delta, gamma, gamma_tversky)`` on ``[B, C]`` or ``[B, A, C]``.

    The background class follows the number of classes (see the module docstring)
    unless ``background_class`` is given.
    """

    def __init__(
        self,
        weight: float = 0.5,
        delta: float = 0.6,
        gamma: float = 0.5,
        gamma_tversky: float | None = None,
        *,
        epsilon: float = 1e-7,
        background_class: int | None = None,
    ) -> None:
        super().__init__(
            weight=weight, delta=delta, gamma=gamma, gamma_tversky=gamma_tversky, epsilon=epsilon
        )
        self.fixed_background = background_class

    def forward(self, logits: Tensor, targets: Tensor, mask: Tensor | None = None) -> Tensor:
        if self.fixed_background is None:
            self.background_class = background_for(logits.shape[-1])
        return _unlift(super().forward(*_lift(logits, targets, mask)), logits)


class AsymmetricFocalLoss(UnifiedFocalLoss):
    """``AsymmetricFocalLoss(delta, gamma)``: the asymmetric focal part alone (``weight = 1``)."""

    def __init__(self, delta: float = 0.7, gamma: float = 2.0, **kwargs) -> None:
        super().__init__(weight=1.0, delta=delta, gamma=gamma, **kwargs)


class AsymmetricFocalTverskyLoss(UnifiedFocalLoss):
    """``AsymmetricFocalTverskyLoss(delta, gamma, epsilon)``: the Tversky part alone (weight 0)."""

    def __init__(self, delta: float = 0.7, gamma: float = 0.75, epsilon: float = 1e-7, **kwargs):
        super().__init__(weight=0.0, delta=delta, gamma=gamma, epsilon=epsilon, **kwargs)


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
        if logits.dim() == 3 and logits.shape[1] != self.num_aspects:
            raise ValueError(
                f"logits must be [B, {self.num_aspects}, {self.num_sentiments}], "
                f"got {tuple(logits.shape)}"
            )
        _check_classes(logits, self.num_sentiments)
        return super().forward(logits, targets, mask)


class ImprovedMultiLabelContrastiveLoss(SoftContrastiveLoss):
    """``ImprovedMultiLabelContrastiveLoss(temperature, base_weight)``.

    ``forward(embeddings[B, D], labels[B, A], mask=None)``: the soft multi-label
    contrastive loss with the older scripts' background class (2, ``neutral``).
    """

    def __init__(
        self,
        temperature: float = 0.07,
        base_weight: float = 0.1,
        *,
        background_class: int = SEED_BACKGROUND,
    ) -> None:
        super().__init__(temperature, base_weight, background_class=background_class)


def _check_classes(logits: Tensor, num_sentiments: int) -> None:
    if logits.shape[-1] != num_sentiments:
        raise ValueError(
            f"logits have {logits.shape[-1]} classes, expected num_sentiments={num_sentiments}"
        )


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

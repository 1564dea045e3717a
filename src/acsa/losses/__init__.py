"""Losses for multi-aspect sentiment classification on imbalanced labels.

Every classification loss takes ``logits[B, A, C]``, ``targets[B, A]`` (long) and an
optional ``mask[B, A]`` (bool, False = missing label) and reduces by the one rule
written in :mod:`acsa.losses._common` ('mean' = sum over valid cells / their
number; an empty or all-masked batch gives an attached 0). Contrastive losses take
``embeddings[B, D]``, ``targets[B, A]`` and ``mask``. Each loss is a plain function
plus a thin ``nn.Module``; autograd computes the gradients. Only torch is needed.

Use in any training loop::

    from acsa.losses import build_loss
    criterion = build_loss({"type": "ghm", "bins": 10, "momentum": 0.75})
    loss = criterion(logits, targets, mask)  # logits [B, A, C], targets [B, A]

The older scripts' class names (``FocalLoss``, ``GHM_Loss``, ``UnifiedFocalLoss``,
...) live in :mod:`acsa.losses.compat`; importing them from here still works, with
a ``DeprecationWarning``.

Example:
    >>> import torch
    >>> criterion = build_loss({"type": "focal", "gamma": 2.0})
    >>> logits, targets = torch.randn(8, 11, 4), torch.randint(0, 4, (8, 11))
    >>> criterion(logits, targets).shape
    torch.Size([])
"""

from __future__ import annotations

import warnings

from . import compat as _compat
from ._common import LossOptionError
from .asymmetric import AsymmetricLoss, asymmetric_loss
from .class_balanced import ClassBalancedLoss, class_balanced_weights
from .combined import CombinedLoss, LossOutput
from .contrastive import (
    MultiLabelSupConLoss,
    SoftContrastiveLoss,
    multilabel_supcon_loss,
    soft_contrastive_loss,
)
from .cross_entropy import CrossEntropyLoss, cross_entropy_loss
from .focal import SigmoidFocalLoss, SoftmaxFocalLoss, focal_loss, sigmoid_focal_loss
from .ghm import GHMCLoss, ghm_bin_index, gradient_norm
from .logit_adjusted import LogitAdjustedLoss, log_priors, logit_adjusted_loss
from .registry import (
    CLASSIFICATION_LOSSES,
    CONTRASTIVE_LOSSES,
    LOSS_ALIASES,
    LOSS_TYPES,
    LossConfigError,
    build_loss,
    loss_parameters,
)
from .unified_focal import (
    AsymmetricUnifiedFocalLoss,
    asymmetric_focal_loss,
    asymmetric_focal_tversky_loss,
    unified_focal_loss,
)

__all__ = [
    "CLASSIFICATION_LOSSES",
    "CONTRASTIVE_LOSSES",
    "LOSS_ALIASES",
    "LOSS_TYPES",
    "AsymmetricLoss",
    "AsymmetricUnifiedFocalLoss",
    "ClassBalancedLoss",
    "CombinedLoss",
    "CrossEntropyLoss",
    "GHMCLoss",
    "LogitAdjustedLoss",
    "LossConfigError",
    "LossOptionError",
    "LossOutput",
    "MultiLabelSupConLoss",
    "SigmoidFocalLoss",
    "SoftContrastiveLoss",
    "SoftmaxFocalLoss",
    "asymmetric_focal_loss",
    "asymmetric_focal_tversky_loss",
    "asymmetric_loss",
    "build_loss",
    "class_balanced_weights",
    "cross_entropy_loss",
    "focal_loss",
    "ghm_bin_index",
    "gradient_norm",
    "log_priors",
    "logit_adjusted_loss",
    "loss_parameters",
    "multilabel_supcon_loss",
    "sigmoid_focal_loss",
    "soft_contrastive_loss",
    "unified_focal_loss",
]


def __getattr__(name: str) -> object:
    # The older names resolve lazily so that only code still using them sees the warning.
    if name in _compat.__all__:
        warnings.warn(
            f"acsa.losses.{name} is deprecated; import it from acsa.losses.compat",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(_compat, name)
    raise AttributeError(f"module 'acsa.losses' has no attribute {name!r}")

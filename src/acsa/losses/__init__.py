"""Losses for multi-aspect sentiment classification on imbalanced labels.

Every classification loss takes ``logits[B, A, C]``, ``targets[B, A]`` (long) and an
optional ``mask[B, A]`` (bool, False = missing label) and returns a scalar
('mean' over valid cells by default). Contrastive losses take ``embeddings[B, D]``,
``targets[B, A]`` and ``mask``. Only torch is needed.

Use in any training loop::

    from acsa.losses import build_loss
    criterion = build_loss({"type": "ghm", "bins": 10, "momentum": 0.75})
    loss = criterion(logits, targets, mask)  # logits [B, A, C], targets [B, A]

Example:
    >>> import torch
    >>> criterion = build_loss({"type": "focal", "gamma": 2.0})
    >>> logits, targets = torch.randn(8, 11, 4), torch.randint(0, 4, (8, 11))
    >>> criterion(logits, targets).shape
    torch.Size([])
"""

from .asymmetric import AsymmetricLoss, asymmetric_loss
from .class_balanced import ClassBalancedLoss, class_balanced_weights
from .combined import CombinedLoss, LossOutput
from .compat import (
    GHM_Loss,
    ImprovedMultiLabelContrastiveLoss,
    MultiLabelGHM_Loss,
    MultiLabelUnifiedFocalLoss,
)
from .contrastive import (
    MultiLabelSupConLoss,
    SoftContrastiveLoss,
    multilabel_supcon_loss,
    soft_contrastive_loss,
)
from .cross_entropy import CrossEntropyLoss, cross_entropy_loss
from .focal import FocalLoss, focal_loss, sigmoid_focal_loss
from .ghm import GHMCLoss, ghm_bin_index
from .logit_adjusted import LogitAdjustedLoss, log_priors, logit_adjusted_loss
from .registry import LOSS_TYPES, LossConfigError, build_loss, loss_parameters
from .unified_focal import (
    AsymmetricFocalLoss,
    AsymmetricFocalTverskyLoss,
    UnifiedFocalLoss,
    asymmetric_focal_loss,
    asymmetric_focal_tversky_loss,
)

__all__ = [
    "LOSS_TYPES",
    "AsymmetricFocalLoss",
    "AsymmetricFocalTverskyLoss",
    "AsymmetricLoss",
    "ClassBalancedLoss",
    "CombinedLoss",
    "CrossEntropyLoss",
    "FocalLoss",
    "GHMCLoss",
    "GHM_Loss",
    "ImprovedMultiLabelContrastiveLoss",
    "LogitAdjustedLoss",
    "LossConfigError",
    "LossOutput",
    "MultiLabelGHM_Loss",
    "MultiLabelSupConLoss",
    "MultiLabelUnifiedFocalLoss",
    "SoftContrastiveLoss",
    "UnifiedFocalLoss",
    "asymmetric_focal_loss",
    "asymmetric_focal_tversky_loss",
    "asymmetric_loss",
    "build_loss",
    "class_balanced_weights",
    "cross_entropy_loss",
    "focal_loss",
    "ghm_bin_index",
    "log_priors",
    "logit_adjusted_loss",
    "loss_parameters",
    "multilabel_supcon_loss",
    "sigmoid_focal_loss",
    "soft_contrastive_loss",
]

"""Build a loss from a plain dict, e.g. ``{"type": "ghm", "bins": 10, "momentum": 0.75}``."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping

import torch
from torch import Tensor, nn

from ..errors import ConfigError
from ._common import inverse_frequency
from .asymmetric import AsymmetricLoss
from .class_balanced import ClassBalancedLoss
from .combined import CombinedLoss
from .contrastive import MultiLabelSupConLoss, SoftContrastiveLoss
from .cross_entropy import CrossEntropyLoss
from .focal import FocalLoss
from .ghm import GHMCLoss
from .logit_adjusted import LogitAdjustedLoss
from .unified_focal import UnifiedFocalLoss


class LossConfigError(ConfigError, ValueError):
    """An unknown loss type or parameter, or a value the loss rejects."""


def _cross_entropy(class_counts: Tensor | None, weight=None, **kw) -> nn.Module:
    if isinstance(weight, str):
        if weight != "auto":
            raise ValueError(f"weight must be a list of numbers or 'auto', got {weight!r}")
        if class_counts is None:
            raise ValueError("weight='auto' needs class_counts (training label counts [A, C])")
        weight = inverse_frequency(class_counts)
    return CrossEntropyLoss(weight=weight, **kw)


def _focal(class_counts: Tensor | None, **kw) -> nn.Module:
    return FocalLoss(class_counts=class_counts, **kw)


def _ghm(class_counts: Tensor | None, **kw) -> nn.Module:
    if kw.get("per_aspect") and kw.get("num_aspects") is None and class_counts is not None:
        kw["num_aspects"] = int(torch.as_tensor(class_counts).shape[0])
    return GHMCLoss(**kw)


def _needs_counts(cls: type) -> Callable[..., nn.Module]:
    def make(class_counts: Tensor | None, **kw) -> nn.Module:
        if class_counts is None:
            raise ValueError("needs class_counts (training label counts [A, C])")
        return cls(class_counts=class_counts, **kw)

    return make


def _plain(cls: type) -> Callable[..., nn.Module]:
    def make(class_counts: Tensor | None, **kw) -> nn.Module:
        return cls(**kw)

    return make


def _params(cls: type) -> tuple[str, ...]:
    names = inspect.signature(cls.__init__).parameters
    return tuple(n for n in names if n not in ("self", "class_counts", "kwargs"))


# type -> (factory, class whose constructor defines the allowed parameters)
_CLASSIFICATION: dict[str, tuple[Callable[..., nn.Module], type]] = {
    "cross_entropy": (_cross_entropy, CrossEntropyLoss),
    "focal": (_focal, FocalLoss),
    "ghm": (_ghm, GHMCLoss),
    "unified_focal": (_plain(UnifiedFocalLoss), UnifiedFocalLoss),
    "asymmetric": (_plain(AsymmetricLoss), AsymmetricLoss),
    "class_balanced": (_needs_counts(ClassBalancedLoss), ClassBalancedLoss),
    "logit_adjusted": (_needs_counts(LogitAdjustedLoss), LogitAdjustedLoss),
}
_CONTRASTIVE: dict[str, tuple[Callable[..., nn.Module], type]] = {
    "supcon": (_plain(MultiLabelSupConLoss), MultiLabelSupConLoss),
    "soft_contrastive": (_plain(SoftContrastiveLoss), SoftContrastiveLoss),
}
_COMBINED_KEYS = ("classification", "contrastive", "classification_weight", "contrastive_weight")

LOSS_TYPES: tuple[str, ...] = (*_CLASSIFICATION, *_CONTRASTIVE, "combined")
"""Every value ``build_loss`` accepts for ``"type"``."""


def loss_parameters(loss_type: str) -> tuple[str, ...]:
    """The parameters ``build_loss`` accepts besides ``"type"`` for ``loss_type``."""
    if loss_type == "combined":
        return _COMBINED_KEYS
    table = {**_CLASSIFICATION, **_CONTRASTIVE}
    if loss_type not in table:
        raise LossConfigError(f"unknown loss type {loss_type!r}; allowed: {list(LOSS_TYPES)}")
    return _params(table[loss_type][1])


def build_loss(config: Mapping, class_counts: Tensor | None = None) -> nn.Module:
    """Build a loss module from a plain dict.

    Args:
        config: ``{"type": <one of LOSS_TYPES>, <parameter>: <value>, ...}``; list
            values for ``alpha`` / ``weight`` become tensors. A combined objective is
            ``{"type": "combined", "classification": {...}, "contrastive": {...},
            "classification_weight": 1.0, "contrastive_weight": 0.1}``.
        class_counts: training label counts ``[A, C]`` (scheme space); used by
            ``alpha: auto`` / ``weight: auto``, ``class_balanced``, ``logit_adjusted``
            and to size ``ghm`` with ``per_aspect: true``.

    Raises:
        LossConfigError (a ``ValueError``): unknown type or parameter (the message
        lists the allowed ones), or a value the loss rejects.

    Example:
        >>> build_loss({"type": "ghm", "bins": 10, "momentum": 0.75})
        GHMCLoss(bins=10, momentum=0.75, use_sigmoid=False, per_aspect=False, reduction='mean')
    """
    return _build(config, class_counts, "loss")


def _build(config: Mapping, class_counts: Tensor | None, where: str) -> nn.Module:
    if not isinstance(config, Mapping):
        raise LossConfigError(f"{where}: expected a dict with a 'type' key, got {config!r}")
    if "type" not in config:
        raise LossConfigError(f"{where}: missing 'type'; allowed: {list(LOSS_TYPES)}")
    loss_type = config["type"]
    params = {k: v for k, v in config.items() if k != "type"}
    allowed = loss_parameters(loss_type) if loss_type in LOSS_TYPES else None
    if allowed is None:
        raise LossConfigError(
            f"{where}.type: unknown loss type {loss_type!r}; allowed: {list(LOSS_TYPES)}"
        )
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise LossConfigError(
            f"{where}: unknown parameter(s) {unknown} for loss type {loss_type!r}; "
            f"allowed: {list(allowed)}"
        )
    if loss_type == "combined":
        return _build_combined(params, class_counts, where)
    factory = {**_CLASSIFICATION, **_CONTRASTIVE}[loss_type][0]
    for key in ("alpha", "weight"):
        if isinstance(params.get(key), (list, tuple)):
            params[key] = torch.tensor(params[key], dtype=torch.float32)
    try:
        return factory(class_counts, **params)
    except (ValueError, TypeError) as exc:
        raise LossConfigError(f"{where} (type {loss_type!r}): {exc}") from exc


def _build_combined(params: dict, class_counts: Tensor | None, where: str) -> CombinedLoss:
    if "classification" not in params:
        raise LossConfigError(f"{where}: a combined loss needs a 'classification' dict")
    cls_cfg = params["classification"]
    if isinstance(cls_cfg, Mapping) and cls_cfg.get("type") not in _CLASSIFICATION:
        raise LossConfigError(
            f"{where}.classification.type: {cls_cfg.get('type')!r} is not a classification "
            f"loss; allowed: {list(_CLASSIFICATION)}"
        )
    classification = _build(cls_cfg, class_counts, f"{where}.classification")
    contrastive = None
    con_cfg = params.get("contrastive")
    if con_cfg is not None:
        if isinstance(con_cfg, Mapping) and con_cfg.get("type") not in _CONTRASTIVE:
            raise LossConfigError(
                f"{where}.contrastive.type: {con_cfg.get('type')!r} is not a contrastive "
                f"loss; allowed: {list(_CONTRASTIVE)}"
            )
        contrastive = _build(con_cfg, class_counts, f"{where}.contrastive")
    if contrastive is not None and "contrastive_weight" not in params:
        # A silent default of 0 would train without the contrastive part.
        raise LossConfigError(f"{where}: a 'contrastive' loss needs 'contrastive_weight' (> 0)")
    try:
        return CombinedLoss(
            classification,
            contrastive,
            classification_weight=params.get("classification_weight", 1.0),
            contrastive_weight=params.get("contrastive_weight", 0.0),
        )
    except ValueError as exc:
        raise LossConfigError(f"{where}: {exc}") from exc

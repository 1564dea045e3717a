"""Build a loss from a plain dict, e.g. ``{"type": "ghm", "bins": 10, "momentum": 0.75}``.

The types are :data:`CLASSIFICATION_LOSSES`, :data:`CONTRASTIVE_LOSSES` and
``"combined"``; :data:`LOSS_ALIASES` lists other accepted spellings (``"ce"``, the
older scripts' name for cross-entropy). A type's parameters are its constructor's
arguments, except the two that :func:`build_loss` supplies itself:
``class_counts`` (training label counts) and ``background_class`` (from the label
scheme). Problems are raised as :class:`LossConfigError`, which carries the key,
the value, the allowed values and a suggestion, so a config layer can report them
in its own words.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from ..errors import ConfigError, first_line
from ._common import LossOptionError
from .asymmetric import AsymmetricLoss
from .class_balanced import ClassBalancedLoss
from .combined import CombinedLoss
from .contrastive import MultiLabelSupConLoss, SoftContrastiveLoss
from .cross_entropy import CrossEntropyLoss
from .focal import SigmoidFocalLoss, SoftmaxFocalLoss
from .ghm import GHMCLoss
from .logit_adjusted import LogitAdjustedLoss
from .unified_focal import AsymmetricUnifiedFocalLoss


class LossConfigError(ConfigError, ValueError):
    """A loss configuration that :func:`build_loss` rejects, as data.

    Attributes:
        key: dotted path of the offending key inside the dict given to ``build_loss``
            (``"type"``, ``"momentum"``, ``"contrastive.temperature"``); ``""`` for the
            dict as a whole.
        problem: what is wrong, e.g. ``"unknown key"`` or ``"must be in [0, 1), got 1.5"``.
        value: the value found, if any.
        allowed: the accepted keys or values when they form a list, else ``()``.
        suggestion: the allowed entry closest to a misspelt one, or None.
    """

    def __init__(
        self,
        key: str,
        problem: str,
        *,
        value: Any = None,
        allowed: tuple = (),
        suggestion: str | None = None,
    ) -> None:
        self.key = key
        self.problem = problem
        self.value = value
        self.allowed = tuple(allowed)
        self.suggestion = suggestion
        path = f"loss.{key}" if key else "loss"
        text = problem
        if self.allowed:
            text += f" (allowed: {', '.join(map(str, self.allowed))})"
        if suggestion is not None:
            text += f"; did you mean '{suggestion}'?"
        super().__init__(f"{path}: {text}")

    def under(self, prefix: str) -> LossConfigError:
        """The same error with its key moved under ``prefix`` (a nested loss dict)."""
        key = f"{prefix}.{self.key}" if self.key else prefix
        return LossConfigError(
            key, self.problem, value=self.value, allowed=self.allowed, suggestion=self.suggestion
        )


def _focal(
    use_sigmoid: bool = False,
    alpha: float | Tensor | list | str | None = None,
    gamma: float = 2.0,
    reduction: str = "mean",
    class_counts: Tensor | None = None,
) -> nn.Module:
    """The softmax focal loss, or its sigmoid form with ``use_sigmoid``."""
    cls = SigmoidFocalLoss if use_sigmoid else SoftmaxFocalLoss
    return cls(alpha=alpha, gamma=gamma, reduction=reduction, class_counts=class_counts)


_CLASSIFICATION: dict[str, Callable[..., nn.Module]] = {
    "cross_entropy": CrossEntropyLoss,
    "focal": _focal,
    "ghm": GHMCLoss,
    "unified_focal": AsymmetricUnifiedFocalLoss,
    "asymmetric": AsymmetricLoss,
    "class_balanced": ClassBalancedLoss,
    "logit_adjusted": LogitAdjustedLoss,
}
_CONTRASTIVE: dict[str, Callable[..., nn.Module]] = {
    "supcon": MultiLabelSupConLoss,
    "soft_contrastive": SoftContrastiveLoss,
}
_COMBINED_KEYS = ("classification", "contrastive", "classification_weight", "contrastive_weight")
_SUPPLIED = ("class_counts", "background_class")

CLASSIFICATION_LOSSES: tuple[str, ...] = tuple(_CLASSIFICATION)
"""Loss types called as ``loss(logits[B, A, C], targets[B, A], mask[B, A])``."""
CONTRASTIVE_LOSSES: tuple[str, ...] = tuple(_CONTRASTIVE)
"""Loss types called as ``loss(embeddings[B, D], targets[B, A], mask[B, A])``."""
LOSS_TYPES: tuple[str, ...] = (*CLASSIFICATION_LOSSES, *CONTRASTIVE_LOSSES, "combined")
"""Every value ``build_loss`` accepts for ``"type"``, aliases aside."""
LOSS_ALIASES: dict[str, str] = {"ce": "cross_entropy"}
"""Other spellings ``build_loss`` accepts for a type (``"ce"``: the older scripts' name)."""

_KINDS = {"classification": CLASSIFICATION_LOSSES, "contrastive": CONTRASTIVE_LOSSES}


def _signature(make: Callable[..., nn.Module]) -> dict[str, inspect.Parameter]:
    params = inspect.signature(make).parameters
    return {n: p for n, p in params.items() if n not in ("self", "args", "kwargs")}


def loss_parameters(loss_type: str) -> tuple[str, ...]:
    """The parameters ``build_loss`` accepts besides ``"type"`` for ``loss_type``."""
    loss_type = _resolve_type(loss_type)
    if loss_type == "combined":
        return _COMBINED_KEYS
    make = {**_CLASSIFICATION, **_CONTRASTIVE}[loss_type]
    return tuple(n for n in _signature(make) if n not in _SUPPLIED)


def _resolve_type(value: object, kind: str | None = None) -> str:
    """The canonical type name of ``value`` (aliases resolved) among ``kind``'s types."""
    allowed = _KINDS[kind] if kind else LOSS_TYPES
    name = LOSS_ALIASES.get(value, value) if isinstance(value, str) else value
    if name in allowed:
        return name  # type: ignore[return-value]
    if name in LOSS_TYPES:
        raise LossConfigError(
            "type", f"{value!r} is not a {kind} loss", value=value, allowed=allowed
        )
    close = difflib.get_close_matches(str(value), list(allowed), n=1)
    raise LossConfigError(
        "type",
        f"unknown loss {value!r}",
        value=value,
        allowed=allowed,
        suggestion=close[0] if close else None,
    )


def build_loss(
    config: Mapping,
    class_counts: Tensor | None = None,
    *,
    background_class: int | None = None,
    kind: str | None = None,
) -> nn.Module:
    """Build a loss module from a plain dict.

    Args:
        config: ``{"type": <one of LOSS_TYPES>, <parameter>: <value>, ...}``. A combined
            objective is ``{"type": "combined", "classification": {...}, "contrastive":
            {...}, "classification_weight": 1.0, "contrastive_weight": 0.1}``.
        class_counts: training label counts ``[A, C]`` in the scheme's classes; used by
            ``alpha: auto`` / ``weight: auto``, ``class_balanced``, ``logit_adjusted``
            and to size ``ghm`` with ``per_aspect: true``.
        background_class: the class an unmentioned aspect gets under the label
            scheme (0 ``none`` for ``with_none``, 2 ``neutral`` for ``seed``); passed to
            the losses that treat it apart (``unified_focal``, ``soft_contrastive``).
            None keeps their default, 0.
        kind: ``"classification"`` or ``"contrastive"`` to accept only that kind of loss.

    Raises:
        LossConfigError (a ``ValueError``): unknown type or key (with the allowed ones
        and the closest match), or a value the loss rejects.

    Example:
        >>> build_loss({"type": "ghm", "bins": 10, "momentum": 0.75})
        GHMCLoss(bins=10, momentum=0.75, use_sigmoid=False, per_aspect=False, reduction='mean')
    """
    if not isinstance(config, Mapping):
        raise LossConfigError("", f"expected a dict with a 'type' key, got {config!r}")
    if kind is not None and kind not in _KINDS:
        raise ValueError(f"kind must be one of {list(_KINDS)} or None, got {kind!r}")
    if "type" not in config:
        raise LossConfigError("type", "is missing", allowed=_KINDS[kind] if kind else LOSS_TYPES)
    loss_type = _resolve_type(config["type"], kind)
    params = {k: v for k, v in config.items() if k != "type"}
    allowed = loss_parameters(loss_type)
    for key, value in params.items():
        if key not in allowed:
            close = difflib.get_close_matches(str(key), list(allowed), n=1)
            raise LossConfigError(
                str(key),
                "unknown key",
                value=value,
                allowed=allowed,
                suggestion=close[0] if close else None,
            )
    if loss_type == "combined":
        return _build_combined(params, class_counts, background_class)
    make = {**_CLASSIFICATION, **_CONTRASTIVE}[loss_type]
    signature = _signature(make)
    for key, value in params.items():
        # a switch must be a YAML true/false: bool("no") would be True
        if isinstance(signature[key].default, bool) and not isinstance(value, bool):
            raise LossConfigError(key, f"must be true or false, got {value!r}", value=value)
    if "class_counts" in signature:
        required = signature["class_counts"].default is inspect.Parameter.empty
        if required and class_counts is None:
            raise LossConfigError(
                "type",
                f"{loss_type!r} needs class_counts (training label counts [A, C])",
                value=loss_type,
            )
        params["class_counts"] = class_counts
    if "background_class" in signature and background_class is not None:
        params["background_class"] = background_class
    counts = None if class_counts is None else torch.as_tensor(class_counts)
    if "num_aspects" in signature and "num_aspects" not in params and counts is not None:
        if counts.dim() == 2:  # [A, C]
            params["num_aspects"] = int(counts.shape[0])
    try:
        return make(**params)
    except LossOptionError as exc:
        raise LossConfigError(
            exc.option, exc.problem, value=params.get(exc.option), allowed=exc.allowed
        ) from None
    except (TypeError, ValueError) as exc:
        # a value of the wrong kind that no option check names (a list for a number)
        detail = " ".join(first_line(exc, limit=200).split())
        raise LossConfigError("", f"type {loss_type!r}: {detail}", value=loss_type) from None


def _build_combined(
    params: dict, class_counts: Tensor | None, background_class: int | None
) -> CombinedLoss:
    parts: dict[str, nn.Module | None] = {"classification": None, "contrastive": None}
    for key in parts:
        sub = params.get(key)
        if sub is None:
            if key == "classification":
                raise LossConfigError(key, "is missing (a dict with the classification loss)")
            continue
        try:
            parts[key] = build_loss(sub, class_counts, background_class=background_class, kind=key)
        except LossConfigError as exc:
            raise exc.under(key) from None
    if parts["contrastive"] is not None and "contrastive_weight" not in params:
        # A silent default of 0 would train without the contrastive part.
        raise LossConfigError("contrastive_weight", "is missing (> 0 with a contrastive loss)")
    weights = {
        k: params.get(k, d)
        for k, d in (("classification_weight", 1.0), ("contrastive_weight", 0.0))
    }
    for key, value in weights.items():
        if not (isinstance(value, (int, float)) and value >= 0):
            raise LossConfigError(key, f"must be a number >= 0, got {value!r}", value=value)
    return CombinedLoss(parts["classification"], parts["contrastive"], **weights)  # type: ignore[arg-type]

"""The run configuration: one YAML file validated by a pydantic schema.

Sections: ``data`` (:class:`acsa.data.config.DataConfig`), ``model``
(:class:`acsa.models.config.ModelConfig`), ``loss``, ``training`` and
``output``. Unknown keys are rejected everywhere, and the loss section is
checked by building the loss, so a typo such as ``ghm_momentun`` is caught
when the file is read, not an hour into training.

:func:`load_config` turns the first validation error into a one-line
:class:`~acsa.errors.ConfigError` naming the file and the key path.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from acsa.data.config import DataConfig
from acsa.data.label_space import NONE, LabelSpace
from acsa.errors import ConfigError
from acsa.files import read_yaml
from acsa.models.config import (
    HuggingFaceModelConfig,
    ModelConfig,
    OfflineModelConfig,
    TfidfModelConfig,
)
from acsa.training.pretraining_config import PretrainingConfig
from acsa.training.self_training_config import SelfTrainingConfig

if TYPE_CHECKING:
    import torch
    from torch import nn


logger = logging.getLogger(__name__)

_STRICT = ConfigDict(extra="forbid", validate_assignment=False)
# discriminator tags of the model: section, as they appear in error locations
_MODEL_TAGS: dict[str, type[BaseModel]] = {
    "offline": OfflineModelConfig,
    "huggingface": HuggingFaceModelConfig,
    "tfidf": TfidfModelConfig,
}


class ContrastiveConfig(BaseModel):
    """The optional contrastive part of the objective (built by ``acsa.losses``).

    Only ``type`` is fixed here; the remaining keys are the loss's own
    parameters (``temperature``, ``base_weight``, ...) and are checked by
    building the loss.
    """

    model_config = ConfigDict(extra="allow")

    type: str = "soft_contrastive"


class LossConfig(BaseModel):
    """The training objective.

    ``type`` names a classification loss of ``acsa.losses`` and the other
    top-level keys are its parameters. With a ``contrastive`` block the
    objective becomes ``classification_weight * cls + contrastive_weight *
    con``.
    """

    model_config = ConfigDict(extra="allow")

    type: str = "cross_entropy"
    contrastive: ContrastiveConfig | None = None
    classification_weight: float = Field(default=1.0, ge=0.0)
    contrastive_weight: float = Field(default=0.0, ge=0.0)

    def classification_params(self) -> dict[str, Any]:
        """The classification loss's parameters, ``type`` included."""
        return {"type": self.type, **(self.model_extra or {})}

    def contrastive_params(self) -> dict[str, Any] | None:
        if self.contrastive is None:
            return None
        return {"type": self.contrastive.type, **(self.contrastive.model_extra or {})}

    @property
    def uses_contrastive(self) -> bool:
        return self.contrastive is not None and self.contrastive_weight > 0

    def to_build_config(self) -> dict[str, Any]:
        """The dict that :func:`acsa.losses.build_loss` takes."""
        return {
            "type": "combined",
            "classification": self.classification_params(),
            "contrastive": self.contrastive_params() if self.uses_contrastive else None,
            "classification_weight": self.classification_weight,
            "contrastive_weight": self.contrastive_weight if self.uses_contrastive else 0.0,
        }


class TrainingConfig(BaseModel):
    """Optimisation and bookkeeping; the optimisation keys map onto ``TrainingArguments``.

    The budget: ``epochs`` passes over the training split, raised to enough
    whole epochs to make at least ``min_steps`` optimizer steps (small data
    sets still get enough updates; 0 = off), and cut at ``max_steps`` when set.
    The model is evaluated on validation (and checkpointed) every
    ``eval_every``: ``epoch``, a number of optimizer steps, or ``auto`` (about
    :data:`AUTO_EVALUATIONS` evaluations over the run); early stopping counts
    evaluations, and the best one is restored at the end.

    After training: ``decision_thresholds`` fits per-aspect mention thresholds
    on validation (saved with the model; aspects with fewer than
    ``threshold_min_mentions`` validation mentions keep the argmax rule; the
    thresholds are kept only when they beat the argmax on held-out validation
    folds, ``threshold_cv_folds``, 0 = always kept, by more than
    ``threshold_margin`` of pooled out-of-fold pair-F1 and on most folds),
    ``baseline`` fits the TF-IDF baseline on the same splits for comparison, and
    ``blend: auto`` saves the network blended with that baseline when the blend
    beats the network on held-out validation folds by the same margin
    (:mod:`acsa.evaluation.blend`; ``blend_weights``: one ``global`` weight,
    measured better than one per ``aspect`` on both shared sets); ``off`` or
    ``baseline: false`` saves the network alone.
    """

    model_config = _STRICT

    epochs: int = Field(default=10, ge=1)
    min_steps: int = Field(default=0, ge=0)
    max_steps: int | None = Field(default=None, ge=1)
    eval_every: int | Literal["epoch", "auto"] = "epoch"
    batch_size: int = Field(default=32, ge=1)
    eval_batch_size: int = Field(default=256, ge=1)
    learning_rate: float = Field(default=2e-3, gt=0.0)
    weight_decay: float = Field(default=0.0, ge=0.0)
    warmup_ratio: float = Field(default=0.0, ge=0.0, lt=1.0)
    scheduler: Literal["linear", "cosine", "constant"] = "linear"
    max_grad_norm: float = Field(default=1.0, ge=0.0)
    gradient_accumulation_steps: int = Field(default=1, ge=1)
    precision: Literal["fp32", "bf16", "fp16", "auto"] = "fp32"
    seed: int = Field(default=42, ge=0)
    early_stopping_patience: int = Field(default=3, ge=0)
    save_total_limit: int = Field(default=2, ge=1)
    logging_steps: int = Field(default=50, ge=1)
    nan_policy: Literal["stop", "skip"] = "stop"
    num_workers: int = Field(default=0, ge=0)
    group_by_length: bool | Literal["auto"] = "auto"
    log_gradient_stats: bool = True
    progress_bar: bool = True
    keep_checkpoints: bool = False
    decision_thresholds: bool = True
    threshold_min_mentions: int = Field(default=5, ge=1)
    threshold_cv_folds: int = Field(default=5, ge=0)
    threshold_margin: float = Field(default=0.005, ge=0.0, lt=1.0)
    baseline: bool = True
    blend: Literal["auto", "off"] = "auto"
    blend_weights: Literal["global", "aspect"] = "global"
    self_training: SelfTrainingConfig | None = None
    pretraining: PretrainingConfig | None = None

    @field_validator("threshold_cv_folds")
    @classmethod
    def _folds(cls, value: int) -> int:
        if value == 1:
            raise ValueError("must be 0 (no check) or at least 2 folds")
        return value

    @field_validator("eval_every", mode="before")
    @classmethod
    def _eval_interval(cls, value: Any) -> Any:
        ok = value in ("epoch", "auto") or (
            isinstance(value, int) and not isinstance(value, bool) and value >= 1
        )
        if not ok:
            raise ValueError("must be 'epoch', 'auto' or a number of optimizer steps >= 1")
        return value

    def decision_rule_options(self) -> dict[str, Any] | None:
        """:meth:`acsa.evaluation.decision.DecisionRule.fit`'s options (``None`` when
        ``decision_thresholds`` is off); the network's rule and the blend's share them."""
        if not self.decision_thresholds:
            return None
        return {
            "min_mentions": self.threshold_min_mentions,
            "cv_folds": self.threshold_cv_folds,
            "margin": self.threshold_margin,
        }


AUTO_EVALUATIONS = 10
"""Evaluations over a run with ``training.eval_every: auto``."""


class OutputConfig(BaseModel):
    """Where a run writes, and what to do when that folder already holds a run."""

    model_config = _STRICT

    dir: Path = Path("runs/acsa")
    overwrite: bool = False


class AcsaConfig(BaseModel):
    """A whole run: data, model, loss, training and output sections."""

    model_config = _STRICT

    data: DataConfig
    model: ModelConfig = Field(default_factory=OfflineModelConfig)
    loss: LossConfig = Field(default_factory=LossConfig)
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)

    @field_validator("model", mode="before")
    @classmethod
    def _default_encoder(cls, value: Any) -> Any:
        # An empty or encoder-less model section means the offline default.
        if value is None:
            return {"encoder": "offline"}
        if isinstance(value, dict) and "encoder" not in value:
            return {"encoder": "offline", **value}
        return value

    @model_validator(mode="after")
    def _check_loss(self) -> AcsaConfig:
        problem = check_loss_config(self.loss, self)
        if problem is not None:
            path, detail = problem
            raise PydanticCustomError(
                "acsa_loss", "{path}: {detail}", {"path": path, "detail": detail}
            )
        return self

    @model_validator(mode="after")
    def _check_tfidf_scheme(self) -> AcsaConfig:
        if self.model.encoder == "tfidf" and self.data.label_scheme != "with_none":
            raise PydanticCustomError(
                "acsa_key",
                "{path}: {detail}",
                {
                    "path": "data.label_scheme",
                    "detail": "encoder tfidf predicts the four classes none, negative, neutral, "
                    "positive; use label_scheme: with_none (seed is for the neural encoders)",
                },
            )
        return self

    @model_validator(mode="after")
    def _check_self_training(self) -> AcsaConfig:
        from acsa.training.self_training_config import check_sections

        pretraining = self.training.pretraining
        on = pretraining is not None and pretraining.enabled
        problem = check_sections(self.data.unlabeled, self.training.self_training, on)
        if problem is None and on and self.model.encoder != "offline":
            problem = (
                "training.pretraining.method",
                f"pre-trains the offline encoder's embeddings; model.encoder is "
                f"{self.model.encoder}: set method: none or encoder: offline",
            )
        if problem is not None:
            raise PydanticCustomError(
                "acsa_key", "{path}: {detail}", {"path": problem[0], "detail": problem[1]}
            )
        return self

    def to_yaml_dict(self) -> dict[str, Any]:
        """Plain data for writing the resolved config back to YAML (the optional
        ``data.unlabeled``, ``training.self_training`` and ``training.pretraining`` only
        when set, so a run without them writes the same file as before they existed)."""
        raw = self.model_dump(mode="json", exclude_none=False)
        if raw["data"].get("unlabeled") is None:
            raw["data"].pop("unlabeled", None)
        if raw["training"].get("self_training") is None:
            raw["training"].pop("self_training", None)
        if raw["training"].get("pretraining") is None:
            raw["training"].pop("pretraining", None)
        return raw


# ----------------------------------------------------------------------------
# loss checking


def _label_space(config: AcsaConfig) -> LabelSpace:
    """The config's label space; one stand-in aspect when the aspects come from the data."""
    return LabelSpace(tuple(config.data.aspects or ()) or ("aspect",), config.data.label_scheme)


def background_class(label_space: LabelSpace) -> int:
    """The scheme class an unmentioned aspect gets: ``none`` (with_none), ``neutral`` (seed)."""
    return int(label_space.to_scheme(np.asarray(NONE)))


def build_configured_loss(
    config: AcsaConfig, class_counts: torch.Tensor | None = None
) -> nn.Module:
    """The run's objective (a :class:`acsa.losses.CombinedLoss`) for ``config``.

    ``class_counts`` are the training label counts ``[A, C]`` in the scheme's
    classes; the losses that treat the class of an unmentioned aspect apart get it
    from the label scheme.
    """
    from acsa.losses import build_loss

    return build_loss(
        config.loss.to_build_config(),
        class_counts=class_counts,
        background_class=background_class(_label_space(config)),
    )


def check_loss_config(loss: LossConfig, config: AcsaConfig) -> tuple[str, str] | None:
    """Build the configured loss once; return ``(key path, problem)`` or ``None``.

    Building it is the only check that cannot drift from ``acsa.losses``: the
    registry decides which types and parameters exist, and its
    :class:`~acsa.losses.LossConfigError` says which key is wrong.
    """
    import torch

    from acsa.losses import LossConfigError, build_loss

    if loss.contrastive_weight > 0 and loss.contrastive is None:
        return "loss.contrastive_weight", (
            f"is {loss.contrastive_weight} but no 'contrastive:' block is given "
            "(add one, e.g. contrastive: {type: soft_contrastive}, or set contrastive_weight: 0)"
        )
    if loss.contrastive is not None and loss.contrastive_weight <= 0:
        return "loss.contrastive_weight", (
            "must be > 0 when a 'contrastive:' block is given (remove the block to train "
            "without the contrastive part)"
        )
    space = _label_space(config)
    # Uniform counts stand in for the training data, so that ``alpha: auto`` and
    # prior-based losses can be built before the data is read.
    counts = torch.ones(space.num_aspects, space.num_classes)
    parts = [("loss", loss.classification_params(), "classification")]
    contrastive = loss.contrastive_params()
    if contrastive is not None:
        parts.append(("loss.contrastive", contrastive, "contrastive"))
    for prefix, params, kind in parts:
        try:
            build_loss(params, counts, background_class=background_class(space), kind=kind)
        except LossConfigError as exc:
            where = f"{prefix}.{exc.key}" if exc.key else prefix
            return where, _problem_text(exc.problem, exc.allowed, exc.suggestion)
    return None


def _problem_text(problem: str, allowed: Sequence[Any] = (), suggestion: str | None = None) -> str:
    """``problem (allowed: a, b); did you mean 'x'?``, the parts present."""
    text = problem
    if allowed:
        text += f" (allowed: {', '.join(str(a) for a in allowed)})"
    if suggestion:
        text += f"; did you mean '{suggestion}'?"
    return text


def _unknown_key_text(key: str, allowed: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1)
    return _problem_text("unknown key", allowed, close[0] if close else None)


# ----------------------------------------------------------------------------
# loading


def set_dotted(raw: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``raw["a"]["b"] = value`` for ``dotted = "a.b"``, creating mappings on the way."""
    node = raw
    keys = dotted.split(".")
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[keys[-1]] = value


def flatten_dotted(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}, "c": 2}`` -> ``{"a.b": 1, "c": 2}`` (keys under ``prefix.`` if given).

    An empty mapping is a value, not a level, so it survives as ``{"a": {}}``.
    """
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            flat.update(flatten_dotted(value, path))
        else:
            flat[path] = value
    return flat


def apply_overrides(raw: dict[str, Any], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Apply ``{"training.epochs": 3, "output.dir": "runs/x"}`` style overrides in place.

    A nested dict value (``{"training": {"epochs": 3}}``) is merged key by key.
    ``None`` values are ignored, so CLI options left unset change nothing.
    """
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            for sub_key, sub_value in flatten_dotted(value, key).items():
                if sub_value is not None:
                    set_dotted(raw, sub_key, sub_value)
        else:
            set_dotted(raw, key, value)
    return raw


def read_config_mapping(path: Path) -> dict[str, Any]:
    """Read a YAML config file as a mapping of sections, or raise a one-line ConfigError."""
    path = Path(path)
    raw = read_yaml(path, what="config file", expected="a YAML config file")
    if raw is None:
        raise ConfigError(f"{path}: the config file is empty; see configs/quickstart.yaml")
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{path}: expected a mapping of sections (data, model, loss, training, output)"
        )
    return raw


def load_config(path: str | Path, overrides: Mapping[str, Any] | None = None) -> AcsaConfig:
    """Read, map (older shape) and validate a YAML config.

    Args:
        path: the YAML file.
        overrides: dotted keys applied after reading, e.g.
            ``{"training.epochs": 3, "output.dir": "runs/x", "data.dir": "..."}``.

    Raises:
        ConfigError: one line, ``<file>: <key path>: <problem>``.
    """
    from acsa.training.legacy import is_legacy_config, map_legacy_config

    path = Path(path)
    raw = read_config_mapping(path)
    if is_legacy_config(raw):
        try:
            raw, notice = map_legacy_config(raw)
        except ConfigError as exc:
            raise ConfigError(f"{path.name}: {exc}") from None
        logger.warning("%s: %s", path.name, notice)
    apply_overrides(raw, overrides)
    # Data paths in the file are relative to the file's folder, so a config
    # works from any current folder.
    return config_from_dict(raw, source=path.name, base_dir=path.resolve().parent)


def config_from_dict(
    raw: Mapping[str, Any], source: str = "config", base_dir: str | Path | None = None
) -> AcsaConfig:
    """Validate a plain dict; errors become one-line ConfigErrors prefixed by ``source``.

    The data paths come out absolute (:meth:`acsa.data.DataConfig.resolve_paths`):
    relative ones are taken against ``base_dir`` (default: the current folder).
    This is the one place they are resolved; the readers get them as they are.
    """
    try:
        config = AcsaConfig.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError(f"{source}: {format_validation_error(exc)}") from None
    config.data = config.data.resolve_paths(Path.cwd() if base_dir is None else Path(base_dir))
    return config


def format_validation_error(exc: ValidationError) -> str:
    """One line for the first error: ``training.learning_rate: must be > 0, got -0.1``."""
    errors = exc.errors(include_url=False)
    if not errors:
        return "invalid configuration"
    # A misspelt key ("traning") also makes the real one look missing; the
    # unknown key is the error the user can act on, so it is reported first.
    error = min(errors, key=lambda e: e.get("type") == "missing")
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind in ("acsa_loss", "acsa_key"):
        return f"{ctx['path']}: {ctx['detail']}"
    raw_loc = tuple(error.get("loc", ()))
    loc = _clean_loc(raw_loc)
    where = ".".join(str(part) for part in loc) or "config"
    got = error.get("input")
    if kind == "extra_forbidden":
        return f"{where}: {_unknown_key_text(str(loc[-1]), _allowed_keys(raw_loc[:-1]))}"
    if kind == "missing":
        return f"{where}: required key is missing"
    comparisons = {
        "greater_than": ("gt", ">"),
        "greater_than_equal": ("ge", ">="),
        "less_than": ("lt", "<"),
        "less_than_equal": ("le", "<="),
    }
    if kind in comparisons:
        key, sign = comparisons[kind]
        return f"{where}: must be {sign} {_num(ctx.get(key))}, got {_num(got)}"
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace(" or ", ", ")
        return f"{where}: must be one of {expected}, got {got!r}"
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    message = message[:1].lower() + message[1:]
    if isinstance(got, (dict, list)):
        return f"{where}: {message}"
    return f"{where}: {message}, got {got!r}"


def _clean_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    # Pydantic puts union member tags ("offline", "function-after[...]", "bool")
    # into locations; they mean nothing to a user editing YAML.
    noise = {"bool", "str", "int", "float", "literal['auto']", *_MODEL_TAGS}
    return tuple(
        part for part in loc if not (isinstance(part, str) and ("[" in part or part in noise))
    )


def _num(value: Any) -> Any:
    return f"{value:g}" if isinstance(value, float) else value


def _allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the (nested) model at ``loc``, for 'unknown key' messages."""
    model: Any = AcsaConfig
    for part in loc:
        if isinstance(part, int):
            continue
        if part in _MODEL_TAGS:
            model = _MODEL_TAGS[part]
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return []
        model = _model_in(field.annotation)
        if model is None:
            return []
    return list(getattr(model, "model_fields", {}))


def _model_in(annotation: Any) -> Any:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def dump_config(config: AcsaConfig, path: Path) -> None:
    """Write the resolved config as YAML (utf-8), readable by :func:`load_config`."""
    text = yaml.safe_dump(config.to_yaml_dict(), sort_keys=False, allow_unicode=True)
    Path(path).write_text(text, encoding="utf-8")

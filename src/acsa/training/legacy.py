"""Read configs written for the older training scripts (a ``multi_label:`` block).

Those files mix Hugging Face ``TrainingArguments`` names (``training:``),
file paths (``paths:``), the model (``model:``), the aspect list
(``valid_aspects:``), label spellings to accept (``label_aliases:``, e.g.
``{Posititve: Positive}``, new here: the older scripts had no place for them)
and the loss choice (``multi_label:``). This module maps
what has a counterpart here and lists what it ignores in a one-line notice,
so an old config keeps working and nothing is dropped silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

LEGACY_KEY = "multi_label"

# older loss_type -> acsa.losses type
_LOSS_TYPES = {"focal": "focal", "ghm": "ghm", "unified": "unified_focal", "ce": "cross_entropy"}

# training: key in the older files -> training: key here
_TRAINING_KEYS = {
    "num_train_epochs": "epochs",
    "per_device_train_batch_size": "batch_size",
    "per_device_eval_batch_size": "eval_batch_size",
    "learning_rate": "learning_rate",
    "weight_decay": "weight_decay",
    "warmup_ratio": "warmup_ratio",
    "lr_scheduler_type": "scheduler",
    "max_grad_norm": "max_grad_norm",
    "gradient_accumulation_steps": "gradient_accumulation_steps",
    "early_stopping_patience": "early_stopping_patience",
    "save_total_limit": "save_total_limit",
    "logging_steps": "logging_steps",
    "seed": "seed",
    "dataloader_num_workers": "num_workers",
}


# every multi_label: key the older scripts read; a near miss is a typo, not an extra
_LEGACY_LOSS_KEYS = (
    "loss_type",
    "focal_gamma",
    "focal_alpha",
    "ghm_bins",
    "ghm_momentum",
    "unified_weight",
    "unified_delta",
    "unified_gamma",
    "classification_weight",
    "focal_weight",
    "contrastive_weight",
    "use_contrastive",
    "contrastive_temperature",
    "contrastive_base_weight",
    "contrastive_type",
)


def _reject_misspelt_keys(block: dict[str, Any]) -> None:
    """ConfigError for a leftover key that is a near miss of a known one (``ghm_momentun``).

    Ignoring it would train with the default value the user meant to change.
    """
    import difflib

    from acsa.errors import ConfigError

    for key in block:
        if key in _LEGACY_LOSS_KEYS:
            continue
        close = difflib.get_close_matches(str(key), _LEGACY_LOSS_KEYS, n=1, cutoff=0.8)
        if close:
            raise ConfigError(
                f"{LEGACY_KEY}.{key}: unknown key; did you mean '{close[0]}'? "
                "(fix the spelling, or remove the key)"
            )


def is_legacy_config(raw: dict[str, Any]) -> bool:
    """True for a config in the older scripts' shape."""
    return isinstance(raw, dict) and LEGACY_KEY in raw


def _number(value: Any) -> Any:
    # The older files sometimes quote numbers ("1e-5"); YAML 1.1 also reads
    # "1e-5" without a dot as a string.
    if isinstance(value, str):
        try:
            return float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            return value
    return value


def map_legacy_config(raw: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """Map an older-shape config to the current sections.

    Returns:
        ``(new_raw, notice)``: the mapped dict (validated afterwards like any
        config) and one line saying what was mapped and what was ignored.
    """
    ignored: list[str] = []
    ml = dict(raw.get(LEGACY_KEY) or {})
    out: dict[str, Any] = {"data": {}, "model": {}, "loss": {}, "training": {}, "output": {}}

    # -- loss
    loss_type = str(ml.pop("loss_type", "focal"))
    mapped_type = _LOSS_TYPES.get(loss_type, loss_type)
    loss: dict[str, Any] = {"type": mapped_type}
    focal_gamma = ml.pop("focal_gamma", None)
    focal_alpha = ml.pop("focal_alpha", None)
    bins = ml.pop("ghm_bins", None)
    momentum = ml.pop("ghm_momentum", None)
    if mapped_type == "focal":
        if focal_gamma is not None:
            loss["gamma"] = _number(focal_gamma)
        if focal_alpha is not None:
            loss["alpha"] = focal_alpha
    elif mapped_type == "ghm":
        if bins is not None:
            loss["bins"] = _number(bins)
        if momentum is not None:
            loss["momentum"] = _number(momentum)
    if mapped_type != "focal":
        ignored.extend(
            f"{LEGACY_KEY}.{k}"
            for k, v in (("focal_gamma", focal_gamma), ("focal_alpha", focal_alpha))
            if v is not None
        )
    if mapped_type != "ghm":
        ignored.extend(
            f"{LEGACY_KEY}.{k}"
            for k, v in (("ghm_bins", bins), ("ghm_momentum", momentum))
            if v is not None
        )
    for key in ("unified_weight", "unified_delta", "unified_gamma"):
        if key in ml and mapped_type == "unified_focal":
            loss[key.removeprefix("unified_")] = _number(ml.pop(key))
    cls_weight = ml.pop("classification_weight", None)
    focal_weight = ml.pop("focal_weight", None)
    weight = cls_weight if cls_weight is not None else focal_weight
    con_weight = _number(ml.pop("contrastive_weight", 0.0)) or 0.0
    use_contrastive = ml.pop("use_contrastive", None)
    temperature = ml.pop("contrastive_temperature", None)
    base_weight = ml.pop("contrastive_base_weight", None)
    ml.pop("contrastive_type", None)
    if use_contrastive is False:
        con_weight = 0.0
    if con_weight > 0:
        contrastive: dict[str, Any] = {"type": "soft_contrastive"}
        if temperature is not None:
            contrastive["temperature"] = _number(temperature)
        if base_weight is not None:
            contrastive["base_weight"] = _number(base_weight)
        loss["contrastive"] = contrastive
        loss["contrastive_weight"] = con_weight
    if weight is not None:
        loss["classification_weight"] = _number(weight)
    _reject_misspelt_keys(ml)
    ignored.extend(f"{LEGACY_KEY}.{k}" for k in ml)
    out["loss"] = loss

    # -- training
    training_in = dict(raw.get("training") or {})
    for old, new in _TRAINING_KEYS.items():
        if old in training_in:
            out["training"][new] = _number(training_in.pop(old))
    if training_in.pop("fp16", False):
        out["training"]["precision"] = "auto"
    if training_in.pop("bf16", False):
        out["training"]["precision"] = "bf16"
    general = dict(raw.get("general") or {})
    if "seed" in general and "seed" not in out["training"]:
        out["training"]["seed"] = _number(general.pop("seed"))
    ignored.extend(f"training.{k}" for k in training_in)
    ignored.extend(f"general.{k}" for k in general if k != "seed")

    # -- model
    model_in = dict(raw.get("model") or {})
    name = model_in.pop("name", None)
    model: dict[str, Any] = {}
    head: dict[str, Any] = {}
    if name:
        model = {"encoder": "huggingface", "name_or_path": str(name)}
        if "max_length" in model_in:
            model["max_length"] = _number(model_in.pop("max_length"))
    if "hidden_size" in model_in:
        head["hidden_dim"] = _number(model_in.pop("hidden_size"))
    if "projection_dim" in model_in:
        head["projection_dim"] = _number(model_in.pop("projection_dim"))
    if "dropout" in model_in:
        head["dropout"] = _number(model_in.pop("dropout"))
    if head:
        model["head"] = head
    # derived from the aspects and the scheme here
    for key in ("num_labels", "num_aspects", "num_sentiments"):
        model_in.pop(key, None)
    ignored.extend(f"model.{k}" for k in model_in)
    out["model"] = model

    # -- data
    data: dict[str, Any] = {}
    paths = dict(raw.get("paths") or {})
    for old, new in (
        ("train_file", "train"),
        ("validation_file", "validation"),
        ("test_file", "test"),
    ):
        if old in paths:
            data[new] = Path(str(paths.pop(old))).name if "data_dir" in paths else paths.pop(old)
    if "data_dir" in paths:
        data["dir"] = paths.pop("data_dir")
    if "output_dir" in paths:
        out["output"]["dir"] = paths.pop("output_dir")
    ignored.extend(f"paths.{k}" for k in paths)
    aspects = raw.get("valid_aspects")
    if aspects:
        data["aspects"] = list(aspects)
    if "sentiment_labels" in raw:
        # The older scripts had no "none" class: an empty cell was Neutral.
        data["label_scheme"] = "seed"
    if raw.get("label_aliases"):
        # the older shape had no place for them: a top-level key beside valid_aspects
        data["label_aliases"] = dict(raw["label_aliases"])
    out["data"] = data

    known = {
        LEGACY_KEY,
        "training",
        "general",
        "model",
        "paths",
        "valid_aspects",
        "sentiment_labels",
        "label_aliases",
    }
    # Sections already in the current shape (e.g. a data: block added by hand) win.
    for section in ("data", "output"):
        if isinstance(raw.get(section), dict):
            out[section].update(raw[section])
    ignored.extend(k for k in raw if k not in known and k not in ("data", "output"))

    out = {k: v for k, v in out.items() if v or k == "data"}
    summary = f"loss {mapped_type}" + (
        f" + contrastive (weight {con_weight})" if con_weight > 0 else ""
    )
    notice = f"older config shape ('{LEGACY_KEY}:' block) mapped to the current schema ({summary})"
    if ignored:
        shown = ", ".join(ignored[:8]) + (
            f", and {len(ignored) - 8} more" if len(ignored) > 8 else ""
        )
        notice += f"; ignored: {shown}"
    return out, notice

"""The variants file of ``acsa compare``: which configurations to compare, and their configs.

Format::

    epochs: 8            # optional default budget for every variant
    baseline: focal      # optional, overridden by --baseline
    overrides:           # optional, applied to the base config for every variant
      model.hidden_size: 64
    variants:
      - name: focal
        loss: {type: focal, gamma: 2.0}
      - name: ce
        loss: {type: cross_entropy}
      - name: tfidf      # any other config key, dotted or nested
        overrides: {model.encoder: tfidf}

A variant's ``loss:`` replaces the base config's ``loss:`` section as a
whole (merging two loss types' options would mix keys that only one of them
accepts). A variant's ``overrides:`` set any other config key (not ``loss``,
``output`` or ``training.seed``), checked by the config schema before anything
runs; one that changes ``model.encoder`` replaces the ``model:`` section by the
variant's ``model.*`` keys, for the same reason. Every variant names a
``loss:``, ``overrides:`` or both. Comparison runs fit no TF-IDF baseline
beside each run (``training.baseline: false``): a ``tfidf`` variant is the
way to compare with it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acsa.errors import ArgumentError, ConfigError
from acsa.files import read_yaml

if TYPE_CHECKING:
    from acsa.training.config import AcsaConfig

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
_TOP_KEYS = {"variants", "epochs", "baseline", "description", "overrides"}
# owned by the harness (seed, output folder) or by each variant (loss)
_RESERVED_OVERRIDES = ("loss", "output", "training.seed")
_VARIANT_KEYS = {"name", "loss", "overrides", "description"}


@dataclass(frozen=True)
class Variant:
    """One configuration under comparison: a name, the ``loss:`` section it trains with
    (empty: the base config's) and other config keys it sets (dotted)."""

    name: str
    loss: dict[str, Any]
    description: str = ""
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VariantsFile:
    """A parsed variants YAML file."""

    variants: tuple[Variant, ...]
    epochs: int | None = None
    baseline: str | None = None
    source: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    def names(self) -> list[str]:
        return [v.name for v in self.variants]


def load_variants(path: str | Path) -> VariantsFile:
    """Read and validate a variants file (format in the module docstring).

    Unknown keys raise :class:`ConfigError`; the content of each ``loss:`` is
    checked by the config schema (:func:`validate_variants`) before anything runs.
    """
    path = Path(path)
    data = read_yaml(path, what="variants file", expected="a YAML variants file")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with a 'variants' list")
    _reject_unknown_keys(data, _TOP_KEYS, str(path))
    raw = data.get("variants")
    if isinstance(raw, dict):
        raw = [{"name": k, **(v or {})} if isinstance(v, dict) else v for k, v in raw.items()]
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{path}: 'variants' must be a non-empty list of {{name, loss}} entries")
    variants: list[Variant] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw):
        variants.append(_variant(entry, f"{path}: variants[{i}]", seen))
    epochs = data.get("epochs")
    if epochs is not None and (
        not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1
    ):
        raise ConfigError(f"{path}: epochs: expected a positive integer, got {epochs!r}")
    baseline = data.get("baseline")
    if baseline is not None and baseline not in seen:
        raise ConfigError(
            f"{path}: baseline {baseline!r} is not one of the variants {sorted(seen)}"
        )
    overrides = _shared_overrides(data.get("overrides"), path)
    return VariantsFile(tuple(variants), epochs, baseline, path, overrides)


def _reject_unknown_keys(
    mapping: dict[str, object], allowed: set[str], where: str, hint: str = ""
) -> None:
    """A one-line ConfigError naming the first key of ``mapping`` not in ``allowed``."""
    unknown = sorted(set(mapping) - allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(allowed))}"
            + hint
        )


def _variant(entry: object, where: str, seen: set[str]) -> Variant:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping with 'name' and 'loss'")
    _reject_unknown_keys(
        entry,
        _VARIANT_KEYS,
        where,
        " (loss options go under 'loss:', other config keys under 'overrides:')",
    )
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ConfigError(
            f"{where}.name: {name!r} is not a valid name (letters, digits, '_', '-', '.', '+')"
        )
    if name in seen:
        raise ConfigError(f"{where}.name: duplicate variant name {name!r}")
    seen.add(name)
    loss = entry.get("loss")
    overrides = _overrides(entry.get("overrides"), f"{where}.overrides")
    if loss is None and not overrides:
        raise ConfigError(
            f"{where}.loss: missing; give a 'loss:' section, 'overrides:' of other config "
            "keys, or both"
        )
    if loss is not None and (not isinstance(loss, dict) or not loss):
        raise ConfigError(f"{where}.loss: expected a mapping such as {{type: focal, gamma: 2}}")
    return Variant(name, dict(loss or {}), str(entry.get("description") or ""), overrides)


def _overrides(raw: object, where: str) -> dict[str, Any]:
    """Dotted config keys -> values, without the keys the harness or ``loss:`` own."""
    from acsa.training.config import flatten_dotted

    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a mapping of config keys to values")
    flat = flatten_dotted(raw)
    for key in flat:
        if any(key == r or key.startswith(r + ".") for r in _RESERVED_OVERRIDES):
            raise ArgumentError(
                "{where}.{key}: not allowed here (a variant's loss goes under 'loss:'; "
                "seeds and output folders belong to {seeds} and {output_dir})",
                where=where,
                key=key,
            )
    return flat


def _shared_overrides(raw: object, path: Path) -> dict[str, Any]:
    return _overrides(raw, f"{path}: overrides")


def variant_config(
    config_path: Path,
    variant: Variant,
    seed: int | None = None,
    output_dir: Path | None = None,
    epochs: int | None = None,
    data_dir: str | Path | None = None,
    common: Mapping[str, Any] | None = None,
) -> AcsaConfig:
    """The base config with the shared ``common`` overrides, the variant's ``loss:``
    section and overrides, the seed, the budget and the output folder; no TF-IDF
    baseline beside the run (the comparison compares the variants)."""
    from acsa.training.config import apply_overrides, config_from_dict, load_config

    overrides: dict[str, Any] = dict(common or {})
    overrides |= {
        "training.seed": seed,
        "training.epochs": epochs,
        # the comparison's epochs are every run's budget: min_steps must not raise them
        "training.min_steps": 0 if epochs is not None else None,
        "training.baseline": False,
        "data.dir": str(data_dir) if data_dir is not None else None,
    }
    if output_dir is not None:
        # a rerun after a crash replaces the partial run in the same folder
        overrides.update({"output.dir": str(output_dir), "output.overwrite": True})
    # load_config resolves paths and maps older config shapes; the loss is then
    # replaced as a whole, since merging two loss types' keys would be invalid
    base = load_config(config_path, overrides)
    raw = base.model_dump(mode="python")
    if variant.loss:
        raw["loss"] = dict(variant.loss)
    encoder = variant.overrides.get("model.encoder")
    if encoder is not None and encoder != raw["model"].get("encoder"):
        # another encoder's options would be unknown keys: the variant's model.* only
        raw["model"] = {}
    apply_overrides(raw, variant.overrides)
    return config_from_dict(raw, source=f"{config_path} (variant {variant.name!r})")


def validate_variants(
    config_path: Path,
    variants: Sequence[Variant],
    epochs: int | None,
    data_dir: str | Path | None,
    common: Mapping[str, Any] | None = None,
) -> None:
    """Build every variant's config before anything trains (ConfigError, one line)."""
    for v in variants:
        variant_config(config_path, v, epochs=epochs, data_dir=data_dir, common=common)

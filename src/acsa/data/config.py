"""The ``data:`` section of the YAML config.

Example::

    data:
      dir: ../shared/data/vi-smartphone-reviews
      train: train.csv
      validation: validation.csv   # omit to split train (validation_fraction, split_seed)
      test: test.csv
      label_aliases: {Posititve: Positive}
      # aspects: [Battery, Camera]   # omit: taken from the training file

Labels in one column (``format: label_column``)::

    data:
      format: label_column
      text_column: Content
      label_column: Polarity          # "QUALITY: Positive, SHIPPING: Positive"
      pair_separator: ","
      aspect_separator: ":"

When ``aspects`` is not set they are taken from the training file (see
:func:`acsa.data.resolve_aspects`): a wide CSV's columns other than the text
column and ``ignore_columns``, in file order; for the label formats the
aspects its labels name, sorted by name ignoring case.

Relative file paths are resolved against ``dir`` when it is set, else against
the folder of the config file (see :meth:`DataConfig.resolve_paths`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from acsa.data.label_space import POLARITIES, LabelScheme, LabelSpace
from acsa.errors import ConfigError, DataError

Polarity = Literal["negative", "neutral", "positive"]

UNLABELED_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".txt": "txt", ".parquet": "parquet"}
"""``data.unlabeled`` suffix -> format (read by :mod:`acsa.data.unlabeled`)."""


def _default_label_names() -> dict[str, str]:
    return {"negative": "Negative", "neutral": "Neutral", "positive": "Positive"}


class DataConfig(BaseModel):
    """Where the data lives, how it is spelled and what to do with its defects."""

    model_config = ConfigDict(extra="forbid")

    dir: Path | None = Field(
        default=None, description="base folder for relative file paths (else the config's folder)"
    )
    train: Path | None = Field(default=None, description="training file (.csv, .jsonl, .json)")
    validation: Path | None = Field(
        default=None, description="validation file; when absent, a stratified split of train"
    )
    test: Path | None = Field(default=None, description="test file (optional)")
    unlabeled: Path | None = Field(
        default=None,
        description="unlabelled reviews for training.self_training (.csv, .jsonl, .txt, "
        ".parquet; read streamed; label columns in it are ignored)",
    )
    validation_fraction: float = Field(default=0.1, gt=0.0, lt=1.0)
    split_seed: int = Field(default=42, ge=0)
    format: Literal["auto", "wide_csv", "label_list", "label_column", "label_studio"] = Field(
        default="auto",
        description="auto: .csv -> wide_csv, .jsonl/.json -> label_list; label_column: a CSV "
        "whose labels are 'ASPECT: Polarity' pairs in one column; label_studio: .json files are "
        "Label Studio JSON exports, other files are read by their suffix",
    )
    text_column: str = Field(
        default="data", min_length=1, description="text column (wide CSV, label column)"
    )
    text_key: str = Field(default="text", min_length=1, description="text key (label list)")
    labels_key: str = Field(default="labels", min_length=1, description="labels key (label list)")
    label_column: str = Field(
        default="labels", min_length=1, description="column holding the labels (label column)"
    )
    pair_separator: str = Field(
        default=",", min_length=1, description="between two labels in one cell (label column)"
    )
    aspects: list[str] | None = Field(
        default=None,
        min_length=1,
        description="aspect names; omit to take them from the training file",
    )
    ignore_columns: list[str] = Field(
        default_factory=list,
        description="wide CSV columns that are neither the text nor an aspect (e.g. an id)",
    )
    label_scheme: LabelScheme = "with_none"
    label_names: dict[Polarity, str] = Field(default_factory=_default_label_names)
    label_aliases: dict[str, str] = Field(default_factory=dict)
    missing_values: list[str] = Field(
        default_factory=list, description="cell values meaning 'label unknown' (mask False)"
    )
    conflict_policy: Literal["error", "skip", "first", "map"] = "error"
    conflict_label: Polarity | None = None
    aspect_separator: str = Field(
        default="#", min_length=1, description="between aspect and polarity in one label"
    )
    malformed_labels: Literal["error", "skip"] = Field(
        default="error",
        description="a label without aspect or polarity (label list, label column): error, or "
        "skip it (counted and reported; its aspect's label becomes unknown)",
    )
    duplicates: Literal["warn", "drop", "error"] = "warn"
    max_text_chars: int = Field(default=10_000, ge=1)
    extra_columns: Literal["error", "ignore"] = "error"
    word_segmentation: str = Field(
        default="none",
        description="Vietnamese word segmenter applied to every text at train and predict time "
        "(none, pyvi, underthesea; saved with the model): PhoBERT-family encoders expect it",
    )

    @field_validator("unlabeled")
    @classmethod
    def _check_unlabeled(cls, path: Path | None) -> Path | None:
        if path is not None and Path(path).suffix.lower() not in UNLABELED_FORMATS:
            raise ValueError(
                f"{Path(path).name}: unknown format {Path(path).suffix or '(no suffix)'!r}; "
                f"data.unlabeled takes {', '.join(UNLABELED_FORMATS)} files"
            )
        return path

    @field_validator("word_segmentation")
    @classmethod
    def _check_word_segmentation(cls, name: str) -> str:
        from acsa.data.segmentation import check_name

        return check_name(name)

    @field_validator("aspects")
    @classmethod
    def _check_aspects(cls, aspects: list[str] | None) -> list[str] | None:
        if aspects is None:
            return None
        seen: dict[str, str] = {}
        for name in aspects:
            if not name.strip():
                raise ValueError("aspect names must not be empty")
            key = name.strip().casefold()
            if key in seen:
                raise ValueError(
                    f"aspect {name!r} is listed twice (aspect names are compared ignoring case)"
                )
            seen[key] = name
        return [a.strip() for a in aspects]

    @field_validator("label_names")
    @classmethod
    def _check_label_names(cls, names: dict[str, str]) -> dict[str, str]:
        missing = [p for p in POLARITIES if p not in names]
        if missing:
            raise ValueError(
                f"label_names needs a spelling for each of {', '.join(POLARITIES)}; "
                f"missing: {', '.join(missing)}"
            )
        spellings = [names[p] for p in POLARITIES]
        if any(not s.strip() for s in spellings):
            raise ValueError("label_names spellings must not be empty")
        if len(set(spellings)) != len(spellings):
            raise ValueError(f"label_names spellings must differ, got {spellings}")
        return {p: names[p] for p in POLARITIES}

    @model_validator(mode="after")
    def _check_cross_fields(self) -> DataConfig:
        spellings = set(self.label_names.values())
        targets = spellings | set(POLARITIES) | {"none"}
        for alias, target in self.label_aliases.items():
            if target not in targets:
                raise ValueError(
                    f"label_aliases maps {alias!r} to {target!r}, which is not a label; "
                    f"use one of {', '.join(sorted(spellings))} or none"
                )
            if alias in spellings:
                raise ValueError(f"label_aliases key {alias!r} is already a label spelling")
        clash = spellings & set(self.missing_values)
        if clash:
            raise ValueError(f"missing_values must not contain label spellings: {sorted(clash)}")
        if self.conflict_policy == "map" and self.conflict_label is None:
            raise ValueError(
                "conflict_policy 'map' needs conflict_label (negative, neutral or positive)"
            )
        if self.pair_separator == self.aspect_separator:
            raise ValueError(
                f"pair_separator and aspect_separator are both {self.pair_separator!r}; "
                "they must differ (e.g. ',' between labels and ':' inside one)"
            )
        if self.aspects is not None:
            ignored = {c.strip().casefold() for c in self.ignore_columns}
            both = [a for a in self.aspects if a.casefold() in ignored]
            if both:
                raise ValueError(f"aspects {both} are also listed in ignore_columns")
        return self

    @property
    def label_space(self) -> LabelSpace:
        """The label space of these aspects under ``label_scheme``.

        Raises:
            ConfigError: ``aspects`` is not set yet; fill it from the training
                file with :func:`acsa.data.resolve_aspects` first.
        """
        if self.aspects is None:
            raise ConfigError(
                "data.aspects: not resolved yet; call acsa.data.resolve_aspects(config, base) "
                "to take them from the training file, or list them in the config"
            )
        return LabelSpace(tuple(self.aspects), self.label_scheme)

    def resolve_paths(self, base: Path) -> DataConfig:
        """Return a copy whose file paths are absolute.

        ``dir`` (if relative) is resolved against ``base`` (normally the config
        file's folder); the files are resolved against ``dir`` when it is set,
        else against ``base``. ``~`` is expanded.
        """
        base = Path(base).expanduser()
        root = base if self.dir is None else _join(base, self.dir)
        update: dict[str, Path | None] = {"dir": None if self.dir is None else root}
        for key in ("train", "validation", "test", "unlabeled"):
            value = getattr(self, key)
            update[key] = None if value is None else _join(root, value)
        return self.model_copy(update=update)


def _join(base: Path, path: Path) -> Path:
    path = Path(path).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def data_dir_override(path: str | Path) -> Path:
    """A data folder given on top of a config (``acsa train --data-dir``, a comparison):
    absolute, taken relative to the current folder (unlike paths in a config file).

    Raises:
        DataError: ``path`` is not a folder.
    """
    folder = Path(path).expanduser().resolve()
    if not folder.is_dir():
        raise DataError(f"data.dir: {folder} is not a folder; give the folder of the data files")
    return folder

"""Loading all splits, splitting off validation, and the data report.

:func:`load_splits` is what training calls; :func:`validate_splits` builds the
:class:`DataReport` that ``acsa validate-data`` prints (label counts per split
and aspect, duplicated texts, texts shared between splits, dropped rows,
skipped labels, aspects never mentioned in training). :func:`resolve_aspects`
fills ``data.aspects`` from the training file when the config leaves it out.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from acsa.data.config import DataConfig
from acsa.data.label_space import NONE
from acsa.data.readers import detect_format, file_aspects, load_split
from acsa.data.reviews import (
    DroppedRow,
    LabeledReviews,
    SkippedLabel,
    duplicate_groups,
    skipped_labels_line,
    text_key,
)
from acsa.errors import ConfigError, DataError

if TYPE_CHECKING:
    from rich.console import Group, RenderableType
    from rich.table import Table

logger = logging.getLogger("acsa.data")

COUNT_COLUMNS: tuple[str, ...] = ("none", "negative", "neutral", "positive", "missing")
SPLIT_ORDER: tuple[str, ...] = ("train", "validation", "test")


@dataclass
class SplitReport:
    """Statistics of one split.

    Attributes:
        counts: ``int64 [A, 5]``: cells per aspect labelled none, negative,
            neutral, positive, and missing (mask False).
        duplicates: rows of each group of texts that occur more than once
            (whitespace runs collapsed before comparing).
        exact_duplicates: how many of those groups are character-for-character copies.
    """

    name: str
    source: str
    num_reviews: int
    aspects: tuple[str, ...]
    counts: np.ndarray
    duplicates: list[list[int]] = field(default_factory=list)
    exact_duplicates: int = 0
    dropped: list[DroppedRow] = field(default_factory=list)
    skipped_labels: list[SkippedLabel] = field(default_factory=list)
    note: str = ""

    @property
    def unmentioned(self) -> list[str]:
        """Aspects with no cell labelled negative, neutral or positive in this split."""
        return [a for i, a in enumerate(self.aspects) if self.counts[i, 1:4].sum() == 0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "note": self.note,
            "num_reviews": self.num_reviews,
            "label_counts": {
                aspect: dict(zip(COUNT_COLUMNS, map(int, self.counts[i]), strict=True))
                for i, aspect in enumerate(self.aspects)
            },
            "duplicates": self.duplicates,
            "exact_duplicates": self.exact_duplicates,
            "dropped": [{"row": d.row, "reason": d.reason} for d in self.dropped],
            "skipped_labels": [
                {"row": s.row, "label": s.label, "reason": s.reason} for s in self.skipped_labels
            ],
            "unmentioned_aspects": self.unmentioned,
        }


@dataclass
class Overlap:
    """Texts present in two splits: ``rows`` holds (row in first, row in second) pairs."""

    first: str
    second: str
    rows: list[tuple[int, int]]

    def to_dict(self) -> dict[str, Any]:
        return {"first": self.first, "second": self.second, "rows": [list(p) for p in self.rows]}


@dataclass
class DataReport:
    """What :func:`validate_splits` found; print it with rich or dump :meth:`to_dict`."""

    splits: dict[str, SplitReport]
    overlaps: list[Overlap] = field(default_factory=list)

    def overlap(self, first: str, second: str) -> Overlap | None:
        for o in self.overlaps:
            if {o.first, o.second} == {first, second}:
                return o
        return None

    @property
    def warnings(self) -> list[str]:
        """One line per finding worth a user's attention."""
        lines: list[str] = []
        for split in self.splits.values():
            if split.duplicates:
                groups = ", ".join("/".join(map(str, g)) for g in split.duplicates[:5])
                more = ", ..." if len(split.duplicates) > 5 else ""
                texts = len(split.duplicates)
                copies = split.exact_duplicates
                lines.append(
                    f"{split.name} ({split.source}): {plural(texts, 'text')} "
                    f"{'occurs' if texts == 1 else 'occur'} more than once "
                    f"({plural(copies, 'exact copy', 'exact copies')}), rows {groups}{more}"
                )
            reasons = Counter(d.reason.split(" of row")[0] for d in split.dropped)
            for reason, count in reasons.items():
                lines.append(f"{split.name}: {plural(count, 'review')} dropped ({reason})")
            if split.skipped_labels:
                lines.append(
                    skipped_labels_line(f"{split.name} ({split.source})", split.skipped_labels)
                )
        train = self.splits.get("train")
        if train is not None and train.unmentioned:
            lines.append(unmentioned_line(train))
        for o in self.overlaps:
            if o.rows:
                pairs = ", ".join(f"{a}/{b}" for a, b in o.rows[:5])
                verb = "occurs" if len(o.rows) == 1 else "occur"
                lines.append(
                    f"{plural(len(o.rows), 'text')} {verb} in both {o.first} and {o.second} "
                    f"(rows {pairs}{', ...' if len(o.rows) > 5 else ''})"
                )
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "splits": {name: s.to_dict() for name, s in self.splits.items()},
            "overlaps": [o.to_dict() for o in self.overlaps],
            "warnings": self.warnings,
        }

    def to_table(self) -> Table:
        """A ``rich.table.Table``: one row per split and aspect with the label counts."""
        from rich.table import Table

        table = Table(title="Label counts per split and aspect")
        table.add_column("split")
        table.add_column("aspect")
        for name in COUNT_COLUMNS:
            table.add_column(name, justify="right")
        for split in self.splits.values():
            for i, aspect in enumerate(split.aspects):
                first = i == 0
                table.add_row(
                    f"{split.name} ({split.num_reviews})" if first else "",
                    aspect,
                    *(str(int(c)) for c in split.counts[i]),
                    end_section=i == len(split.aspects) - 1,
                )
        return table

    def __rich__(self) -> Group:
        from rich.console import Group
        from rich.text import Text

        parts: list[RenderableType] = [self.to_table()]
        parts.extend(Text(f"warning: {line}") for line in self.warnings)
        return Group(*parts)


def label_counts(reviews: LabeledReviews) -> np.ndarray:
    """``int64 [A, 5]``: none, negative, neutral, positive and missing cells per aspect."""
    num_aspects = len(reviews.aspects)
    counts = np.zeros((num_aspects, len(COUNT_COLUMNS)), dtype=np.int64)
    for a in range(num_aspects):
        known = reviews.labels[:, a][reviews.mask[:, a]]
        counts[a, :4] = np.bincount(known, minlength=4)[:4]
        counts[a, 4] = int((~reviews.mask[:, a]).sum())
    return counts


def validate_splits(
    splits: dict[str, LabeledReviews], notes: dict[str, str] | None = None
) -> DataReport:
    """Label statistics, duplicates, overlaps between splits and dropped rows."""
    notes = notes or {}
    reports: dict[str, SplitReport] = {}
    for name, reviews in splits.items():
        groups = duplicate_groups(reviews.texts)
        exact = sum(1 for g in groups if len({reviews.texts[i] for i in g}) == 1)
        reports[name] = SplitReport(
            name=name,
            source=str(reviews.source),
            num_reviews=len(reviews),
            aspects=reviews.aspects,
            counts=label_counts(reviews),
            duplicates=[[reviews.rows[i] for i in g] for g in groups],
            exact_duplicates=exact,
            dropped=list(reviews.dropped),
            skipped_labels=list(reviews.skipped_labels),
            note=notes.get(name, ""),
        )
    overlaps: list[Overlap] = []
    for first, second in combinations(list(splits), 2):
        a, b = splits[first], splits[second]
        rows_of: dict[str, int] = {}
        for text, row in zip(a.texts, a.rows, strict=True):
            rows_of.setdefault(text_key(text), row)
        pairs = [
            (rows_of[text_key(t)], row)
            for t, row in zip(b.texts, b.rows, strict=True)
            if text_key(t) in rows_of
        ]
        overlaps.append(Overlap(first, second, pairs))
    return DataReport(reports, overlaps)


def split_train_validation(
    reviews: LabeledReviews, fraction: float, seed: int
) -> tuple[LabeledReviews, LabeledReviews]:
    """Split off a validation set, stratified on each review's rarest (aspect, label) pair.

    Deterministic for a given ``seed``. Reviews that mention no aspect share
    one stratum; strata with a single review are pooled.
    """
    from sklearn.model_selection import train_test_split

    n = len(reviews)
    if n < 2:
        raise DataError(
            f"{reviews.source}: {n} review(s), too few to split off a validation set; "
            "add reviews or set data.validation"
        )
    # copies of one text go to the same side, so validation never scores a training text
    group_of: dict[str, int] = {}
    groups = np.array([group_of.setdefault(text_key(t), len(group_of)) for t in reviews.texts])
    if len(group_of) < 2:
        raise DataError(
            f"{reviews.source}: all reviews have the same text, too few to split off a "
            "validation set; add reviews or set data.validation"
        )
    firsts = np.unique(groups, return_index=True)[1]
    keys = _strata(reviews.subset(firsts))
    n_groups = len(firsts)
    n_val = min(max(1, round(n_groups * fraction)), n_groups - 1)
    try:
        _, val_groups = train_test_split(
            np.arange(n_groups), test_size=n_val, random_state=seed, stratify=keys
        )
    except ValueError:
        # too few reviews per stratum for the requested size: fall back to a plain split
        _, val_groups = train_test_split(np.arange(n_groups), test_size=n_val, random_state=seed)
    is_val = np.isin(groups, val_groups)
    train_idx, val_idx = np.flatnonzero(~is_val), np.flatnonzero(is_val)
    train = reviews.subset(np.sort(train_idx))
    train.dropped = list(reviews.dropped)
    train.skipped_labels = list(reviews.skipped_labels)
    return train, reviews.subset(np.sort(val_idx))


def _strata(reviews: LabeledReviews) -> np.ndarray:
    num_aspects = len(reviews.aspects)
    mentioned = reviews.mask & (reviews.labels != NONE)
    pair_ids = np.where(mentioned, np.arange(num_aspects) * 4 + reviews.labels, -1)
    freq = Counter(pair_ids[mentioned].tolist())
    keys = np.full(len(reviews), -1, dtype=np.int64)
    for i, row in enumerate(pair_ids):
        present = row[row >= 0]
        if present.size:
            keys[i] = min(present.tolist(), key=lambda p: (freq[p], p))
    counts = Counter(keys.tolist())
    rare = [k for k, c in counts.items() if c < 2]
    if rare:
        pooled = -2 if len(rare) > 1 else counts.most_common(1)[0][0]
        keys[np.isin(keys, rare)] = pooled
    return keys


def unmentioned_line(train: SplitReport) -> str:
    """The warning for aspects that the training split never mentions."""
    names = ", ".join(repr(a) for a in train.unmentioned)
    return (
        f"train ({train.source}): aspect(s) {names} never mentioned (no negative, neutral or "
        "positive label); the model can only learn to predict none for them"
    )


def _resolved_paths(data_config: DataConfig, base_dir: Path | str | None) -> DataConfig:
    """The config to read from: its paths resolved against ``base_dir``, or as they are
    when ``base_dir`` is None (a config from :func:`acsa.training.load_config` has
    absolute paths already)."""
    config = data_config if base_dir is None else data_config.resolve_paths(Path(base_dir))
    if config.train is None:
        raise ConfigError("data.train: missing; set it to the training file (.csv or .jsonl)")
    return config


def resolve_aspects(data_config: DataConfig, base_dir: Path | str | None = None) -> DataConfig:
    """``data_config`` with ``aspects`` filled from the training file when it is not set.

    A wide CSV's aspects are its columns other than ``text_column`` and
    ``ignore_columns``, in file order; validation and test must have the same
    ones (in any order). For the label formats they are the aspects that the
    training labels name, sorted ignoring case; validation and test may name
    fewer but no others. Paths stay as written (relative ones are resolved
    against ``base_dir``, when given, only to read the files), so the result can be written
    back into a run's ``config.yaml``. A config that lists its aspects is
    returned unchanged, without reading anything.

    Raises:
        DataError: a file is unreadable, names no aspect, or its aspects differ
            from the training file's (one line naming both files and the aspects).
        ConfigError: ``data.train`` is not set.
    """
    if data_config.aspects is not None:
        return data_config
    config = _resolved_paths(data_config, base_dir)
    assert config.train is not None
    train_aspects = file_aspects(config.train, config)
    if not train_aspects:
        raise DataError(
            f"{config.train}: no review has a label, so the aspects cannot be taken from it; "
            "list them in data.aspects"
        )
    wide = detect_format(config.train, config) == "wide_csv"
    train_keys = {a.casefold(): a for a in train_aspects}
    for split in ("validation", "test"):
        path = getattr(config, split)
        if path is None:
            continue
        found = {a.casefold(): a for a in file_aspects(path, config)}
        extra = [a for k, a in found.items() if k not in train_keys]
        missing = [a for k, a in train_keys.items() if k not in found] if wide else []
        if not extra and not missing:
            continue
        parts = []
        if missing:
            parts.append("missing " + ", ".join(repr(a) for a in missing))
        if extra:
            parts.append("not in train " + ", ".join(repr(a) for a in extra))
        what = "aspect columns" if wide else "labelled aspects"
        fix = (
            "give every split the same aspect columns (list columns that hold no labels in "
            "data.ignore_columns)"
            if wide
            else "fix the labels, or list every aspect in data.aspects (an aspect absent "
            "from training is allowed then)"
        )
        raise DataError(
            f"{path}: its {what} differ from the training file {config.train} "
            f"({'; '.join(parts)}); {fix}"
        )
    return data_config.model_copy(update={"aspects": list(train_aspects)})


def plural(count: int, singular: str, many: str | None = None) -> str:
    """``"1 text"``, ``"2 texts"``; ``many`` for an irregular plural (``"exact copies"``)."""
    return f"{count:,} {singular if count == 1 else (many or singular + 's')}"


def load_and_validate(
    data_config: DataConfig, base_dir: Path | str | None = None
) -> tuple[dict[str, LabeledReviews], DataReport]:
    """Load train, validation (or split it from train) and test, and build the report.

    When ``data.aspects`` is not set it is resolved first (:func:`resolve_aspects`),
    so every split has the training file's aspects. Findings worth a warning
    (texts shared between splits, aspects never mentioned in training) are
    also logged, once each. Relative paths are resolved against ``base_dir``
    (once, here); without it the paths are read as they are (``load_config``
    made them absolute).
    """
    # train is read as configured: with aspects unset the reader infers the same list and
    # its errors can then say that a column may not be an aspect at all
    train_config = _resolved_paths(data_config, base_dir)
    config = resolve_aspects(train_config)
    assert config.train is not None
    splits: dict[str, LabeledReviews] = {"train": load_split(config.train, train_config)}
    notes: dict[str, str] = {}
    if config.validation is not None:
        splits["validation"] = load_split(config.validation, config)
    else:
        splits["train"], splits["validation"] = split_train_validation(
            splits["train"], config.validation_fraction, config.split_seed
        )
        notes["validation"] = (
            f"split from train (data.validation_fraction={config.validation_fraction}, "
            f"data.split_seed={config.split_seed})"
        )
    if config.test is not None:
        splits["test"] = load_split(config.test, config)
    report = validate_splits(splits, notes)
    for overlap in report.overlaps:
        if overlap.rows:
            logger.warning(
                "%s %s in both %s and %s (rows %s)",
                plural(len(overlap.rows), "text"),
                "occurs" if len(overlap.rows) == 1 else "occur",
                overlap.first,
                overlap.second,
                ", ".join(f"{a}/{b}" for a, b in overlap.rows[:5]),
            )
    train_report = report.splits["train"]
    if train_report.unmentioned:
        logger.warning("%s", unmentioned_line(train_report))
    return splits, report


def load_splits(
    data_config: DataConfig, base_dir: Path | str | None = None
) -> dict[str, LabeledReviews]:
    """Load the splits named in ``data_config`` (paths resolved against ``base_dir``, if given).

    Returns ``{"train", "validation"[, "test"]}``; validation is split from
    train when ``data.validation`` is absent. Overlaps between splits are
    logged as warnings; use :func:`load_and_validate` to get the full report.
    """
    return load_and_validate(data_config, base_dir)[0]

"""The readers on the real shared data (../shared/data/vi-smartphone-reviews)."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from acsa.data import DataConfig, load_and_validate, load_split
from acsa.errors import DataError
from tests.conftest import PROJECT_ROOT

# the header's order (README of the shared data)
SMARTPHONE_ASPECTS = (
    "Battery",
    "Camera",
    "Performance",
    "Display",
    "Design",
    "Packaging",
    "Price",
    "Shop_Service",
    "Shipping",
    "General",
    "Others",
)

ALIASED = DataConfig(label_aliases={"Posititve": "Positive"})


def test_posititve_is_reported_with_file_row_and_column(shared_data_dir: Path) -> None:
    with pytest.raises(DataError) as info:
        load_split(shared_data_dir / "train.csv", DataConfig())
    message = str(info.value)
    # header is row 1; the review starts on line 6317 of the file (texts span lines)
    assert "train.csv row 4957 (line 6317), column 'General'" in message
    assert "unknown label 'Posititve'" in message
    assert "data.label_aliases, e.g. {Posititve: Positive}" in message
    assert "\n" not in message


def test_all_splits_load_with_counts_duplicates_and_overlap(shared_data_dir: Path) -> None:
    config = ALIASED.model_copy(
        update={
            "train": Path("train.csv"),
            "validation": Path("validation.csv"),
            "test": Path("test.csv"),
        }
    )
    splits, report = load_and_validate(config, shared_data_dir)
    assert {k: len(v) for k, v in splits.items()} == {
        "train": 11_930,
        "validation": 1_491,
        "test": 1_492,
    }
    train = splits["train"]
    assert train.aspects == SMARTPHONE_ASPECTS
    assert train.labels.shape == (11_930, 11) and train.labels.dtype == np.int64
    assert train.mask.all()
    # the aliased cell is a positive General label
    row = train.rows.index(4957)
    assert train.labels[row, SMARTPHONE_ASPECTS.index("General")] == 3
    # 13 exact copies; one more pair differs only in whitespace (caught by the normalised key)
    train_report = report.splits["train"]
    assert train_report.exact_duplicates == 13
    assert len(train_report.duplicates) == 14
    overlap = report.overlap("train", "test")
    assert overlap is not None and len(overlap.rows) == 2
    counts = train_report.counts
    assert counts[:, :4].sum() == 11_930 * 11
    assert counts[:, 3].sum() == 11_620  # 11,619 Positive + the aliased Posititve


# --------------------------------------------------------------------------- cosmetics

COSMETICS = PROJECT_ROOT.parent / "shared" / "data" / "vi-cosmetics-reviews"
ALIASES = {"Netral": "Neutral", "Posotive": "Positive", "Postive": "Positive"}


@pytest.fixture(scope="module")
def cosmetics_dir() -> Path:
    # the same rule as conftest's shared_data_dir: skip in a fresh clone, fail in CI
    if not (COSMETICS / "train.csv").is_file():
        reason = f"shared data not found at {COSMETICS}"
        if os.environ.get("ACSA_REQUIRE_SHARED_DATA") == "1":
            pytest.fail(reason + " (ACSA_REQUIRE_SHARED_DATA=1)")
        pytest.skip(reason)
    return COSMETICS


def _pair_counts(path: Path) -> Counter[tuple[str, str]]:
    """(aspect, sentiment) counts read with pandas, typos mapped: an independent reference."""
    import pandas as pd

    frame = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False)
    counts: Counter[tuple[str, str]] = Counter()
    for cell in frame["Polarity"]:
        for pair in cell.split(","):
            if ":" in pair:
                aspect, sentiment = (p.strip() for p in pair.split(":"))
                sentiment = {**ALIASES, "Negativel": "Negative"}.get(sentiment, sentiment)
                counts[aspect, sentiment] += 1
    return counts


def test_cosmetics_loads_with_its_config(cosmetics_dir: Path) -> None:
    from acsa.training.config import load_config

    config = load_config(
        PROJECT_ROOT / "configs" / "cosmetics.yaml", {"data.dir": str(cosmetics_dir)}
    )
    assert config.data.aspects is None
    splits, report = load_and_validate(config.data, PROJECT_ROOT)
    assert {k: len(v) for k, v in splits.items()} == {"train": 4046, "validation": 508, "test": 500}
    aspects = ("OTHERS", "PACKING", "PRICE", "QUALITY", "SHIPPING", "SMELL")
    assert all(s.aspects == aspects for s in splits.values())
    for name in splits:
        expected = _pair_counts(cosmetics_dir / f"{name}.csv")
        counts = report.splits[name].counts
        for a, aspect in enumerate(aspects):
            for c, sentiment in enumerate(("Negative", "Neutral", "Positive"), start=1):
                assert counts[a, c] == expected[aspect, sentiment], (name, aspect, sentiment)
    # the one malformed label: SHIPPING without sentiment, train row 1232 (line 1417)
    train = splits["train"]
    assert [(s.row, s.label) for s in train.skipped_labels] == [(1232, "SHIPPING")]
    i = train.rows.index(1232)
    assert not train.mask[i, aspects.index("SHIPPING")]
    assert int((~train.mask).sum()) == 1
    assert sum("malformed label" in w for w in report.warnings) == 1


def test_cosmetics_typo_is_reported_without_its_alias(cosmetics_dir: Path) -> None:
    config = DataConfig(
        format="label_column",
        text_column="Content",
        label_column="Polarity",
        aspect_separator=":",
        malformed_labels="skip",
        label_aliases=ALIASES,
    )
    with pytest.raises(DataError) as info:
        load_split(cosmetics_dir / "train.csv", config)
    message = str(info.value)
    assert (
        "train.csv row 3982 (line 4581), column 'Polarity', label 'QUALITY: Negativel'" in message
    )
    assert "{Negativel: Negative}" in message

"""The readers on the real shared data (../shared/data/vi-smartphone-reviews)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from acsa.data import DataConfig, load_and_validate, load_split
from acsa.errors import DataError

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

"""The data report, the validation split and load_splits."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from acsa.data import (
    DataConfig,
    LabeledReviews,
    load_and_validate,
    load_splits,
    split_train_validation,
    validate_splits,
)
from acsa.errors import ConfigError, DataError

ASPECTS = ["Battery", "Camera"]


def _reviews(
    texts: list[str], labels: list[list[int]], mask: list[list[bool]] | None = None
) -> LabeledReviews:
    arr = np.asarray(labels, dtype=np.int64)
    return LabeledReviews(
        texts=texts,
        labels=arr,
        mask=np.ones_like(arr, dtype=bool) if mask is None else np.asarray(mask),
        source=Path("x.csv"),
        rows=list(range(2, 2 + len(texts))),
        aspects=tuple(ASPECTS),
    )


def test_report_counts_duplicates_and_overlaps() -> None:
    train = _reviews(
        ["a", "b", "a", "c  d"],
        [[0, 3], [1, 2], [0, 3], [3, 0]],
        mask=[[True, True], [True, False], [True, True], [True, True]],
    )
    test = _reviews(["c d", "e"], [[3, 0], [0, 0]])
    report = validate_splits({"train": train, "test": test})
    counts = report.splits["train"].counts
    # columns: none, negative, neutral, positive, missing
    assert counts.tolist() == [[2, 1, 0, 1, 0], [1, 0, 0, 2, 1]]
    assert report.splits["train"].duplicates == [[2, 4]]
    assert report.splits["train"].exact_duplicates == 1
    overlap = report.overlap("train", "test")
    assert overlap is not None and overlap.rows == [(5, 2)]
    assert any("train and test" in line for line in report.warnings)
    json.dumps(report.to_dict())  # plain JSON types only


def test_report_renders_with_rich() -> None:
    report = validate_splits({"train": _reviews(["a", "a"], [[0, 1], [0, 1]])})
    console = Console(width=120, record=True)
    console.print(report)
    text = console.export_text()
    assert "Battery" in text and "negative" in text and "warning:" in text


def test_split_is_deterministic_stratified_and_keeps_copies_together() -> None:
    rng = np.random.default_rng(0)
    n = 400
    labels = np.zeros((n, 2), dtype=np.int64)
    labels[:40, 0] = 2  # a rare class: 10% of reviews
    labels[40:200, 1] = 3
    texts = [f"review {i}" for i in range(n)]
    texts[399] = texts[398]  # a duplicated text
    order = rng.permutation(n)
    reviews = _reviews([texts[i] for i in order], labels[order].tolist())
    train, val = split_train_validation(reviews, 0.25, seed=7)
    train2, val2 = split_train_validation(reviews, 0.25, seed=7)
    assert val.rows == val2.rows and train.rows == train2.rows
    assert len(train) + len(val) == n
    assert sorted(train.rows + val.rows) == sorted(reviews.rows)
    assert 95 <= len(val) <= 105
    assert (val.labels[:, 0] == 2).sum() == 10  # stratified: exactly the share of the rare class
    assert not set(train.texts) & set(val.texts)
    _, other = split_train_validation(reviews, 0.25, seed=8)
    assert other.rows != val.rows


def test_split_of_tiny_data() -> None:
    train, val = split_train_validation(_reviews(["a", "b", "c"], [[0, 1], [0, 2], [3, 3]]), 0.1, 1)
    assert len(train) == 2 and len(val) == 1
    with pytest.raises(DataError, match="too few"):
        split_train_validation(_reviews(["a"], [[0, 0]]), 0.5, 1)


def _write_csv(path: Path, rows: list[str]) -> None:
    path.write_text("data,Battery,Camera\n" + "\n".join(rows) + "\n", encoding="utf-8")


def test_load_splits_with_and_without_validation(tmp_path: Path) -> None:
    folder = tmp_path / "reviews"
    folder.mkdir()
    _write_csv(
        folder / "train.csv", [f"text {i},{'Positive' if i % 3 else ''}," for i in range(30)]
    )
    _write_csv(folder / "test.csv", ["text 1,Positive,", "new,,Negative"])
    config = DataConfig(dir="reviews", train="train.csv", test="test.csv", aspects=ASPECTS)
    splits, report = load_and_validate(config, tmp_path)
    assert list(splits) == ["train", "validation", "test"]
    assert len(splits["train"]) + len(splits["validation"]) == 30
    assert "split from train" in report.splits["validation"].note
    overlap = report.overlap("train", "test") or report.overlap("validation", "test")
    assert overlap is not None

    _write_csv(folder / "val.csv", ["v,,Neutral"])
    with_val = config.model_copy(update={"validation": Path("val.csv")})
    splits = load_splits(with_val, tmp_path)
    assert len(splits["train"]) == 30 and splits["validation"].texts == ["v"]


def test_load_splits_needs_train(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="data.train"):
        load_splits(DataConfig(aspects=ASPECTS), tmp_path)

"""EncodedDataset, AcsaCollator and class_counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from acsa.data import AcsaCollator, EncodedDataset, LabeledReviews, LabelSpace, class_counts


def _pad_collate(features: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
    width = max(len(f["input_ids"]) for f in features)
    ids = torch.zeros(len(features), width, dtype=torch.long)
    for i, f in enumerate(features):
        ids[i, : len(f["input_ids"])] = torch.tensor(f["input_ids"])
    return {"input_ids": ids, "attention_mask": (ids != 0).long()}


class _Featurizer:
    def encode(self, texts: list[str]) -> list[dict[str, list[int]]]:
        return [{"input_ids": [ord(c) for c in t]} for t in texts]

    collate = staticmethod(_pad_collate)


def _dataset() -> EncodedDataset:
    features = [{"input_ids": [1, 2, 3]}, {"input_ids": [4]}, {"input_ids": [5, 6]}]
    labels = np.array([[0, 3], [1, 2], [3, 0]])
    mask = np.array([[True, True], [True, False], [True, True]])
    return EncodedDataset(features, labels, mask)


def test_getitem_returns_features_and_label_tensors() -> None:
    item = _dataset()[1]
    assert item["input_ids"] == [4]
    assert item["labels"].dtype == torch.long and item["labels"].tolist() == [1, 2]
    assert item["label_mask"].dtype == torch.bool and item["label_mask"].tolist() == [True, False]
    assert _dataset().lengths() == [3, 1, 2]


def test_collator_pads_features_and_stacks_labels() -> None:
    loader = DataLoader(_dataset(), batch_size=3, collate_fn=AcsaCollator(_pad_collate))
    batch = next(iter(loader))
    assert batch["input_ids"].shape == (3, 3)
    assert batch["input_ids"][1].tolist() == [4, 0, 0]
    assert batch["labels"].shape == (3, 2) and batch["labels"].dtype == torch.long
    assert batch["label_mask"].dtype == torch.bool
    assert batch["label_mask"].tolist() == [[True, True], [True, False], [True, True]]


def test_from_reviews_maps_to_scheme() -> None:
    reviews = LabeledReviews(
        texts=["ab", "c"],
        labels=np.array([[0, 3], [1, 2]]),
        mask=np.ones((2, 2), dtype=bool),
        source=Path("x.csv"),
        rows=[2, 3],
        aspects=("A", "B"),
    )
    seed = EncodedDataset.from_reviews(reviews, _Featurizer(), LabelSpace(("A", "B"), "seed"))
    # seed classes: positive 0, negative 1, neutral 2; none -> neutral
    assert seed.labels.tolist() == [[2, 0], [1, 2]]
    assert seed[0]["input_ids"] == [97, 98]


def test_shape_mismatch_is_rejected() -> None:
    with pytest.raises(ValueError, match="labels must be"):
        EncodedDataset([{"input_ids": [1]}], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="mask shape"):
        EncodedDataset([{"input_ids": [1]}], np.zeros((1, 2)), np.ones((1, 3), dtype=bool))
    with pytest.raises(ValueError, match="collide"):
        EncodedDataset([{"labels": [1]}], np.zeros((1, 2)))


def test_class_counts_skips_masked_cells() -> None:
    labels = np.array([[0, 3], [1, 2], [3, 3]])
    mask = np.array([[True, True], [True, False], [False, True]])
    counts = class_counts(labels, mask, 4)
    assert counts.shape == (2, 4) and counts.dtype == np.int64
    assert counts.tolist() == [[1, 1, 0, 0], [0, 0, 0, 2]]
    assert class_counts(torch.tensor(labels), None, 4).sum() == 6
    with pytest.raises(ValueError, match="lie in"):
        class_counts(labels, mask, 3)

"""A torch dataset of reviews encoded once, and the collator that pads per batch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import torch
from torch.utils.data import Dataset

from acsa.data.label_space import LabelSpace
from acsa.data.reviews import LabeledReviews

LABEL_KEYS: tuple[str, ...] = ("labels", "label_mask")


class TextEncoder(Protocol):
    """What the datasets need of a featurizer (:class:`acsa.models.featurizer.Featurizer`,
    which data may not import): texts to features once, features to a padded batch."""

    def encode(self, texts: Sequence[str]) -> list[dict[str, list[int]]]: ...

    def collate(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]: ...


class EncodedDataset(Dataset):
    """Pre-encoded features with scheme-space labels.

    Args:
        features: one dict per review, e.g. ``{"input_ids": [...]}`` (from
            ``featurizer.encode(texts)``).
        labels: ``[N, A]`` class indices in the label scheme's space.
        mask: ``[N, A]`` bool, False where the label is unknown; all True if omitted.

    ``dataset[i]`` is the review's features plus ``labels`` (LongTensor ``[A]``)
    and ``label_mask`` (BoolTensor ``[A]``).
    """

    def __init__(
        self,
        features: Sequence[dict[str, list[int]]],
        labels: np.ndarray | torch.Tensor,
        mask: np.ndarray | torch.Tensor | None = None,
    ) -> None:
        self.features = list(features)
        self.labels = torch.as_tensor(np.asarray(labels), dtype=torch.long)
        if mask is None:
            self.mask = torch.ones_like(self.labels, dtype=torch.bool)
        else:
            self.mask = torch.as_tensor(np.asarray(mask), dtype=torch.bool)
        if self.labels.dim() != 2 or self.labels.shape[0] != len(self.features):
            raise ValueError(
                f"labels must be [N, A] with N = {len(self.features)} features, "
                f"got {tuple(self.labels.shape)}"
            )
        if self.mask.shape != self.labels.shape:
            raise ValueError(
                f"mask shape {tuple(self.mask.shape)} differs from labels "
                f"{tuple(self.labels.shape)}"
            )
        clash = [k for f in self.features[:1] for k in f if k in LABEL_KEYS]
        if clash:
            raise ValueError(f"feature keys {clash} collide with the label keys {LABEL_KEYS}")

    @classmethod
    def from_reviews(
        cls, reviews: LabeledReviews, featurizer: TextEncoder, label_space: LabelSpace
    ) -> EncodedDataset:
        """Encode ``reviews.texts`` once and map canonical labels to the scheme's classes."""
        features = featurizer.encode(reviews.texts)
        return cls(features, label_space.to_scheme(reviews.labels), reviews.mask)

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item: dict[str, Any] = dict(self.features[index])
        item["labels"] = self.labels[index]
        item["label_mask"] = self.mask[index]
        return item

    def lengths(self) -> list[int]:
        """Length of each review's first feature (e.g. ``input_ids``), for length grouping."""
        if not self.features:
            return []
        key = "input_ids" if "input_ids" in self.features[0] else next(iter(self.features[0]))
        return [len(f[key]) for f in self.features]


class AcsaCollator:
    """Collate items of :class:`EncodedDataset`: features via the featurizer, labels stacked.

    Args:
        featurize_collate: ``featurizer.collate``, mapping a list of feature
            dicts to a dict of padded tensors.
    """

    def __init__(
        self, featurize_collate: Callable[[list[dict[str, Any]]], dict[str, torch.Tensor]]
    ) -> None:
        self.featurize_collate = featurize_collate

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        features = [{k: v for k, v in item.items() if k not in LABEL_KEYS} for item in items]
        batch = dict(self.featurize_collate(features))
        batch["labels"] = torch.stack([torch.as_tensor(i["labels"]) for i in items]).long()
        batch["label_mask"] = torch.stack([torch.as_tensor(i["label_mask"]) for i in items]).bool()
        return batch


def class_counts(
    labels_scheme: np.ndarray | torch.Tensor,
    mask: np.ndarray | torch.Tensor | None,
    num_classes: int,
) -> np.ndarray:
    """``int64 [A, C]``: how many known cells of each aspect carry each class.

    Args:
        labels_scheme: ``[N, A]`` class indices in the scheme's space.
        mask: ``[N, A]`` bool; cells where it is False are not counted (None: count all).
        num_classes: C, the scheme's number of classes.
    """
    labels = np.asarray(labels_scheme, dtype=np.int64)
    if labels.ndim != 2:
        raise ValueError(f"labels must be [N, A], got shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels must lie in [0, {num_classes}), got {labels.min()}..{labels.max()}"
        )
    keep = np.ones_like(labels, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    num_aspects = labels.shape[1]
    flat = (np.arange(num_aspects)[None, :] * num_classes + labels)[keep]
    counts = np.bincount(flat, minlength=num_aspects * num_classes)
    return counts.reshape(num_aspects, num_classes).astype(np.int64)

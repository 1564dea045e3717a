"""Datasets whose items carry their row index, for training and evaluation with the Trainer.

The index travels with the batch as a label (``example_index``), so
evaluation can score each prediction against the canonical gold row even
when batches are grouped by length (seed scheme predictions cannot be mapped
back to ``none`` vs ``neutral`` gold without it) or split across DDP
processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from acsa.data.dataset import LABEL_KEYS, AcsaCollator, EncodedDataset, TextEncoder
from acsa.data.label_space import LabelSpace
from acsa.data.reviews import LabeledReviews

INDEX_KEY = "example_index"
# the batch entries that are labels, not model inputs (the Trainer's label_names)
BATCH_LABEL_KEYS: tuple[str, ...] = (*LABEL_KEYS, INDEX_KEY)


class IndexedDataset:
    """An :class:`~acsa.data.EncodedDataset` whose items also carry their row index.

    Args:
        dataset: the encoded split.
        order: the rows in the order items are served (item ``i`` is row
            ``order[i]`` and carries that row's index); ``None`` serves them as
            they are.
    """

    def __init__(self, dataset: EncodedDataset, order: Sequence[int] | None = None) -> None:
        self.dataset = dataset
        self.order = list(order) if order is not None else None

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, Any]:
        row = self.order[index] if self.order is not None else index
        item = self.dataset[row]
        item[INDEX_KEY] = row
        return item

    def longest_first(self) -> IndexedDataset:
        """The same rows served longest review first, for evaluation and prediction.

        Sequential batches then pad each review only to reviews of about its
        own length (the validation split of the shared smartphone data is read
        as 78k padded token positions in batches of 256 instead of 202k in file
        order). The row index travels with each item, so scores and
        predictions are mapped back to file order (the Trainer's metrics hook,
        the test predictions); models whose output for a review does not
        depend on its batch's padding give the same numbers.
        """
        lengths = self.dataset.lengths()
        order = sorted(range(len(lengths)), key=lambda row: (-lengths[row], row))
        return IndexedDataset(self.dataset, order)


class IndexedCollator:
    """Wrap :class:`~acsa.data.AcsaCollator`, stacking ``example_index`` aside."""

    def __init__(self, collator: AcsaCollator) -> None:
        self.collator = collator

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        index = torch.tensor([int(i.pop(INDEX_KEY)) for i in items], dtype=torch.long)
        batch = self.collator(items)
        batch[INDEX_KEY] = index
        return batch


def encode_split(
    reviews: LabeledReviews, featurizer: TextEncoder, label_space: LabelSpace
) -> IndexedDataset:
    """Encode a split once (features and scheme-space labels), items indexed by row."""
    return IndexedDataset(EncodedDataset.from_reviews(reviews, featurizer, label_space))


def make_collator(featurizer: TextEncoder) -> IndexedCollator:
    """The collator of :class:`IndexedDataset` batches: padded features, labels, row index."""
    return IndexedCollator(AcsaCollator(featurizer.collate))

"""Data: config section, readers, validation report, label space and encoded datasets.

The encoded datasets (:mod:`acsa.data.dataset`, PyTorch) load on first use, so
reading files and labels never imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from acsa.data.config import DataConfig
from acsa.data.label_space import CANONICAL_CLASSES, POLARITIES, LabelSpace
from acsa.data.readers import file_aspects, load_split
from acsa.data.reviews import DroppedRow, LabeledReviews, SkippedLabel
from acsa.data.validation import (
    DataReport,
    SplitReport,
    load_and_validate,
    load_splits,
    resolve_aspects,
    split_train_validation,
    validate_splits,
)

if TYPE_CHECKING:
    from acsa.data.dataset import AcsaCollator, EncodedDataset, class_counts

# torch-backed names, imported from acsa.data.dataset when first asked for
_DATASET_NAMES = ("AcsaCollator", "EncodedDataset", "class_counts")

__all__ = [
    "CANONICAL_CLASSES",
    "POLARITIES",
    "AcsaCollator",
    "DataConfig",
    "DataReport",
    "DroppedRow",
    "EncodedDataset",
    "LabelSpace",
    "LabeledReviews",
    "SkippedLabel",
    "SplitReport",
    "class_counts",
    "file_aspects",
    "load_and_validate",
    "load_split",
    "load_splits",
    "resolve_aspects",
    "split_train_validation",
    "validate_splits",
]


def __getattr__(name: str) -> Any:
    if name not in _DATASET_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from acsa.data import dataset

    value = getattr(dataset, name)
    globals()[name] = value
    return value

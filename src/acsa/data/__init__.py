"""Data: config section, readers, validation report, label space and encoded datasets."""

from acsa.data.config import DEFAULT_ASPECTS, DataConfig
from acsa.data.dataset import AcsaCollator, EncodedDataset, class_counts
from acsa.data.label_space import CANONICAL_CLASSES, POLARITIES, LabelSpace
from acsa.data.readers import DroppedRow, LabeledReviews, load_split
from acsa.data.validation import (
    DataReport,
    SplitReport,
    load_and_validate,
    load_splits,
    split_train_validation,
    validate_splits,
)

__all__ = [
    "CANONICAL_CLASSES",
    "DEFAULT_ASPECTS",
    "POLARITIES",
    "AcsaCollator",
    "DataConfig",
    "DataReport",
    "DroppedRow",
    "EncodedDataset",
    "LabelSpace",
    "LabeledReviews",
    "SplitReport",
    "class_counts",
    "load_and_validate",
    "load_split",
    "load_splits",
    "split_train_validation",
    "validate_splits",
]

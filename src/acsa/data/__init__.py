"""Data: config section, readers, validation report, label space and encoded datasets."""

from acsa.data.config import DataConfig
from acsa.data.dataset import AcsaCollator, EncodedDataset, class_counts
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

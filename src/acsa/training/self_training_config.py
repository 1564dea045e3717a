"""``training.self_training``: the configuration of self-training on ``data.unlabeled``.

Example::

    data:
      unlabeled: unlabeled.csv       # .csv / .jsonl / .txt / .parquet, read streamed
    training:
      self_training:
        enabled: true
        confidence: 0.9              # keep a pseudo-label where its probability >= 0.9
        max_unlabeled: 20000         # read at most this many unlabelled reviews

The run is :mod:`acsa.training.self_training`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_CONFIDENCE = 0.9
DEFAULT_MAX_UNLABELED = 20_000


class SelfTrainingConfig(BaseModel):
    """Self-training (Xie et al. 2020, Noisy Student, kept simple).

    After the supervised run, the saved model (the network, or its blend with the
    TF-IDF model when kept) predicts the unlabelled reviews; each (review, aspect)
    cell whose most probable label has probability ``>= confidence`` keeps that
    label, the other cells are unknown (masked); a second network, freshly
    initialised (its noise: the model's own dropout), is trained on the labelled
    and pseudo-labelled reviews and finished as usual. It becomes the saved model
    only when its validation pair-F1 beats the supervised one by more than
    ``min_gain``.

    Attributes:
        enabled: off by default; needs ``data.unlabeled``.
        confidence: the fixed cut on a cell's top probability (not fitted, so it
            sees no split at all).
        max_unlabeled: the unlabelled reviews read at most (after dropping
            overlaps); the file is read only that far.
        overlaps: unlabelled texts that also occur in the validation or test split
            (compared as the data validation compares splits): ``drop`` (default)
            or ``keep`` (they then leak into model selection or the test score).
            Texts of the labelled training split are always dropped.
        min_gain: validation pair-F1 the second network must gain to be kept.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    confidence: float = Field(default=DEFAULT_CONFIDENCE, gt=0.0, le=1.0)
    max_unlabeled: int = Field(default=DEFAULT_MAX_UNLABELED, ge=1)
    overlaps: Literal["drop", "keep"] = "drop"
    min_gain: float = Field(default=0.005, ge=0.0, lt=1.0)


def check_sections(
    unlabeled: Path | None, self_training: SelfTrainingConfig | None, pretraining: bool = False
) -> tuple[str, str] | None:
    """``(key path, problem)`` when ``data.unlabeled`` and ``training.self_training`` do not
    go together, else ``None``: self-training is useless without unlabelled reviews, and
    unlabelled reviews without self-training or ``pretraining`` (on) are read by nothing."""
    enabled = self_training is not None and self_training.enabled
    if enabled and unlabeled is None:
        return "training.self_training.enabled", (
            "self-training needs unlabelled reviews; set data.unlabeled to a .csv, .jsonl, "
            ".txt or .parquet file, or set enabled: false"
        )
    if unlabeled is not None and not enabled and not pretraining:
        return "data.unlabeled", (
            "is read only by self-training or pre-training; add training.self_training: "
            "{enabled: true} or training.pretraining: {method: word2vec}, or remove "
            "data.unlabeled"
        )
    return None

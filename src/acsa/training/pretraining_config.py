"""``training.pretraining``: pre-training of the offline encoder's syllable embeddings.

Example::

    data:
      unlabeled: unlabeled.csv       # optional: without it the training texts alone are used
    training:
      pretraining:
        method: word2vec             # none (default) | word2vec
        epochs: 5

The run is :mod:`acsa.training.pretraining`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PretrainingConfig(BaseModel):
    """Skip-gram vectors (Mikolov et al. 2013, word2vec) fitted on the training texts and the
    unlabelled ones initialise the offline encoder's token embeddings.

    Attributes:
        method: ``none`` (default: the run is exactly what it was) or ``word2vec``.
        epochs: passes of the skip-gram fit over the texts.
        window: context syllables on each side.
        negative: negative samples per context pair.
        min_count: a syllable seen fewer times in the pre-training texts gets no vector.
        max_unlabeled: unlabelled reviews read at most (after dropping overlaps).
        extend_vocab: syllables with a vector but absent from the labelled training texts
            join the vocabulary (their rows keep the pre-trained vector), so a test review's
            syllables seen only in unlabelled text are no longer ``<unk>``.
    """

    model_config = ConfigDict(extra="forbid")

    method: Literal["none", "word2vec"] = "none"
    epochs: int = Field(default=5, ge=1, le=100)
    window: int = Field(default=5, ge=1, le=50)
    negative: int = Field(default=5, ge=1, le=50)
    min_count: int = Field(default=3, ge=1)
    max_unlabeled: int = Field(default=200_000, ge=1)
    extend_vocab: bool = True

    @property
    def enabled(self) -> bool:
        return self.method != "none"

"""The featurizer contract shared by all encoder kinds (docs/ARCHITECTURE.md, Models).

A featurizer turns texts into integer features once per split (``encode``) and
pads a batch of them on the fly (``collate``). Every featurizer emits an
``input_ids`` list per text so the Trainer can group batches by length.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

Features = dict[str, list[int]]


class Featurizer(ABC):
    """Base class: ``encode`` texts once, ``collate`` batches with dynamic padding."""

    kind: str = ""

    @abstractmethod
    def encode(self, texts: Sequence[str]) -> list[Features]:
        """Integer features of each text (no padding)."""

    @abstractmethod
    def collate(self, features: Sequence[Features]) -> dict[str, torch.Tensor]:
        """Pad a batch to its longest member; every tensor has the batch as dim 0."""

    @abstractmethod
    def save(self, directory: str | Path) -> None:
        """Write the featurizer files into ``directory`` (JSON or tokenizer files, never pickle)."""

    def __call__(self, features: Sequence[Features]) -> dict[str, torch.Tensor]:
        # lets a featurizer serve directly as a DataLoader / Trainer data collator
        return self.collate(features)


def pad_2d(rows: Sequence[Sequence[int]], pad: int = 0, min_len: int = 1) -> torch.Tensor:
    """Stack variable-length int rows into a ``[len(rows), max_len]`` long tensor."""
    width = max([min_len, *(len(r) for r in rows)])
    # filled in numpy: one tensor per row costs more than the model on short reviews
    out = np.full((len(rows), width), pad, dtype=np.int64)
    for i, row in enumerate(rows):
        if row:
            out[i, : len(row)] = row
    return torch.from_numpy(out)

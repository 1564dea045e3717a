"""The featurizer contract shared by all encoder kinds (docs/ARCHITECTURE.md, Models).

A featurizer turns texts into integer features once per split (``encode``) and
pads a batch of them on the fly (``collate``). Every featurizer emits an
``input_ids`` list per text so the Trainer can group batches by length.

Tokenizing and padding need no torch: ``collate_arrays`` pads into numpy
int64 arrays (what ONNX Runtime takes), and ``collate`` wraps the same arrays
as tensors without copying, so both runtimes see the same ids.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

Features = dict[str, list[int]]


class Featurizer(ABC):
    """Base class: ``encode`` texts once, ``collate`` batches with dynamic padding."""

    kind: str = ""

    @abstractmethod
    def encode(self, texts: Sequence[str]) -> list[Features]:
        """Integer features of each text (no padding)."""

    @abstractmethod
    def collate_arrays(self, features: Sequence[Features]) -> dict[str, np.ndarray]:
        """Pad a batch to its longest member: int64 arrays, the batch as dim 0 (no torch)."""

    def collate(self, features: Sequence[Features]) -> dict[str, torch.Tensor]:
        """:meth:`collate_arrays` as tensors (the same memory)."""
        import torch

        return {k: torch.from_numpy(v) for k, v in self.collate_arrays(features).items()}

    @abstractmethod
    def save(self, directory: str | Path) -> None:
        """Write the featurizer files into ``directory`` (JSON or tokenizer files, never pickle)."""

    def __call__(self, features: Sequence[Features]) -> dict[str, torch.Tensor]:
        # lets a featurizer serve directly as a DataLoader / Trainer data collator
        return self.collate(features)


def pad_2d(rows: Sequence[Sequence[int]], pad: int = 0, min_len: int = 1) -> torch.Tensor:
    """Stack variable-length int rows into a ``[len(rows), max_len]`` long tensor."""
    import torch

    return torch.from_numpy(pad_rows(rows, pad, min_len))


def pad_rows(rows: Sequence[Sequence[int]], pad: int = 0, min_len: int = 1) -> np.ndarray:
    """Stack variable-length int rows into a ``[len(rows), max_len]`` int64 array."""
    width = max([min_len, *(len(r) for r in rows)])
    # filled in numpy: one tensor per row costs more than the model on short reviews
    out = np.full((len(rows), width), pad, dtype=np.int64)
    for i, row in enumerate(rows):
        if row:
            out[i, : len(row)] = row
    return out

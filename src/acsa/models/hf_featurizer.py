"""Featurizer of the Hugging Face encoder: an ``AutoTokenizer``, truncation only at encode time.

Padding happens per batch in :meth:`HFFeaturizer.collate`, to the batch's longest
review, so short reviews cost short sequences.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from acsa.errors import CheckpointError
from acsa.models.featurizer import Features, Featurizer, pad_2d


class HFFeaturizer(Featurizer):
    """Wrap a Hugging Face tokenizer.

    Args:
        tokenizer: a ``PreTrainedTokenizerBase`` (fast or slow).
        max_length: tokens kept per review, special tokens included.
    """

    kind = "huggingface"

    def __init__(self, tokenizer, max_length: int) -> None:  # noqa: ANN001 (transformers type)
        self.tokenizer = tokenizer
        self.max_length = max_length
        pad = tokenizer.pad_token_id
        self.pad_token_id = int(pad) if pad is not None else 0

    @classmethod
    def from_name_or_path(
        cls, name_or_path: str | Path, max_length: int, local_files_only: bool = True
    ) -> HFFeaturizer:
        """Load ``AutoTokenizer`` from a hub name or a local directory (no download by default)."""
        from transformers import AutoTokenizer

        try:
            tokenizer = AutoTokenizer.from_pretrained(
                str(name_or_path), local_files_only=local_files_only
            )
        except (OSError, ValueError) as exc:
            hint = (
                "; it is not available locally (set model.local_files_only: false to download)"
                if local_files_only
                else ""
            )
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CheckpointError(
                f"cannot load tokenizer {name_or_path!s}{hint}: {first}"
            ) from None
        return cls(tokenizer, max_length)

    def encode(self, texts: Sequence[str]) -> list[Features]:
        enc = self.tokenizer(
            list(texts), truncation=True, max_length=self.max_length, padding=False
        )
        return [{"input_ids": list(ids)} for ids in enc["input_ids"]]

    def collate(self, features: Sequence[Features]) -> dict[str, torch.Tensor]:
        rows = [f["input_ids"] for f in features]
        input_ids = pad_2d(rows, pad=self.pad_token_id)
        mask = torch.zeros_like(input_ids)
        for i, row in enumerate(rows):
            mask[i, : len(row)] = 1
        return {"input_ids": input_ids, "attention_mask": mask}

    def save(self, directory: str | Path) -> None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        self.tokenizer.save_pretrained(str(directory))

    @classmethod
    def load(cls, directory: str | Path, max_length: int) -> HFFeaturizer:
        """Load the tokenizer files written by :meth:`save` (never downloads)."""
        return cls.from_name_or_path(directory, max_length, local_files_only=True)

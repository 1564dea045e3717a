"""Featurizer of the Hugging Face encoder: an ``AutoTokenizer``, and the long-review policy.

Padding happens per batch in :meth:`HFFeaturizer.collate`, to the batch's longest
review, so short reviews cost short sequences.

A review longer than ``max_length`` tokens is either truncated
(``long_reviews: truncate``) or cut into overlapping windows of ``max_length``
tokens that share ``window_stride`` tokens (``long_reviews: windows``; the
tokenizer's own ``return_overflowing_tokens``). With windows, a review's
features hold all its windows' ids one after the other (``input_ids``) and
their lengths (``window_lengths``); ``collate`` returns ``[B, W, T]`` tensors
(W the batch's most windows, all-padding windows where a review has fewer),
which :class:`acsa.models.hf_encoder.HFEncoder` encodes and pools per review.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from acsa.errors import CheckpointError, ConfigError, first_line
from acsa.models.featurizer import Features, Featurizer, pad_rows

if TYPE_CHECKING:
    from acsa.models.config import HuggingFaceModelConfig

LongReviews = Literal["truncate", "windows"]


class HFFeaturizer(Featurizer):
    """Wrap a Hugging Face tokenizer.

    Args:
        tokenizer: a ``PreTrainedTokenizerBase`` (a fast one for ``windows``).
        max_length: tokens per review (per window with ``windows``), special
            tokens included.
        long_reviews: ``truncate`` or ``windows`` (module docstring).
        window_stride: tokens shared by consecutive windows.
        max_windows: windows kept per review (the rest is dropped).
    """

    kind = "huggingface"

    def __init__(
        self,
        tokenizer,  # noqa: ANN001 (transformers type)
        max_length: int,
        long_reviews: LongReviews = "truncate",
        window_stride: int = 64,
        max_windows: int = 8,
    ) -> None:
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.long_reviews = long_reviews
        self.window_stride = window_stride
        self.max_windows = max_windows
        pad = tokenizer.pad_token_id
        self.pad_token_id = int(pad) if pad is not None else 0
        if long_reviews == "windows" and not getattr(tokenizer, "is_fast", False):
            raise ConfigError(
                "model.long_reviews: windows needs a fast (Rust) tokenizer, and "
                f"{type(tokenizer).__name__} is not one; use long_reviews: truncate"
            )

    @classmethod
    def from_name_or_path(
        cls,
        name_or_path: str | Path,
        max_length: int,
        local_files_only: bool = True,
        **policy: Any,
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
            first = first_line(exc)
            raise CheckpointError(
                f"cannot load tokenizer {name_or_path!s}{hint}: {first}"
            ) from None
        return cls(tokenizer, max_length, **policy)

    @property
    def windowed(self) -> bool:
        return self.long_reviews == "windows"

    def _windows(self, texts: Sequence[str]) -> list[list[list[int]]]:
        """Each text's windows of token ids (all of them, before ``max_windows``)."""
        enc = self.tokenizer(
            list(texts),
            truncation=True,
            max_length=self.max_length,
            stride=self.window_stride,
            return_overflowing_tokens=True,
            padding=False,
        )
        out: list[list[list[int]]] = [[] for _ in texts]
        for ids, owner in zip(enc["input_ids"], enc["overflow_to_sample_mapping"], strict=True):
            out[int(owner)].append(list(ids))
        return out

    def encode(self, texts: Sequence[str]) -> list[Features]:
        if not self.windowed:
            enc = self.tokenizer(
                list(texts), truncation=True, max_length=self.max_length, padding=False
            )
            return [{"input_ids": list(ids)} for ids in enc["input_ids"]]
        features: list[Features] = []
        for windows in self._windows(texts):
            kept = windows[: self.max_windows]
            flat = [token for window in kept for token in window]
            features.append({"input_ids": flat, "window_lengths": [len(w) for w in kept]})
        return features

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text, special tokens included, without truncation."""
        enc = self.tokenizer(list(texts), truncation=False, padding=False, verbose=False)
        return [len(ids) for ids in enc["input_ids"]]

    def long_review_counts(self, texts: Sequence[str]) -> dict[str, Any]:
        """How the policy treats ``texts``: longer than ``max_length``, windowed, truncated."""
        longer = sum(n > self.max_length for n in self.token_lengths(texts))
        counts: dict[str, Any] = {
            "policy": self.long_reviews,
            "max_length": self.max_length,
            "reviews": len(texts),
            "longer_than_max_length": longer,
        }
        if self.windowed:
            windows = [len(w) for w in self._windows(texts)]
            counts["windowed"] = sum(n > 1 for n in windows)
            counts["truncated"] = sum(n > self.max_windows for n in windows)
            counts["max_windows"] = self.max_windows
        else:
            counts["windowed"] = 0
            counts["truncated"] = longer
        return counts

    def collate_arrays(self, features: Sequence[Features]) -> dict[str, np.ndarray]:
        if not self.windowed:
            rows = [f["input_ids"] for f in features]
            input_ids = pad_rows(rows, pad=self.pad_token_id)
            mask = np.zeros_like(input_ids)
            for i, row in enumerate(rows):
                mask[i, : len(row)] = 1
            return {"input_ids": input_ids, "attention_mask": mask}
        per_review = []
        for f in features:
            flat, start, windows = f["input_ids"], 0, []
            for n in f["window_lengths"]:
                windows.append(flat[start : start + n])
                start += n
            per_review.append(windows)
        num_windows = max(len(w) for w in per_review)
        width = max(len(window) for windows in per_review for window in windows)
        input_ids = np.full((len(features), num_windows, width), self.pad_token_id, dtype=np.int64)
        mask = np.zeros_like(input_ids)
        for i, windows in enumerate(per_review):
            for j, window in enumerate(windows):
                input_ids[i, j, : len(window)] = window
                mask[i, j, : len(window)] = 1
        return {"input_ids": input_ids, "attention_mask": mask}

    def save(self, directory: str | Path) -> None:
        Path(directory).mkdir(parents=True, exist_ok=True)
        self.tokenizer.save_pretrained(str(directory))

    @classmethod
    def load(cls, directory: str | Path, max_length: int, **policy: Any) -> HFFeaturizer:
        """Load the tokenizer files written by :meth:`save` (never downloads)."""
        return cls.from_name_or_path(directory, max_length, local_files_only=True, **policy)


def policy_of(config: HuggingFaceModelConfig) -> dict[str, Any]:
    """The long-review keywords of :class:`HFFeaturizer` from a Hugging Face model config."""
    return {
        "long_reviews": config.long_reviews,
        "window_stride": config.window_stride,
        "max_windows": config.max_windows,
    }

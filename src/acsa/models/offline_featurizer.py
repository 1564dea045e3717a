"""Featurizer of the offline encoder: syllable ids, per-token character n-grams, word n-gram bag.

Fitted on the training texts only. Features per text:

* ``input_ids``: token ids (``0`` pad, ``1`` unknown), at most ``max_length``
  (``long_reviews: windows``: ``max_length * max_windows``, the config's
  ``read_limit``: the encoder reads a long review whole, see
  :class:`~acsa.models.config.OfflineModelConfig`);
* ``char_ids`` / ``char_counts``: ids of the known character n-grams of every
  token, flattened, and how many belong to each token (ids start at 1, 0 is
  padding; n-grams unseen in training are dropped);
* ``bag_ids``: ids of the word 1..n-grams seen at least ``bag_min_count`` times in
  training (``1`` when none is known).

``collate`` returns ``input_ids`` and ``attention_mask`` ``[B, T]``, ``char_ids``
``[B, T, K]`` and ``bag_ids`` ``[B, L]``, all padded with 0.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from acsa.errors import CheckpointError
from acsa.models.config import OfflineModelConfig, saved_offline_config
from acsa.models.featurizer import Features, Featurizer, pad_rows
from acsa.models.saved import FEATURIZER_FILE
from acsa.models.text import char_ngrams, tokenize, word_ngrams

PAD, UNK = 0, 1
_FORMAT_VERSION = 1


class OfflineFeaturizer(Featurizer):
    """Vocabulary featurizer for :class:`~acsa.models.offline_encoder.OfflineEncoder`.

    Args:
        config: the offline model config (tokenization and feature options).
        vocab: token strings for ids 2.. (from :meth:`fit`).
        bag_vocab: word n-gram strings for bag ids 2.. (from :meth:`fit`).
        char_vocab: character n-gram strings for char ids 1.. (from :meth:`fit`).
    """

    kind = "offline"

    def __init__(
        self,
        config: OfflineModelConfig,
        vocab: Sequence[str] = (),
        bag_vocab: Sequence[str] = (),
        char_vocab: Sequence[str] = (),
    ) -> None:
        self.config = config
        self.vocab = list(vocab)
        self.bag_vocab = list(bag_vocab)
        self._token_index = {t: i + 2 for i, t in enumerate(self.vocab)}
        self.char_vocab = list(char_vocab)
        self._bag_index = {g: i + 2 for i, g in enumerate(self.bag_vocab)}
        self._char_index = {g: i + 1 for i, g in enumerate(self.char_vocab)}
        self._char_cache: dict[str, list[int]] = {}

    # sizes the encoder needs
    @property
    def vocab_size(self) -> int:
        return len(self.vocab) + 2

    @property
    def bag_size(self) -> int:
        return len(self.bag_vocab) + 2

    @property
    def char_size(self) -> int:
        return len(self.char_vocab) + 1 if self.uses_chars else 0

    @property
    def uses_chars(self) -> bool:
        return self.config.char_ngram_max > 0

    @classmethod
    def fit(cls, config: OfflineModelConfig, texts: Sequence[str]) -> OfflineFeaturizer:
        """Build the vocabularies from the training texts (never from validation or test)."""
        token_counts: Counter[str] = Counter()
        bag_counts: Counter[str] = Counter()
        for text in texts:
            tokens = tokenize(text, config.lowercase)[: config.read_limit]
            token_counts.update(tokens)
            if config.bag_ngram_max > 0:
                bag_counts.update(set(word_ngrams(tokens, config.bag_ngram_max)))
        char_counts: Counter[str] = Counter()
        if config.char_ngram_max > 0:
            for token, count in token_counts.items():
                for gram in set(char_ngrams(token, config.char_ngram_min, config.char_ngram_max)):
                    char_counts[gram] += count
        return cls(
            config,
            _frequent(token_counts, config.min_count),
            _frequent(bag_counts, config.bag_min_count),
            _frequent(char_counts, config.char_min_count),
        )

    def with_tokens(self, tokens: Sequence[str]) -> OfflineFeaturizer:
        """This featurizer with ``tokens`` not yet in the vocabulary appended (ids after the
        existing ones; the character n-gram and bag vocabularies are unchanged). Used by
        pre-training (:mod:`acsa.training.pretraining`) for syllables of unlabelled text."""
        extra = [t for t in dict.fromkeys(tokens) if t not in self._token_index]
        return type(self)(self.config, self.vocab + extra, self.bag_vocab, self.char_vocab)

    def _chars(self, token: str) -> list[int]:
        ids = self._char_cache.get(token)
        if ids is None:
            cfg = self.config
            grams = char_ngrams(token, cfg.char_ngram_min, cfg.char_ngram_max)
            ids = [i for i in map(self._char_index.get, grams) if i is not None]
            if len(self._char_cache) < 500_000:
                self._char_cache[token] = ids
        return ids

    def encode(self, texts: Sequence[str]) -> list[Features]:
        cfg = self.config
        out: list[Features] = []
        for text in texts:
            tokens = tokenize(text, cfg.lowercase)[: cfg.read_limit]
            input_ids = [self._token_index.get(t, UNK) for t in tokens] or [UNK]
            feats: Features = {"input_ids": input_ids}
            if self.uses_chars:
                char_ids: list[int] = []
                counts: list[int] = []
                for t in tokens:
                    ids = self._chars(t)
                    char_ids.extend(ids)
                    counts.append(len(ids))
                feats["char_ids"] = char_ids
                feats["char_counts"] = counts or [0]
            if cfg.bag_ngram_max > 0:
                bag = [
                    self._bag_index[g]
                    for g in word_ngrams(tokens, cfg.bag_ngram_max)
                    if g in self._bag_index
                ]
                feats["bag_ids"] = bag or [UNK]
            out.append(feats)
        return out

    def collate_arrays(self, features: Sequence[Features]) -> dict[str, np.ndarray]:
        input_ids = pad_rows([f["input_ids"] for f in features])
        batch = {"input_ids": input_ids, "attention_mask": (input_ids != PAD).astype(np.int64)}
        if self.uses_chars:
            batch["char_ids"] = _char_grid(features, input_ids.shape[1])
        if self.config.bag_ngram_max > 0:
            batch["bag_ids"] = pad_rows([f["bag_ids"] for f in features])
        return batch

    def save(self, directory: str | Path) -> None:
        path = Path(directory) / FEATURIZER_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        payload: dict[str, Any] = {
            "kind": self.kind,
            "format_version": _FORMAT_VERSION,
            "config": self.config.model_dump(mode="json"),
            "vocab": self.vocab,
            "bag_vocab": self.bag_vocab,
            "char_vocab": self.char_vocab,
        }
        path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: str | Path) -> OfflineFeaturizer:
        path = Path(directory) / FEATURIZER_FILE
        if not path.is_file():
            raise CheckpointError(f"{path}: featurizer file missing; save the model again")
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
            config = OfflineModelConfig.model_validate(saved_offline_config(payload["config"]))
            vocab, bag_vocab = payload["vocab"], payload["bag_vocab"]
            char_vocab = payload["char_vocab"]
            if not all(isinstance(v, list) for v in (vocab, bag_vocab, char_vocab)):
                raise TypeError("vocabularies must be lists")
        except Exception as exc:  # any decoding/validation problem means a corrupt file
            raise CheckpointError(
                f"{path}: unreadable featurizer file ({type(exc).__name__}); save the model again"
            ) from None
        return cls(config, vocab, bag_vocab, char_vocab)


def _char_grid(features: Sequence[Features], width: int) -> np.ndarray:
    """``[B, width, K]`` character n-gram ids: row ``i``, token ``j`` holds that token's ids."""
    k = max([1, *(max(f["char_counts"]) for f in features)])
    grid = np.zeros((len(features), width, k), dtype=np.int64)
    for i, f in enumerate(features):
        flat = f["char_ids"]
        if not flat:
            continue
        counts = np.asarray(f["char_counts"], dtype=np.int64)
        token = np.repeat(np.arange(len(counts)), counts)
        # position of each id inside its token's run
        position = np.arange(len(flat)) - np.repeat(np.cumsum(counts) - counts, counts)
        grid[i, token, position] = flat
    return grid


def _frequent(counts: Counter[str], min_count: int) -> list[str]:
    # sorted by count then string: ids independent of hash seeds and text order
    return [g for g, c in sorted(counts.items(), key=lambda x: (-x[1], x[0])) if c >= min_count]

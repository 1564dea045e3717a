"""Pre-training of the offline encoder's syllable embeddings (``training.pretraining``).

Before the supervised run, skip-gram vectors (Mikolov et al. 2013, "Distributed
representations of words and phrases", negative sampling; fitted by gensim's
``Word2Vec``) are learned on the labelled training texts and the unlabelled ones
(``data.unlabeled``, read streamed up to ``max_unlabeled``). They initialise the
rows of the token embedding; everything else starts as before, and supervised
training then updates all weights. The saved model is an ordinary model: the
vectors only set initial weights, and the vocabulary (extended by the syllables
seen only in unlabelled text, with ``extend_vocab``) is saved as always.

Leakage guard: only training texts and unlabelled texts reach the fit. An
unlabelled text that also occurs in the validation or test split (compared by
:func:`acsa.data.reviews.text_key` after the run's word segmentation, as the data
validation compares splits) is dropped and counted; so is one that repeats a
training text (it is already in).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from acsa.data.reviews import text_key
from acsa.data.segmentation import segment_texts
from acsa.errors import ConfigError
from acsa.models.text import tokenize

if TYPE_CHECKING:
    from acsa.data import LabeledReviews
    from acsa.models.offline_featurizer import OfflineFeaturizer
    from acsa.training.config import AcsaConfig
    from acsa.training.pretraining_config import PretrainingConfig

logger = logging.getLogger(__name__)

EMBEDDING_STD = 0.1
"""Standard deviation the vectors are scaled to: that of the encoder's own initialisation."""

CHUNK = 1024
"""Unlabelled texts segmented and tokenized per step."""


@dataclass
class Pretrained:
    """Fitted vectors: ``tokens[i]`` has row ``vectors[i]``; ``summary`` goes to ``run.json``."""

    tokens: list[str]
    vectors: np.ndarray
    extend_vocab: bool
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def extra_tokens(self) -> list[str]:
        """Syllables to append to the featurizer's vocabulary (none without ``extend_vocab``)."""
        return self.tokens if self.extend_vocab else []

    def initialise(self, model: Any, featurizer: OfflineFeaturizer) -> int:
        """Copy the vectors (scaled to :data:`EMBEDDING_STD`) into the rows of ``model``'s token
        embedding whose syllable has one; returns how many rows were set."""
        import torch

        index = {t: i for i, t in enumerate(self.tokens)}
        rows = [(r + 2, index[t]) for r, t in enumerate(featurizer.vocab) if t in index]
        if not rows:
            return 0
        scale = EMBEDDING_STD / max(float(self.vectors.std()), 1e-12)
        target, source = zip(*rows, strict=True)
        weight = model.encoder.token_embedding.weight
        with torch.no_grad():
            values = torch.as_tensor(self.vectors[list(source)] * scale, dtype=weight.dtype)
            weight[list(target)] = values
        self.summary["initialised_rows"] = len(rows)
        return len(rows)


def pretrain(config: AcsaConfig, splits: Mapping[str, LabeledReviews]) -> Pretrained:
    """Fit the vectors of ``config.training.pretraining`` on the training split's texts and
    ``data.unlabeled`` (when set); validation and test texts never reach the fit."""
    settings = config.training.pretraining
    assert settings is not None and settings.enabled
    start = time.perf_counter()
    sentences = [_tokens(t, config) for t in splits["train"].texts]
    summary: dict[str, Any] = {"method": settings.method, "training_texts": len(sentences)}
    if config.data.unlabeled is not None:
        unlabeled, counts = _unlabeled_sentences(config, splits, settings.max_unlabeled)
        sentences.extend(unlabeled)
        summary.update(counts)
    tokens, vectors = fit_word2vec(sentences, config.model.embedding_dim, settings, config)
    summary.update(
        vectors=len(tokens),
        train_tokens=sum(len(s) for s in sentences),
        seconds=round(time.perf_counter() - start, 1),
    )
    logger.info(
        "pretraining: %d syllable vectors from %d texts in %.1f s",
        len(tokens),
        len(sentences),
        summary["seconds"],
    )
    return Pretrained(tokens, vectors, settings.extend_vocab, summary)


def fit_word2vec(
    sentences: Sequence[list[str]], dim: int, settings: PretrainingConfig, config: AcsaConfig
) -> tuple[list[str], np.ndarray]:
    """Skip-gram with negative sampling on ``sentences`` (token lists): the syllables kept
    (by descending count) and their vectors ``[V, dim]``. One worker and a fixed hash, so
    the same texts and seed give the same vectors."""
    try:
        from gensim.models import Word2Vec
    except ImportError:
        raise ConfigError(
            "training.pretraining.method: word2vec needs gensim; pip install 'acsa[pretrain]' "
            "or set method: none"
        ) from None

    model = Word2Vec(
        vector_size=dim,
        window=settings.window,
        min_count=settings.min_count,
        sg=1,
        negative=settings.negative,
        workers=1,
        seed=config.training.seed,
        hashfxn=_stable_hash,
    )
    model.build_vocab(sentences)
    tokens = list(model.wv.index_to_key)
    if not tokens:
        return [], np.zeros((0, dim), dtype=np.float32)
    logger.info(
        "pretraining: word2vec on %d texts, %d syllables, %d epochs",
        len(sentences),
        len(tokens),
        settings.epochs,
    )
    model.train(
        sentences,
        total_examples=len(sentences),
        epochs=settings.epochs,
        callbacks=[_Progress(settings.epochs)],
    )
    return tokens, np.asarray(model.wv.vectors, dtype=np.float32)


def _stable_hash(text: str) -> int:
    # gensim seeds each word's initial vector with hashfxn(word + seed); Python's hash of a
    # str changes from one process to the next
    return int.from_bytes(hashlib.md5(text.encode("utf-8")).digest()[:4], "little")


class _Progress:
    """gensim callback: one log line per epoch with the time spent and an estimate left."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs
        self.epoch = 0
        self.start = time.perf_counter()

    def on_train_begin(self, model: Any) -> None:
        self.start = time.perf_counter()

    def on_epoch_end(self, model: Any) -> None:
        self.epoch += 1
        spent = time.perf_counter() - self.start
        left = spent / self.epoch * (self.epochs - self.epoch)
        logger.info(
            "pretraining: epoch %d/%d, %.1f s, about %.0f s left",
            self.epoch,
            self.epochs,
            spent,
            left,
        )

    def __getattr__(self, name: str) -> Any:
        # the other gensim hooks (on_batch_begin, on_epoch_begin, ...): nothing to do
        if name.startswith("on_"):
            return lambda *args, **kwargs: None
        raise AttributeError(name)


def _tokens(text: str, config: AcsaConfig) -> list[str]:
    model = config.model
    return tokenize(text, getattr(model, "lowercase", True))[: getattr(model, "max_length", 1024)]


def _unlabeled_sentences(
    config: AcsaConfig, splits: Mapping[str, LabeledReviews], limit: int
) -> tuple[list[list[str]], dict[str, Any]]:
    """Token lists of the unlabelled texts kept (read streamed, at most ``limit``), and counts."""
    from acsa.data.unlabeled import iter_unlabeled, open_unlabeled

    assert config.data.unlabeled is not None
    held_out = {
        text_key(t) for name, reviews in splits.items() if name != "train" for t in reviews.texts
    }
    train = {text_key(t) for t in splits["train"].texts}
    source = open_unlabeled(config.data.unlabeled, config.data)
    counts = {"unlabeled_read": 0, "dropped_held_out": 0, "dropped_train": 0}
    sentences: list[list[str]] = []
    for chunk in _chunks(iter_unlabeled(source, config.data), CHUNK):
        for text in segment_texts(chunk, config.data.word_segmentation):
            if len(sentences) >= limit:
                break
            counts["unlabeled_read"] += 1
            key = text_key(text)
            if key in held_out:
                counts["dropped_held_out"] += 1
            elif key in train:
                counts["dropped_train"] += 1
            else:
                sentences.append(_tokens(text, config))
        if len(sentences) >= limit:
            break
    counts["unlabeled_used"] = len(sentences)
    if counts["dropped_held_out"]:
        logger.warning(
            "pretraining: %d unlabelled texts also in validation or test were dropped",
            counts["dropped_held_out"],
        )
    return sentences, counts


def _chunks(texts: Iterator[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for text in texts:
        chunk.append(text)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk

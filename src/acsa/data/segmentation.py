"""Vietnamese word segmentation: the one place a review's syllables are joined into words.

Vietnamese writes one syllable per space-separated unit; a word segmenter joins
the syllables of a multi-syllable word with ``_`` ("màn hình" -> "màn_hình").
PhoBERT-family checkpoints were pre-trained on text segmented this way and
expect it at their input. ``data.word_segmentation`` names the segmenter; the
training pipeline segments every split once after reading it, the name is
saved in the model's ``acsa_model.json`` (``word_segmentation``), and loading
the model (:func:`acsa.models.backend.load_backend`) segments every text it is
given the same way, so train and predict time agree. A model saved without the
key reads texts unchanged.

Segmenters (both ship their models and run offline; ``pip install "acsa[vi]"``):

* ``pyvi``: ``pyvi.ViTokenizer.tokenize`` (CRF).
* ``underthesea``: ``underthesea.word_tokenize(text, format="text")`` (CRF).

Both also split punctuation from words with a space. Tests and plug-ins may add
one with :func:`register_segmenter`.
"""

from __future__ import annotations

import logging
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import cache
from typing import Any

from acsa.errors import ConfigError, optional_import

logger = logging.getLogger(__name__)

NONE = "none"
# the saved model's acsa_model.json key holding the segmenter's name
METADATA_KEY = "word_segmentation"

Segment = Callable[[str], str]


def _pyvi() -> Segment:
    optional_import("pyvi", "vi", "word segmentation with pyvi")
    from pyvi import ViTokenizer

    return ViTokenizer.tokenize


def _underthesea() -> Segment:
    module = optional_import("underthesea", "vi", "word segmentation with underthesea")

    def segment(text: str) -> str:
        return module.word_tokenize(text, format="text")

    return segment


# name -> factory of the per-text function (imports the package when first used)
SEGMENTERS: dict[str, Callable[[], Segment]] = {"pyvi": _pyvi, "underthesea": _underthesea}


def register_segmenter(name: str, factory: Callable[[], Segment]) -> None:
    """Make ``name`` a valid ``data.word_segmentation`` value (``factory`` builds the function)."""
    if name == NONE:
        raise ValueError(f"{NONE!r} is reserved: it means no segmentation")
    SEGMENTERS[name] = factory
    _segmenter.cache_clear()


def known_segmenters() -> tuple[str, ...]:
    """Every valid ``data.word_segmentation`` value, ``none`` first."""
    return (NONE, *sorted(SEGMENTERS))


def check_name(name: str) -> str:
    """``name`` when it names a segmenter (or ``none``); ``ValueError`` listing the valid ones."""
    if name != NONE and name not in SEGMENTERS:
        raise ValueError(f"unknown segmenter {name!r}; one of: {', '.join(known_segmenters())}")
    return name


@cache
def _segmenter(name: str) -> Segment:
    if name not in SEGMENTERS:
        raise ConfigError(
            f"word_segmentation: unknown segmenter {name!r}; "
            f"one of: {', '.join(known_segmenters())}"
        )
    return SEGMENTERS[name]()


def load_segmenter(name: str) -> Segment | None:
    """The per-text function of ``name`` (``None`` for ``none``), its package imported.

    Raises :class:`acsa.errors.DependencyError` (one line, with the pip command)
    when the package is not installed, :class:`ConfigError` for an unknown name.
    """
    return None if name == NONE else _segmenter(name)


def segment_texts(texts: Sequence[str], name: str) -> list[str]:
    """``texts`` word-segmented by ``name`` (NFC-normalised first); ``none`` returns them as is."""
    segment = load_segmenter(name)
    if segment is None:
        return list(texts)
    return [segment(unicodedata.normalize("NFC", text)) for text in texts]


def segment_reviews(reviews: Any, name: str) -> Any:
    """A copy of a :class:`acsa.data.readers.LabeledReviews` with segmented texts
    (the same object for ``none``)."""
    if name == NONE:
        return reviews
    return replace(reviews, texts=segment_texts(reviews.texts, name))


def segment_splits(splits: Mapping[str, Any], name: str) -> dict[str, Any]:
    """Every split of ``splits`` (name -> reviews) segmented by ``name``, with a log line."""
    if name == NONE:
        return dict(splits)
    load_segmenter(name)  # a missing package fails before any work
    start = time.perf_counter()
    out = {key: segment_reviews(reviews, name) for key, reviews in splits.items()}
    count = sum(len(reviews.texts) for reviews in splits.values())
    seconds = time.perf_counter() - start
    logger.info(
        "word segmentation (%s): %d reviews in %.1f s (%.0f per second)",
        name,
        count,
        seconds,
        count / max(seconds, 1e-9),
    )
    return out

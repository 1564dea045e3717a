"""A saved TF-IDF model's probabilities in numpy alone: what prediction needs, without scikit-learn.

:class:`acsa.models.tfidf.TfidfAspectModel` is fitted with scikit-learn and
saved as plain arrays (``tfidf_features.json``: each vectorizer's terms and
IDF; ``model.safetensors``: each aspect's logistic-regression coefficients).
Importing scikit-learn takes about a second (it pulls in scipy.stats and
pandas), longer than ``acsa predict`` spends on the 1,492 test reviews, so
:class:`TfidfScorer` reads the same files and computes the same
probabilities with numpy:

* the two analyzers scikit-learn's ``TfidfVectorizer`` documents for the
  options acsa uses: ``analyzer="word"`` (tokens are runs of two or more word
  characters, ``(?u)\\b\\w\\w+\\b``, joined into 1- to ``n``-grams with one
  space) and ``analyzer="char_wb"`` (character n-grams of each
  whitespace-separated word padded with one space either side; a padded word
  no longer than ``n`` is one n-gram, and no longer n-grams are taken from it);
* sublinear TF ``1 + log(count)``, times the IDF, each vectorizer's row
  scaled to unit L2 norm (a ``FeatureUnion`` of the two);
* per aspect ``z = x . coef + intercept`` and a softmax, or for a two-class
  aspect the logistic function of its single row (scikit-learn's binary case).

``tests/test_tfidf_scorer.py`` checks it against the scikit-learn model on
synthetic edge cases and on the shared reviews (probabilities within 1e-9).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import numpy as np

from acsa.errors import CheckpointError
from acsa.models.config import TfidfModelConfig
from acsa.models.saved import CONFIG_FILE, TFIDF_FEATURES_FILE, WEIGHTS_FILE, read_metadata

__all__ = [
    "TfidfArrays",
    "TfidfScorer",
    "log_probabilities",
    "nfc",
    "nfc_lower",
    "read_tfidf_arrays",
]

NUM_CLASSES = 4
_MIN_PROB = 1e-12
_WORD_CACHE_SIZE = 500_000
_WORD_TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token_pattern


def log_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """``float32`` log-probabilities usable as logits: a softmax gives the probabilities
    back, and a class with probability 0 gets ``log(1e-12)``."""
    return np.log(np.clip(probabilities, _MIN_PROB, 1.0)).astype(np.float32)


def nfc(text: str) -> str:
    """NFC form: Vietnamese text mixes precomposed and combining diacritics, and one
    form keeps the same syllable from becoming two vocabulary entries."""
    return unicodedata.normalize("NFC", text)


def nfc_lower(text: str) -> str:
    """NFC form, lowercased (the TF-IDF model's default preprocessing)."""
    return unicodedata.normalize("NFC", text).lower()


def word_ngrams(text: str, max_n: int) -> list[str]:
    """Word 1- to ``max_n``-grams of a preprocessed text."""
    tokens = _WORD_TOKEN.findall(text)
    grams = list(tokens)
    for n in range(2, max_n + 1):
        grams.extend(" ".join(tokens[start : start + n]) for start in range(len(tokens) - n + 1))
    return grams


def char_wb_ngrams(text: str, min_n: int, max_n: int) -> list[str]:
    """Character ``min_n``- to ``max_n``-grams inside word boundaries (``char_wb``)."""
    grams: list[str] = []
    for word in text.split():
        padded = f" {word} "
        length = len(padded)
        for n in range(min_n, max_n + 1):
            if length <= n:  # the whole padded word, once, and nothing longer
                grams.append(padded)
                break
            grams.extend([padded[start : start + n] for start in range(length - n + 1)])
    return grams


@dataclass(frozen=True)
class TfidfArrays:
    """A saved TF-IDF model as plain arrays, checked against each other.

    Attributes:
        config: the ``model:`` section it was fitted with.
        aspects: aspect names, in label-column order.
        aspect_classes: per aspect the canonical classes its classifier knows.
        vocabularies: per vectorizer (``word``, then ``char``) its terms in column order.
        idf: per vectorizer its IDF, ``float64 [F_v]``.
        coef, intercept: per aspect ``float32 [K, F]`` and ``[K]`` (``K`` is 1 for a
            two-class aspect, as in scikit-learn), ``None`` for a one-class aspect.
    """

    config: TfidfModelConfig
    aspects: tuple[str, ...]
    aspect_classes: list[list[int]]
    vocabularies: dict[str, list[str]]
    idf: dict[str, np.ndarray]
    coef: list[np.ndarray | None]
    intercept: list[np.ndarray | None]


def vectorizer_names(config: TfidfModelConfig) -> list[str]:
    """The vectorizers a config has, in feature-column order."""
    return ["word", "char"] if config.char_ngram_max else ["word"]


def read_tfidf_arrays(directory: str | Path) -> TfidfArrays:
    """Read and check a folder written by ``TfidfAspectModel.save_pretrained``.

    Raises:
        CheckpointError: a file is missing, corrupt or inconsistent (one line).
    """
    root = Path(directory)
    meta = read_metadata(root, kind="tfidf")
    config = meta.model_config
    assert isinstance(config, TfidfModelConfig)  # read_metadata checked the kind
    try:
        aspect_classes = [[int(c) for c in cs] for cs in meta.fields["aspect_classes"]]
        if len(aspect_classes) != meta.label_space.num_aspects or any(
            not cs or sorted(set(cs)) != cs or cs[0] < 0 or cs[-1] >= NUM_CLASSES
            for cs in aspect_classes
        ):
            raise ValueError("aspect_classes do not match the aspects")
    except Exception as exc:  # any decode or validation problem: the file is damaged
        raise meta.damaged(exc) from None
    vocabularies, idf = _read_features(root / TFIDF_FEATURES_FILE, vectorizer_names(config))
    num_features = sum(len(terms) for terms in vocabularies.values())
    coef, intercept = _read_coefficients(root / WEIGHTS_FILE, aspect_classes, num_features)
    return TfidfArrays(
        config, meta.label_space.aspects, aspect_classes, vocabularies, idf, coef, intercept
    )


def _read_features(
    path: Path, names: list[str]
) -> tuple[dict[str, list[str]], dict[str, np.ndarray]]:
    if not path.is_file():
        raise CheckpointError(f"{path}: missing; the saved model is incomplete")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(
            f"{path}: unreadable TF-IDF vocabulary ({type(exc).__name__}); save the model again"
        ) from None
    vocabularies: dict[str, list[str]] = {}
    idf: dict[str, np.ndarray] = {}
    try:
        if not isinstance(data, dict) or set(data) != set(names):
            raise ValueError("vectorizer names differ from the model config")
        for name in names:
            terms, weights = data[name]["vocabulary"], np.asarray(data[name]["idf"], np.float64)
            if not all(isinstance(t, str) for t in terms) or len(set(terms)) != len(terms):
                raise ValueError("vocabulary must be distinct strings")
            if weights.shape != (len(terms),) or not np.isfinite(weights).all() or not terms:
                raise ValueError("idf does not match the vocabulary")
            vocabularies[name], idf[name] = list(terms), weights
    except Exception as exc:
        raise CheckpointError(
            f"{path}: damaged TF-IDF vocabulary ({type(exc).__name__}: {exc}); save the model again"
        ) from None
    return vocabularies, idf


def _read_coefficients(
    path: Path, aspect_classes: list[list[int]], num_features: int
) -> tuple[list[np.ndarray | None], list[np.ndarray | None]]:
    from safetensors.numpy import load_file

    if not path.is_file():
        raise CheckpointError(f"{path}: missing; the saved model is incomplete")
    try:
        tensors = load_file(str(path))
    except Exception as exc:
        raise CheckpointError(
            f"{path}: corrupt weights file ({type(exc).__name__}); save the model again"
        ) from None
    coefs: list[np.ndarray | None] = []
    intercepts: list[np.ndarray | None] = []
    for a, classes in enumerate(aspect_classes):
        if len(classes) < 2:
            coefs.append(None)
            intercepts.append(None)
            continue
        rows = 1 if len(classes) == 2 else len(classes)  # scikit-learn's binary case: one row
        coef, intercept = tensors.get(f"coef.{a}"), tensors.get(f"intercept.{a}")
        if coef is None or intercept is None:
            raise CheckpointError(
                f"{path}: no coefficients for aspect number {a + 1}; the file does not match "
                f"{CONFIG_FILE}, save the model again"
            )
        if coef.shape != (rows, num_features) or intercept.shape != (rows,):
            raise CheckpointError(
                f"{path}: coefficients of aspect number {a + 1} have shape {coef.shape}, "
                f"expected {(rows, num_features)}; the file does not match the vocabulary"
            )
        coefs.append(coef)
        intercepts.append(intercept)
    return coefs, intercepts


class TfidfScorer:
    """Class probabilities of a saved TF-IDF model, numpy only (module docstring).

    Args:
        arrays: the saved model (:func:`read_tfidf_arrays`).
    """

    def __init__(self, arrays: TfidfArrays) -> None:
        config = arrays.config
        self.aspects: tuple[str, ...] = arrays.aspects
        self.aspect_classes = arrays.aspect_classes
        self._preprocess: Callable[[str], str] = nfc_lower if config.lowercase else nfc
        self._sublinear = config.sublinear_tf
        self._word_n = config.word_ngram_max
        self._char_range = (config.char_ngram_min, config.char_ngram_max)
        # {term: column of the stacked features}, per vectorizer
        self._columns: dict[str, dict[str, int]] = {}
        offset = 0
        for name, terms in arrays.vocabularies.items():
            self._columns[name] = {term: offset + i for i, term in enumerate(terms)}
            offset += len(terms)
        # a review repeats the words of other reviews: their character n-grams' columns,
        # looked up once per word (bounded: cleared when it is full)
        self._word_cache: dict[str, list[int]] = {}
        self._offsets = np.cumsum([0] + [len(t) for t in arrays.vocabularies.values()])[:-1]
        self._num_features = offset
        self._idf = np.concatenate([arrays.idf[name] for name in arrays.vocabularies])
        # every aspect's coefficient rows side by side, features first: one gather per review
        fitted = [a for a, c in enumerate(arrays.coef) if c is not None]
        self._coef = (
            np.concatenate([arrays.coef[a] for a in fitted]).T.astype(np.float64)  # type: ignore[misc]
            if fitted
            else np.zeros((offset, 0))
        )
        self._intercept = (
            np.concatenate([arrays.intercept[a] for a in fitted]).astype(np.float64)  # type: ignore[misc]
            if fitted
            else np.zeros(0)
        )
        self._slices: dict[int, slice] = {}
        start = 0
        for a in fitted:
            rows = arrays.coef[a].shape[0]  # type: ignore[union-attr]
            self._slices[a] = slice(start, start + rows)
            start += rows

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> TfidfScorer:
        """Load a folder written by ``TfidfAspectModel.save_pretrained``."""
        return cls(read_tfidf_arrays(directory))

    def _sparse_rows(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The TF-IDF matrix of ``texts`` as (row, column, value) arrays, rows ascending."""
        found: list[int] = []  # each n-gram's column, -1 when it is not in the vocabulary
        lengths: list[int] = []
        words = self._columns["word"]
        for text in texts:
            text = self._preprocess(text)
            before = len(found)
            found.extend(map(words.get, word_ngrams(text, self._word_n), repeat(-1)))
            if "char" in self._columns:
                for word in text.split():
                    found.extend(self._char_columns(word))
            lengths.append(len(found) - before)
        columns = np.asarray(found, dtype=np.int64)
        rows = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        keep = columns >= 0
        # one entry per (review, column), with its count; np.unique sorts by review
        keys, counts = np.unique(
            rows[keep] * self._num_features + columns[keep], return_counts=True
        )
        rows, columns = np.divmod(keys, self._num_features)
        tf = counts.astype(np.float64)
        if self._sublinear:
            tf = np.log(tf) + 1.0
        values = tf * self._idf[columns]
        # each (review, vectorizer) part is scaled to unit L2 norm
        segments = rows * len(self._offsets) + np.searchsorted(self._offsets, columns, "right") - 1
        norms = np.sqrt(np.bincount(segments, weights=values * values))
        values /= norms[segments]  # a part that has entries has a positive norm
        return rows, columns, values

    def _char_columns(self, word: str) -> list[int]:
        """The columns of a word's character n-grams that are in the vocabulary."""
        cached = self._word_cache.get(word)
        if cached is None:
            if len(self._word_cache) >= _WORD_CACHE_SIZE:
                self._word_cache.clear()
            chars = self._columns["char"]
            grams = char_wb_ngrams(word, *self._char_range)
            cached = [c for c in map(chars.get, grams) if c is not None]
            self._word_cache[word] = cached
        return cached

    def predict_proba(self, texts: Sequence[str], chunk_size: int = 256) -> np.ndarray:
        """``float64 [N, A, 4]`` probabilities, canonical order, as the fitted model gives."""
        n = len(texts)
        scores = np.zeros((n, self._coef.shape[1]), dtype=np.float64)
        for start in range(0, n, chunk_size):
            rows, columns, values = self._sparse_rows(texts[start : start + chunk_size])
            if not rows.size:
                continue
            contributions = self._coef[columns] * values[:, None]  # [entries, K]
            first = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])  # each review's first entry
            scores[start + rows[first]] = np.add.reduceat(contributions, first, axis=0)
        scores += self._intercept
        out = np.zeros((n, len(self.aspects), NUM_CLASSES), dtype=np.float64)
        for a, classes in enumerate(self.aspect_classes):
            if a not in self._slices:
                out[:, a, classes[0]] = 1.0
                continue
            z = scores[:, self._slices[a]]
            if len(classes) == 2:
                positive = 1.0 / (1.0 + np.exp(-z[:, 0]))
                out[:, a, classes[0]] = 1.0 - positive
                out[:, a, classes[1]] = positive
            else:
                z = np.exp(z - z.max(axis=1, keepdims=True))
                out[:, a, classes] = z / z.sum(axis=1, keepdims=True)
        return out

"""Duplicate and near-duplicate reviews whose labels differ.

Two reviews are near duplicates when the cosine similarity of their character
3-gram TF-IDF vectors (case and punctuation ignored) is at least
``threshold`` (0.9 by default): the same review pasted twice with a typo
fixed, an emoji added or a word changed. Pairs whose known labels agree are
not reported; their labels cannot both be right when they disagree on a cell
of near-identical text, unless the changed words carry the sentiment.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np

from acsa.data.reviews import LabeledReviews

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


@dataclass
class ConflictPair:
    """Two reviews (indices into the split) with similar text and different labels."""

    first: int
    second: int
    similarity: float
    aspects: list[int]  # aspects whose known labels differ


def normalise(text: str) -> str:
    """NFC, lower case, punctuation and whitespace runs collapsed to one space."""
    text = unicodedata.normalize("NFC", text).casefold()
    return " ".join(_NON_WORD.sub(" ", text).split())


def conflicting_pairs(
    reviews: LabeledReviews, threshold: float = 0.9, chunk: int = 2000
) -> list[ConflictPair]:
    """Pairs of near-identical reviews whose labels differ on some aspect, most similar first."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [normalise(t) for t in reviews.texts]
    if len(texts) < 2:
        return []
    try:
        features = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3)).fit_transform(texts)
    except ValueError:  # no text has a single 3-gram (only punctuation or emoji)
        return []
    pairs: list[ConflictPair] = []
    for start in range(0, len(texts), chunk):
        block = (features[start : start + chunk] @ features.T).tocoo()
        for i, j, sim in zip(block.row + start, block.col, block.data, strict=True):
            if j <= i or sim < threshold - 1e-9:
                continue
            both = reviews.mask[i] & reviews.mask[j]
            differ = np.flatnonzero(both & (reviews.labels[i] != reviews.labels[j]))
            if differ.size:
                pairs.append(ConflictPair(int(i), int(j), float(min(sim, 1.0)), differ.tolist()))
    pairs.sort(key=lambda p: (-p.similarity, p.first, p.second))
    return pairs

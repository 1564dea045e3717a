"""Text normalisation and tokenization shared by the offline featurizer.

Vietnamese writes one syllable per space-separated unit, so a review splits into
syllables and punctuation marks; multi-syllable words are recovered by the
bigram features and by the sequence layer.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

_TOKEN_RE = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def normalize(text: str, lowercase: bool = True) -> str:
    """NFC-normalise (reviews mix composed and decomposed accents) and optionally lowercase."""
    text = unicodedata.normalize("NFC", text)
    return text.lower() if lowercase else text


def tokenize(text: str, lowercase: bool = True) -> list[str]:
    """Split a review into syllables/words and single punctuation marks."""
    return _TOKEN_RE.findall(normalize(text, lowercase))


def char_ngrams(token: str, n_min: int, n_max: int) -> Iterator[str]:
    """Character n-grams of ``<token>`` (boundary marks included), shortest first."""
    marked = f"<{token}>"
    for n in range(n_min, n_max + 1):
        for start in range(0, len(marked) - n + 1):
            yield marked[start : start + n]


def word_ngrams(tokens: list[str], n_max: int) -> Iterator[str]:
    """Word n-grams of orders 1..n_max, joined with a space."""
    for n in range(1, n_max + 1):
        for start in range(0, len(tokens) - n + 1):
            yield " ".join(tokens[start : start + n])

"""Exact contributions of the TF-IDF model: coefficient times feature value, back on the words.

For one aspect's logistic regression and its predicted class ``c``, the logit
is ``z_c = b_c + sum_j w_cj x_j`` over the review's TF-IDF features ``x``, so
``w_cj x_j`` is feature ``j``'s exact share of ``z_c - b_c``. (An aspect with
two classes in training has one scikit-learn row ``w``: the logit is then the
log-odds of the predicted class against the other, ``+-(w . x + b)``.)

Each feature's share goes to the words it was read from: a word n-gram's to
the n words it covers, equally; a character n-gram's (``char_wb``) to the
characters it covers, equally, and so to the tokens holding them; a term seen
several times in the review shares equally among its occurrences. The tokens'
contributions therefore add up to ``z_c - b_c`` exactly (tested).

The model's fitted parts are read through :func:`_fitted`, so the scikit-learn
naming of fitted attributes (a trailing underscore) and the older one both work.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from acsa.explain.spans import AlignedText, aligned_normal_form, token_index_of_chars

Occurrence = tuple[str, list[int]]  # (term, normalised character positions it covers)


def _fitted(model: Any, name: str) -> Any:
    """A fitted attribute of the TF-IDF model: ``name_`` (scikit-learn style) or ``name``."""
    for attribute in (f"{name}_", name):
        if hasattr(model, attribute):
            return getattr(model, attribute)
    raise AttributeError(f"the TF-IDF model has no fitted {name!r}")


def vectorizers(model: Any) -> dict[str, Any]:
    """``{"word": TfidfVectorizer, "char": ...}`` in feature-column order."""
    return dict(_fitted(model, "vectorizers"))


def classifiers(model: Any) -> list[Any | None]:
    return list(_fitted(model, "classifiers"))


def aspect_classes(model: Any) -> list[list[int]]:
    return [list(c) for c in _fitted(model, "aspect_classes")]


def _word_occurrences(vectorizer: Any, text: str) -> Iterator[Occurrence]:
    """The word n-grams of ``text`` (scikit-learn's ``word`` analyzer) with their characters."""
    words = list(re.finditer(vectorizer.token_pattern, text))
    low, high = vectorizer.ngram_range
    for n in range(low, high + 1):
        for start in range(0, len(words) - n + 1):
            run = words[start : start + n]
            yield " ".join(m.group() for m in run), [m.start() for m in run]


def _char_wb_occurrences(vectorizer: Any, text: str) -> Iterator[Occurrence]:
    """The ``char_wb`` n-grams of ``text`` with the real (not padding) characters each covers.

    Mirrors scikit-learn's ``_char_wb_ngrams``: each whitespace-separated word
    padded with one space on both sides, every n-gram of it, and a word shorter
    than ``n`` counted once as a whole.
    """
    low, high = vectorizer.ngram_range
    for match in re.finditer(r"\S+", text):
        padded = f" {match.group()} "
        size = len(padded)
        for n in range(low, high + 1):
            last = max(0, size - n)
            for offset in range(0, last + 1):
                covered = range(max(offset, 1), min(offset + n, size - 1))
                yield padded[offset : offset + n], [match.start() + p - 1 for p in covered]
            if last == 0:
                break


def _occurrences(vectorizer: Any, text: str) -> Iterator[Occurrence]:
    if vectorizer.analyzer == "char_wb":
        return _char_wb_occurrences(vectorizer, text)
    if vectorizer.analyzer == "word":
        return _word_occurrences(vectorizer, text)
    raise ValueError(f"no explanation for a {vectorizer.analyzer!r} analyzer")


def _class_row(model: Any, aspect: int, label: int) -> tuple[np.ndarray, float] | None:
    """The coefficients and intercept of ``label``'s logit for ``aspect`` (None: no classifier)."""
    clf = classifiers(model)[aspect]
    classes = aspect_classes(model)[aspect]
    if clf is None or label not in classes:
        return None
    coef, intercept = np.asarray(clf.coef_), np.asarray(clf.intercept_)
    if len(classes) == 2:  # one row: the log-odds of classes[1]
        sign = 1.0 if label == classes[1] else -1.0
        return sign * coef[0], sign * float(intercept[0])
    row = classes.index(label)
    return coef[row], float(intercept[row])


def tfidf_contributions(
    model: Any, text: str, targets: Sequence[tuple[int, int]]
) -> tuple[AlignedText, list[tuple[np.ndarray, float, float]]]:
    """Per ``(aspect, canonical label)`` target: each token's contribution (tokens of
    :data:`acsa.explain.spans.TOKEN_RE` on the normalised text), their sum, and the intercept.

    The sum equals the label's logit minus its intercept (up to float rounding).
    """
    aligned = aligned_normal_form(text, model.config.lowercase)
    owner = token_index_of_chars(aligned)
    count = max(owner, default=-1) + 1
    parts = vectorizers(model)
    features = model.transform([text]).tocsr()
    rows = [_class_row(model, a, c) for a, c in targets]
    out = [np.zeros(count, dtype=np.float64) for _ in targets]
    column = 0
    for vectorizer in parts.values():
        vocabulary = vectorizer.vocabulary_
        occurrences = [o for o in _occurrences(vectorizer, aligned.normal) if o[0] in vocabulary]
        seen = Counter(term for term, _ in occurrences)
        values = {
            int(j) - column: float(v)
            for j, v in zip(features.indices, features.data, strict=True)
            if column <= j < column + len(vocabulary)
        }
        for term, chars in occurrences:
            value = values.get(vocabulary[term], 0.0)
            if not value or not chars:
                continue
            for k, row in enumerate(rows):
                if row is None:
                    continue
                share = row[0][column + vocabulary[term]] * value / seen[term] / len(chars)
                for position in chars:
                    out[k][owner[position]] += share
        column += len(vocabulary)
    results = []
    for k, row in enumerate(rows):
        results.append((out[k], float(out[k].sum()), 0.0 if row is None else row[1]))
    return aligned, results

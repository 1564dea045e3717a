"""ERASER faithfulness of token rankings: comprehensiveness and sufficiency.

DeYoung et al., "ERASER: A Benchmark to Evaluate Rationalized NLP Models",
ACL 2020 (arXiv:1911.03429), section 4: for a review ``x``, a predicted label
``y`` and a set ``r`` of the review's tokens,

* comprehensiveness = ``p(y | x) - p(y | x without r)``: a faithful ranking's
  top tokens are the ones the model needs, so removing them costs probability;
* sufficiency = ``p(y | x) - p(y | r alone)``: lower is better.

Here each (review, mentioned aspect) is one case: ``y`` is that aspect's
predicted label, ``p`` its canonical-order probability, and the tokens are
those of :func:`acsa.explain.spans.token_spans`. Removed tokens are replaced by a
space (so the words around them do not merge); kept tokens are joined by spaces.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from acsa.explain.spans import Span


@dataclass(frozen=True)
class Case:
    """One (review, aspect) to score: the review, the aspect's index and label, its tokens."""

    text: str
    aspect: int
    label: int
    spans: tuple[Span, ...]


def without(text: str, spans: Sequence[Span], chosen: Sequence[int]) -> str:
    """``text`` with the tokens ``chosen`` (indices into ``spans``) replaced by a space."""
    out, at = [], 0
    for index in sorted(set(chosen)):
        span = spans[index]
        out.append(text[at : span.start])
        out.append(" ")
        at = span.end
    out.append(text[at:])
    return "".join(out)


def only(spans: Sequence[Span], chosen: Sequence[int]) -> str:
    """The tokens ``chosen``, in text order, joined by spaces."""
    return " ".join(spans[i].text for i in sorted(set(chosen)))


def eraser_scores(
    cases: Sequence[Case],
    chosen: Sequence[Sequence[int]],
    probabilities: Callable[[list[str]], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Per case, comprehensiveness and sufficiency of its ``chosen`` tokens.

    Args:
        cases: the (review, aspect) cases.
        chosen: per case the indices of the tokens in the rationale.
        probabilities: texts -> ``[N, A, 4]`` canonical probabilities
            (:meth:`acsa.api.Predictor.predict_proba`); called once on all texts.
    """
    texts = [c.text for c in cases]
    texts += [without(c.text, c.spans, k) for c, k in zip(cases, chosen, strict=True)]
    texts += [only(c.spans, k) for c, k in zip(cases, chosen, strict=True)]
    probs = probabilities(texts)
    n = len(cases)
    rows = np.arange(n)
    aspects = np.array([c.aspect for c in cases], dtype=np.int64)
    labels = np.array([c.label for c in cases], dtype=np.int64)
    full = probs[rows, aspects, labels]
    removed = probs[rows + n, aspects, labels]
    kept = probs[rows + 2 * n, aspects, labels]
    return full - removed, full - kept

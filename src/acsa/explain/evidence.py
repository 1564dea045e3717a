"""What an explanation is: per mentioned aspect, the review's tokens and their contributions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# decimals of a contribution in JSON answers
CONTRIBUTION_DECIMALS = 4


@dataclass(frozen=True)
class TokenContribution:
    """One token of the review (``text[start:end]`` as written) and its contribution.

    A positive contribution pushes the aspect towards its predicted label, a
    negative one away from it.
    """

    start: int
    end: int
    text: str
    contribution: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "contribution": round(float(self.contribution), CONTRIBUTION_DECIMALS),
        }


@dataclass(frozen=True)
class AspectEvidence:
    """The evidence for one mentioned aspect's predicted label.

    Attributes:
        aspect: the aspect's name.
        label: the predicted sentiment (``negative``, ``neutral``, ``positive``).
        tokens: every token of the review in text order, with its contribution.
        target: what the contributions explain (``"log_probability"`` of the
            label for neural models, ``"logit"`` for the TF-IDF model).
        method: ``"integrated_gradients"`` or ``"exact_linear"``.
        total: the explained quantity's change the contributions add up to
            (the IG path's end minus its baseline, or the logit minus the intercept).
    """

    aspect: str
    label: str
    tokens: tuple[TokenContribution, ...]
    target: str
    method: str
    total: float
    extra: dict[str, Any] = field(default_factory=dict)

    def top(self, k: int | None) -> list[TokenContribution]:
        """The ``k`` tokens of largest absolute contribution (all when ``k`` is None), strongest
        first; ties keep text order."""
        ranked = sorted(self.tokens, key=lambda t: -abs(t.contribution))
        return ranked if k is None else ranked[:k]

    def to_dict(self, top_k: int | None = None) -> dict[str, Any]:
        return {
            "label": self.label,
            "method": self.method,
            "target": self.target,
            "total": round(float(self.total), CONTRIBUTION_DECIMALS),
            "tokens": [t.to_dict() for t in self.top(top_k)],
        }


@dataclass(frozen=True)
class Explanation:
    """A review's prediction (an :class:`acsa.api.Prediction`) and the evidence of each
    aspect it says is mentioned; unmentioned aspects have no entry."""

    prediction: Any
    evidence: dict[str, AspectEvidence]

    @property
    def text(self) -> str:
        return str(self.prediction.text)

    def to_payload(self, top_k: int | None = None) -> dict[str, Any]:
        """The prediction's payload plus ``"explanations": {aspect: {label, tokens, ...}}``."""
        payload = self.prediction.to_payload()
        payload["explanations"] = {a: e.to_dict(top_k) for a, e in self.evidence.items()}
        return payload

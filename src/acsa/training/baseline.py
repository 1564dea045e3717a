"""The TF-IDF baseline fitted beside a run, so every run shows whether its model earns its keep.

:func:`fit_baseline` fits :class:`acsa.models.tfidf.TfidfAspectModel` on the
same training split the configured model sees and scores it on the other
splits with the same metrics (GUIDE.md section 2). With
``decision_thresholds`` it also gets mention thresholds fitted on the
validation split, as the configured model does, so the two are compared under
the same decision rule.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from acsa.evaluation import compute_metrics
from acsa.evaluation.decision import (
    DEFAULT_CV_FOLDS,
    DEFAULT_MARGIN,
    DEFAULT_MIN_MENTIONS,
    DecisionRule,
)
from acsa.models.tfidf import TfidfAspectModel, TfidfModelConfig

if TYPE_CHECKING:
    import numpy as np

    from acsa.data import LabeledReviews

HEADLINE_KEYS = ("pair_f1", "aspect_f1", "sentiment_macro_f1", "seed_weighted_f1")


def _score(
    probs: np.ndarray,
    reviews: LabeledReviews,
    aspects: Sequence[str],
    rule: DecisionRule | None,
) -> dict[str, Any]:
    pred = rule.decide(probs) if rule is not None else probs.argmax(-1)
    return compute_metrics(reviews.labels, pred, list(aspects), reviews.mask)


@dataclass
class BaselineRun:
    """A TF-IDF baseline fitted beside a run: the model, its scores and its cost.

    Attributes:
        metrics: per split, the scores under ``rule`` -- except ``validation``,
            always scored with the argmax rule (the thresholds are fitted on it).
        argmax_metrics: per split, the scores under the argmax rule (only with a rule).
        rule: the thresholds fitted on validation, or ``None``.
        probabilities: per scored split, the canonical probabilities ``[N, A, 4]``.
    """

    model: TfidfAspectModel
    metrics: dict[str, dict[str, Any]]
    fit_seconds: float
    fit_cpu_seconds: float
    rule: DecisionRule | None = None
    argmax_metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    probabilities: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """Plain JSON: config, fit time, decision rule and the headline metrics per split."""
        out: dict[str, Any] = {
            "model_config": self.model.config.model_dump(mode="json"),
            "fit_seconds": round(self.fit_seconds, 3),
            "fit_cpu_seconds": round(self.fit_cpu_seconds, 3),
            "decision": "mention_threshold"
            if self.rule is not None and self.rule.fitted_aspects
            else "argmax",
            **{split: _headline(m) for split, m in self.metrics.items()},
        }
        if self.argmax_metrics:
            out["argmax"] = {split: _headline(m) for split, m in self.argmax_metrics.items()}
        return out


def _headline(metrics: Mapping[str, Any]) -> dict[str, Any]:
    return {k: metrics[k] for k in HEADLINE_KEYS}


def fit_baseline(
    splits: Mapping[str, LabeledReviews],
    config: TfidfModelConfig | None = None,
    score: Sequence[str] = ("validation", "test"),
    *,
    decision_thresholds: bool = False,
    min_mentions: int = DEFAULT_MIN_MENTIONS,
    cv_folds: int = DEFAULT_CV_FOLDS,
    margin: float = DEFAULT_MARGIN,
) -> BaselineRun:
    """Fit the baseline on ``splits["train"]`` and score the ``score`` splits present.

    ``splits`` maps split names to ``LabeledReviews`` (what the run reads), so
    the baseline sees exactly the reviews and aspects the configured model
    trains on. With ``decision_thresholds`` (and a validation split), mention
    thresholds are fitted on validation (:class:`DecisionRule`) and the other
    splits are scored under them as well as under the argmax.
    """
    start, cpu = time.perf_counter(), time.process_time()
    model = TfidfAspectModel.from_config(config).fit_reviews(splits["train"])
    fit_seconds, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
    probabilities = {
        name: model.predict_proba(splits[name].texts)
        for name in dict.fromkeys(("validation", *score))
        if name in splits
    }
    rule = None
    if decision_thresholds and "validation" in splits:
        validation = splits["validation"]
        rule = DecisionRule.fit(
            probabilities["validation"],
            validation.labels,
            validation.mask,
            model.aspects,
            min_mentions=min_mentions,
            cv_folds=cv_folds,
            margin=margin,
        )
    metrics, argmax_metrics = {}, {}
    for name in score:
        if name not in splits:
            continue
        reviews = splits[name]
        if tuple(reviews.aspects) != model.aspects:
            raise ValueError(
                f"the {name} split's aspects {list(reviews.aspects)} differ from the "
                f"training split's {list(model.aspects)}"
            )
        probs = probabilities[name]
        argmax = _score(probs, reviews, model.aspects, None)
        if rule is None or name == "validation":
            metrics[name] = argmax
        else:
            metrics[name] = _score(probs, reviews, model.aspects, rule)
            argmax_metrics[name] = argmax
    return BaselineRun(model, metrics, fit_seconds, fit_cpu, rule, argmax_metrics, probabilities)

"""The TF-IDF baseline fitted beside a run, so every run shows whether its model earns its keep.

:func:`fit_baseline` fits :class:`acsa.models.tfidf.TfidfAspectModel` on the
same training split the configured model sees and scores it on the other
splits with the same metrics (GUIDE.md section 2).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from acsa.evaluation import compute_metrics
from acsa.models.tfidf import TfidfAspectModel, TfidfModelConfig

HEADLINE_KEYS = ("pair_f1", "aspect_f1", "sentiment_macro_f1", "seed_weighted_f1")


def score_reviews(model: TfidfAspectModel, reviews: Any) -> dict[str, Any]:
    """:func:`acsa.evaluation.compute_metrics` of ``model`` on a ``LabeledReviews``."""
    if tuple(reviews.aspects) != model.aspects:
        raise ValueError(
            f"the reviews' aspects {list(reviews.aspects)} differ from the model's "
            f"{list(model.aspects)}"
        )
    return compute_metrics(
        reviews.labels, model.predict(reviews.texts), model.aspects, reviews.mask
    )


@dataclass
class BaselineRun:
    """A TF-IDF baseline fitted beside a run: the model, its scores and its cost."""

    model: TfidfAspectModel
    metrics: dict[str, dict[str, Any]]
    fit_seconds: float
    fit_cpu_seconds: float

    def summary(self) -> dict[str, Any]:
        """Plain JSON: config, fit time and the headline metrics per split."""
        return {
            "model_config": self.model.config.model_dump(mode="json"),
            "fit_seconds": round(self.fit_seconds, 3),
            "fit_cpu_seconds": round(self.fit_cpu_seconds, 3),
            **{split: {k: m[k] for k in HEADLINE_KEYS} for split, m in self.metrics.items()},
        }


def fit_baseline(
    splits: Mapping[str, Any],
    config: TfidfModelConfig | None = None,
    score: Sequence[str] = ("validation", "test"),
) -> BaselineRun:
    """Fit the baseline on ``splits["train"]`` and score the ``score`` splits present.

    ``splits`` maps split names to ``LabeledReviews`` (what the run reads), so
    the baseline sees exactly the reviews and aspects the configured model
    trains on.
    """
    start, cpu = time.perf_counter(), time.process_time()
    model = TfidfAspectModel(config).fit_reviews(splits["train"])
    fit_seconds, fit_cpu = time.perf_counter() - start, time.process_time() - cpu
    metrics = {name: score_reviews(model, splits[name]) for name in score if name in splits}
    return BaselineRun(model, metrics, fit_seconds, fit_cpu)

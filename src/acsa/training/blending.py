"""The blend step of a run: the network and the TF-IDF baseline fitted beside it, mixed.

:func:`blend_run` fits the blend weights and the decision rule on the
validation predictions only (:func:`acsa.evaluation.blend.fit_blend`, with
its out-of-fold guard), saves ``tfidf/`` and ``blend.json`` beside the network
when the blend is kept (its ``decision.json`` replaces the network's), and
returns the saved model's validation and test predictions. The test split is
only ever decided here, never fitted on.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acsa.evaluation.decision import DECISION_FILE, DecisionRule
from acsa.evaluation.scoring import SplitPredictions

if TYPE_CHECKING:
    import numpy as np

    from acsa.training.baseline import BaselineRun
    from acsa.training.config import TrainingConfig

__all__ = ["BlendOutcome", "blend_run", "blend_skipped"]


@dataclass
class BlendOutcome:
    """What the blend step decided.

    Attributes:
        adopted: the saved model is the blend.
        rule: the decision rule of the blend (fitted on its validation probabilities).
        validation, test: the blend's predictions (labels by argmax), whether
            adopted or not (reported beside the network's and the TF-IDF model's).
        summary: ``metrics.json["blend"]`` (weights, guard, reason).
    """

    adopted: bool
    rule: DecisionRule | None
    validation: SplitPredictions
    test: SplitPredictions | None
    summary: dict[str, Any]


def blend_skipped(training: TrainingConfig, label_scheme: str, encoder: str) -> str | None:
    """Why no blend is fitted for this run (``None``: it is)."""
    if encoder == "tfidf":
        return "the model is the TF-IDF baseline itself"
    if training.blend == "off":
        return "training.blend: off"
    if not training.baseline:
        return "no TF-IDF baseline (training.baseline: false)"
    if label_scheme != "with_none":
        return f"label_scheme {label_scheme}: a blend needs with_none"
    return None


def _mixed(scored: SplitPredictions, p_tfidf: np.ndarray, weights: np.ndarray) -> SplitPredictions:
    from acsa.evaluation.blend import blend
    from acsa.evaluation.decision import decide

    probs = blend(scored.probabilities, p_tfidf, weights)
    return dataclasses.replace(scored, probabilities=probs, pred=decide(probs))


def blend_run(
    training: TrainingConfig,
    model_dir: Path,
    validation: SplitPredictions,
    test: SplitPredictions | None,
    baseline: BaselineRun,
    *,
    writes: bool = True,
) -> BlendOutcome:
    """Fit the blend on ``validation`` (the network's validation predictions and the
    baseline's validation probabilities) and save it with the model when kept."""
    from acsa.evaluation.blend import fit_blend
    from acsa.models.blended import save_blend

    fit = fit_blend(
        validation.probabilities,
        baseline.probabilities["validation"],
        validation.gold,
        validation.mask,
        validation.aspects,
        mode=training.blend_weights,
        folds=training.threshold_cv_folds,
        margin=training.threshold_margin,
        rule_options=training.decision_rule_options(),
        seed=training.seed,
    )
    # the candidate blend (fitted weights) is scored either way, for the report
    mixed_validation = _mixed(validation, baseline.probabilities["validation"], fit.fitted_weights)
    mixed_test = None
    if test is not None:
        mixed_test = _mixed(test, baseline.probabilities["test"], fit.fitted_weights)
    if fit.adopted and writes:
        weights = dict(zip(validation.aspects, fit.weights.tolist(), strict=True))
        save_blend(model_dir, baseline.model, weights, fit.fitted_on)
        if fit.rule is not None:
            fit.rule.save(model_dir)
        else:
            (model_dir / DECISION_FILE).unlink(missing_ok=True)
    summary = {"file": "model/blend.json" if fit.adopted else None, **fit.fitted_on}
    return BlendOutcome(fit.adopted, fit.rule, mixed_validation, mixed_test, summary)

"""After a model is fitted, whatever its encoder: the decision rule, the baseline, the test report.

* :func:`fit_decision_rule`: per-aspect mention thresholds fitted on the
  validation predictions of the restored best model (``training.decision_thresholds``),
  saved beside the model as ``decision.json`` so every consumer applies them.
* :func:`fit_run_baseline`: the TF-IDF baseline on the same splits
  (``training.baseline``), so every run shows whether its model earns its keep.
* :func:`report_run`: ``metrics.json`` (headline: the test scores under the
  saved rule; ``argmax``: the same model under the plain argmax rule;
  ``decision``; ``baseline``; ``validation``), ``predictions.csv`` and plots.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from acsa.evaluation.decision import ARGMAX_KEY, DecisionRule, decision_summary
from acsa.evaluation.scoring import SplitPredictions

__all__ = [
    "ARGMAX_KEY",
    "comparison_line",
    "decision_line",
    "decision_summary",
    "fit_decision_rule",
    "fit_run_baseline",
    "report_run",
    "with_rule",
]

logger = logging.getLogger(__name__)


def fit_decision_rule(config: Any, validation: SplitPredictions) -> DecisionRule | None:
    """The thresholds fitted on ``validation`` (``None`` when ``training.decision_thresholds``
    is off)."""
    if not config.training.decision_thresholds:
        return None
    return DecisionRule.fit(
        validation.probabilities,
        validation.gold,
        validation.mask,
        validation.aspects,
        min_mentions=config.training.threshold_min_mentions,
        cv_folds=config.training.threshold_cv_folds,
    )


def with_rule(scored: SplitPredictions, rule: DecisionRule | None) -> SplitPredictions:
    """``scored`` with its labels decided by ``rule`` (unchanged without one)."""
    if rule is None:
        return scored
    return dataclasses.replace(scored, pred=rule.decide(scored.probabilities))


def fit_run_baseline(config: Any, splits: Mapping[str, Any]) -> dict[str, Any] | None:
    """``BaselineRun.summary()`` of the TF-IDF baseline on ``splits``, or ``None`` when
    ``training.baseline`` is off or the model is itself the TF-IDF baseline."""
    if not config.training.baseline or config.model.encoder == "tfidf":
        return None
    from acsa.training.baseline import fit_baseline

    run = fit_baseline(
        splits,
        decision_thresholds=config.training.decision_thresholds,
        min_mentions=config.training.threshold_min_mentions,
        cv_folds=config.training.threshold_cv_folds,
    )
    return run.summary()


def report_run(
    out: Path | None,
    test: SplitPredictions | None,
    rule: DecisionRule | None,
    *,
    validation: dict[str, Any],
    baseline: dict[str, Any] | None,
    log_history: list[dict[str, Any]] | None,
    plots: bool,
) -> dict[str, Any] | None:
    """Score ``test`` (argmax labels) under ``rule`` and write the report into ``out``.

    Returns the test metrics (``None`` without a test split; ``metrics.json``
    then holds the other entries only). Nothing is written when ``out`` is None.
    """
    from acsa.evaluation import compute_metrics, scalar_metrics
    from acsa.evaluation.scoring import score_and_report
    from acsa.files import write_json

    extra: dict[str, Any] = {"validation": validation, "decision": decision_summary(rule)}
    if baseline is not None:
        extra["baseline"] = baseline
    if test is None:
        if out is not None:
            write_json(out / "metrics.json", extra)
        return None
    argmax = compute_metrics(test.gold, test.pred, list(test.aspects), test.mask)
    extra[ARGMAX_KEY] = scalar_metrics(argmax)
    return score_and_report(
        with_rule(test, rule), out, extra=extra, log_history=log_history, plots=plots
    )


def comparison_line(test: Mapping[str, Any]) -> str:
    """``pair-F1 0.861 (TF-IDF baseline 0.810, +5.1 points)``, from test metrics."""
    pair = float(test["pair_f1"])
    line = f"pair-F1 {pair:.3f}"
    baseline = (test.get("baseline") or {}).get("test") or {}
    if "pair_f1" in baseline:
        base = float(baseline["pair_f1"])
        line += f" (TF-IDF baseline {base:.3f}, {100 * (pair - base):+.1f} points)"
    return line


def decision_line(test: Mapping[str, Any]) -> str:
    """Which rule decided the test labels, and the argmax score beside it."""
    decision = test.get("decision") or {}
    thresholds = decision.get("thresholds") or {}
    if decision.get("rule") != "mention_threshold":
        reason = decision.get("reason") or "training.decision_thresholds: false"
        return f"decision rule: argmax ({reason})"
    fitted = sum(v is not None for v in thresholds.values())
    argmax = (test.get(ARGMAX_KEY) or {}).get("pair_f1")
    tail = f"; test pair-F1 with the argmax rule {float(argmax):.3f}" if argmax is not None else ""
    return (
        f"decision rule: mention thresholds fitted on validation for {fitted} of "
        f"{len(thresholds)} aspects (model/decision.json){tail}"
    )

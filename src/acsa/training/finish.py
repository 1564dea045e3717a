"""After a model is fitted, whatever its encoder: the decision rule, the baseline, the test
report, ``run.json`` and the :class:`TrainResult`.

* :func:`finish_run`: the sequence both fits end with (``acsa.training.run``:
  the Trainer's and the TF-IDF model's), from a :class:`FittedModel`.
* :func:`fit_decision_rule`: per-aspect mention thresholds fitted on the
  validation predictions of the restored best model (``training.decision_thresholds``),
  saved beside the model as ``decision.json`` so every consumer applies them.
* :func:`fit_run_baseline_model`: the TF-IDF baseline on the same splits
  (``training.baseline``), so every run shows whether its model earns its keep;
  a network's run fits it in a second process while it trains
  (:mod:`acsa.training.background_baseline`).
* :func:`report_run`: ``metrics.json`` (headline: the test scores under the
  saved rule; ``argmax``: the same model under the plain argmax rule;
  ``decision``; ``baseline``; ``validation``), ``predictions.csv`` and plots.
"""

from __future__ import annotations

import dataclasses
import logging
import platform
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acsa.evaluation.decision import ARGMAX_KEY, DecisionRule, decision_summary
from acsa.evaluation.scoring import SplitPredictions
from acsa.files import write_json
from acsa.training.blending import blend_skipped

if TYPE_CHECKING:
    from acsa.data import LabeledReviews
    from acsa.training.baseline import BaselineRun
    from acsa.training.blending import BlendOutcome
    from acsa.training.config import TrainingConfig

__all__ = [
    "ARGMAX_KEY",
    "FittedModel",
    "RunClock",
    "TrainResult",
    "comparison_line",
    "decision_line",
    "decision_summary",
    "finish_run",
    "fit_decision_rule",
    "fit_run_baseline_model",
    "report_run",
    "with_rule",
]

logger = logging.getLogger(__name__)


class RunClock:
    """Wall-clock seconds per named step, plus total and CPU time of the whole run."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.cpu_start = time.process_time()
        self.timings: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        tick = time.perf_counter()
        yield
        self.timings[name] = time.perf_counter() - tick

    def finish(self) -> dict[str, float]:
        self.timings["total"] = time.perf_counter() - self.start
        # CPU seconds of this process (all threads): on a shared machine wall time
        # depends on the neighbours, this much less.
        self.timings["cpu"] = time.process_time() - self.cpu_start
        return self.timings


@dataclass
class TrainResult:
    """What :func:`acsa.training.run.train` produced.

    Attributes:
        output_dir: the run folder.
        model_dir: the saved best model (``<output_dir>/model``).
        metrics: ``{"test": compute_metrics(...) or None, "validation": best
            validation scalars (``eval_pair_f1``, ...)}``.
        history: one dict per evaluation (epoch): ``epoch``, ``step``,
            ``eval_pair_f1``, ``eval_aspect_f1``, ``eval_loss``, ...
        timings: seconds: ``load_data``, ``build_model``, ``encode``,
            ``train``, ``decision``, ``test``, ``baseline``, ``report``, ``total``, ``cpu``.
        best_checkpoint: the checkpoint restored at the end (or ``None``); removed after
            a finished run unless ``training.keep_checkpoints``.
        global_step: optimizer steps done.
        skipped_batches: batches skipped by ``nan_policy: skip``.
        log_history: the Trainer's whole log history.
        test_predictions: the best model's predictions on the test split,
            beside the gold labels, decided by the saved rule (``None`` without
            a test split).
        decision: the decision rule saved with the model (``None``: argmax).
        baseline: the TF-IDF baseline's ``summary()`` (``None`` when not fitted).
        onnx: the ONNX export's label check (``acsa_model.json``'s ``onnx_check``),
            ``{"exported": False, "reason": ...}``, or ``None`` when not asked for.
    """

    output_dir: Path
    model_dir: Path
    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    timings: dict[str, float]
    best_checkpoint: str | None = None
    global_step: int = 0
    skipped_batches: int = 0
    log_history: list[dict[str, Any]] = field(default_factory=list)
    test_predictions: SplitPredictions | None = None
    decision: DecisionRule | None = None
    baseline: dict[str, Any] | None = None
    onnx: dict[str, Any] | None = None


@dataclass
class FittedModel:
    """A fitted and saved model, as the finishing step needs it.

    Attributes:
        out: the run folder.
        model_dir: where the model was saved (the decision rule goes beside it).
        encoder: ``model.encoder`` (``run.json``; ``tfidf`` gets no baseline beside it).
        predict: split name -> the model's predictions on that split, labels by argmax.
        run_info: what the fit did, for ``run.json`` (``global_step``, ...).
        best_validation: the best evaluation's scalars; ``None``: scored here
            from the validation predictions (a model fitted without evaluations).
        history: the evaluations; ``None``: ``[best_validation]``.
        log_history: the Trainer's log history (``None`` without a Trainer).
        best_checkpoint, global_step, skipped_batches: as in :class:`TrainResult`.
        writes: this process writes the files (rank 0).
        label_scheme: the model's label scheme (a blend needs ``with_none``).
        baseline: returns the TF-IDF baseline fitted while the model trained
            (:class:`~acsa.training.background_baseline.BackgroundBaseline`);
            ``None``: :func:`finish_run` fits it.
    """

    out: Path
    model_dir: Path
    encoder: str
    predict: Callable[[str], SplitPredictions]
    run_info: dict[str, Any]
    best_validation: dict[str, Any] | None = None
    history: list[dict[str, Any]] | None = None
    log_history: list[dict[str, Any]] | None = None
    best_checkpoint: str | None = None
    global_step: int = 0
    skipped_batches: int = 0
    writes: bool = True
    label_scheme: str = "with_none"
    baseline: Callable[[], BaselineRun | None] | None = None


def finish_run(
    fitted: FittedModel,
    splits: Mapping[str, LabeledReviews],
    training: TrainingConfig,
    clock: RunClock,
    *,
    plots: bool = True,
    export_onnx: bool = False,
) -> TrainResult:
    """Fit the decision rule on validation (saved beside the model), score the test split,
    fit the TF-IDF baseline beside the model, write the report and ``run.json``.

    Then, unless :func:`acsa.training.blending.blend_skipped` says why not, the
    blend of the network and the baseline is fitted on validation
    (:func:`acsa.training.blending.blend_run`) and, when its out-of-fold guard
    keeps it, becomes the saved model (``tfidf/``, ``blend.json``, its own
    ``decision.json``) and the headline of the report; ``metrics.json`` shows
    ``network``, ``baseline`` and ``blend`` side by side either way.

    With ``export_onnx`` (``acsa train``), the saved model is exported to
    ``model.onnx`` beside it and checked on the validation reviews
    (:func:`acsa.training.onnx_runtime.export_checked_onnx`).

    Every step is timed by ``clock`` (``decision``, ``test``, ``baseline``,
    ``blend``, ``onnx``, ``report``); only the process that ``writes`` saves files
    and fits the baseline.
    """
    writes = fitted.writes
    with clock("decision"):
        validation = fitted.predict("validation")
        rule = fit_decision_rule(training, validation)
        if rule is not None and writes:
            rule.save(fitted.model_dir)
    best_validation = fitted.best_validation
    if best_validation is None:
        best_validation = _scored_validation(validation)
    test: SplitPredictions | None = None
    with clock("test"):
        if "test" in splits:
            test = fitted.predict("test")
    baseline = None
    baseline_run = None
    # rank 0 alone: no collective operation follows, the other ranks are done
    if writes and fitted.encoder != "tfidf":
        # the wait for a baseline fitted beside the training, or the whole fit
        with clock("baseline"):
            if fitted.baseline is not None:
                baseline_run = fitted.baseline()
            else:
                baseline_run = fit_run_baseline_model(training, splits)
        baseline = baseline_run.summary() if baseline_run is not None else None
    network_rule, network_test = rule, test
    blended = None
    if writes:
        from acsa.models.blended import clear_blend
        from acsa.models.saved import remove_onnx

        # a resumed run's model folder may hold the blend and the graph of an earlier fit
        clear_blend(fitted.model_dir)
        remove_onnx(fitted.model_dir)
    skipped = blend_skipped(training, fitted.label_scheme, fitted.encoder)
    if skipped is None and baseline_run is not None and writes:
        from acsa.training.blending import blend_run

        with clock("blend"):
            blended = blend_run(
                training, fitted.model_dir, validation, test, baseline_run, writes=writes
            )
        if blended.adopted:
            rule, test = blended.rule, blended.test
    onnx = None
    if writes and export_onnx:
        from acsa.training.onnx_runtime import export_checked_onnx

        with clock("onnx"):
            texts = splits["validation"].texts if "validation" in splits else []
            onnx = export_checked_onnx(fitted.model_dir, fitted.encoder, texts)
    with clock("report"):
        sides = _side_by_side(network_test, network_rule, validation, blended, skipped)
        test_metrics = report_run(
            fitted.out if writes else None,
            test,
            rule,
            validation=best_validation,
            baseline=baseline,
            log_history=fitted.log_history,
            plots=plots,
            sides=sides,
        )
    timings = clock.finish()
    if writes:
        run_info = {
            **fitted.run_info,
            "best_validation": best_validation,
            "decision": decision_summary(rule)["rule"],
            "blend": bool(blended is not None and blended.adopted),
        }
        write_run_json(fitted.out, training.seed, fitted.encoder, timings, splits, run_info)
    return TrainResult(
        output_dir=fitted.out,
        model_dir=fitted.model_dir,
        metrics={"test": test_metrics, "validation": best_validation},
        history=fitted.history if fitted.history is not None else [best_validation],
        timings=timings,
        best_checkpoint=fitted.best_checkpoint,
        global_step=fitted.global_step,
        skipped_batches=fitted.skipped_batches,
        log_history=list(fitted.log_history or []),
        test_predictions=with_rule(test, rule) if test else None,
        decision=rule,
        baseline=baseline,
        onnx=onnx,
    )


def _scored_validation(validation: SplitPredictions) -> dict[str, Any]:
    """The validation scalars (``eval_`` keys, argmax labels) of a model fitted in one go."""
    from acsa.evaluation import compute_metrics, scalar_metrics

    metrics = compute_metrics(
        validation.gold, validation.pred, list(validation.aspects), validation.mask
    )
    return {"epoch": None, "step": 0, **scalar_metrics(metrics, prefix="eval_")}


def _versions() -> dict[str, str]:
    import torch
    import transformers

    import acsa

    return {
        "acsa": acsa.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_run_json(
    out: Path,
    seed: int,
    encoder: str,
    timings: Mapping[str, float],
    splits: Mapping[str, LabeledReviews],
    fit: Mapping[str, Any],
) -> None:
    """``run.json``: seed, timings, split sizes, versions, and ``fit`` (what the fit did)."""
    write_json(
        out / "run.json",
        {
            "seed": seed,
            "encoder": encoder,
            "timings_s": {k: round(v, 3) for k, v in timings.items()},
            **fit,
            "train_reviews": len(splits["train"]),
            "validation_reviews": len(splits["validation"]),
            "test_reviews": len(splits["test"]) if "test" in splits else 0,
            "versions": _versions(),
        },
    )


def fit_decision_rule(
    training: TrainingConfig, validation: SplitPredictions
) -> DecisionRule | None:
    """The thresholds fitted on ``validation`` (``None`` when ``training.decision_thresholds``
    is off)."""
    options = training.decision_rule_options()
    if options is None:
        return None
    return DecisionRule.fit(
        validation.probabilities, validation.gold, validation.mask, validation.aspects, **options
    )


def with_rule(scored: SplitPredictions, rule: DecisionRule | None) -> SplitPredictions:
    """``scored`` with its labels decided by ``rule`` (unchanged without one)."""
    if rule is None:
        return scored
    return dataclasses.replace(scored, pred=rule.decide(scored.probabilities))


def fit_run_baseline_model(
    training: TrainingConfig, splits: Mapping[str, LabeledReviews]
) -> BaselineRun | None:
    """The TF-IDF baseline fitted on ``splits`` with the run's decision-rule options, or
    ``None`` when ``training.baseline`` is off (:func:`finish_run` does not ask for one
    beside a model that is itself the TF-IDF baseline)."""
    if not training.baseline:
        return None
    from acsa.training.baseline import fit_baseline

    return fit_baseline(
        splits,
        decision_thresholds=training.decision_thresholds,
        min_mentions=training.threshold_min_mentions,
        cv_folds=training.threshold_cv_folds,
        margin=training.threshold_margin,
    )


def _headline_of(scored: SplitPredictions, rule: DecisionRule | None) -> dict[str, Any]:
    from acsa.evaluation import compute_metrics
    from acsa.training.baseline import HEADLINE_KEYS

    decided = with_rule(scored, rule)
    metrics = compute_metrics(decided.gold, decided.pred, list(decided.aspects), decided.mask)
    return {k: metrics[k] for k in HEADLINE_KEYS}


def _side_by_side(
    network_test: SplitPredictions | None,
    network_rule: DecisionRule | None,
    validation: SplitPredictions,
    blended: BlendOutcome | None,
    skipped: str | None,
) -> dict[str, Any]:
    """``metrics.json["network"]`` and ``["blend"]``: each model under its own rule, on test
    and on validation (validation: where the rules were fitted, so in-sample)."""
    network: dict[str, Any] = {
        "decision": decision_summary(network_rule),
        "validation": _headline_of(validation, network_rule),
    }
    if network_test is not None:
        network["test"] = _headline_of(network_test, network_rule)
    if blended is None:
        return {"network": network, "blend": {"adopted": False, "reason": skipped}}
    blend: dict[str, Any] = {
        **blended.summary,
        "decision": decision_summary(blended.rule),
        "validation": _headline_of(blended.validation, blended.rule),
    }
    if blended.test is not None:
        blend["test"] = _headline_of(blended.test, blended.rule)
    return {"network": network, "blend": blend}


def report_run(
    out: Path | None,
    test: SplitPredictions | None,
    rule: DecisionRule | None,
    *,
    validation: dict[str, Any],
    baseline: dict[str, Any] | None,
    log_history: list[dict[str, Any]] | None,
    plots: bool,
    sides: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """Score ``test`` (argmax labels) under ``rule`` and write the report into ``out``.

    Returns the test metrics (``None`` without a test split; ``metrics.json``
    then holds the other entries only). Nothing is written when ``out`` is None.
    """
    from acsa.evaluation import compute_metrics, scalar_metrics
    from acsa.evaluation.scoring import score_and_report

    extra: dict[str, Any] = {"validation": validation, "decision": decision_summary(rule)}
    if baseline is not None:
        extra["baseline"] = baseline
    extra.update(sides or {})
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
    """``pair-F1 0.861 (TF-IDF baseline 0.810, +5.1 points)``, from test metrics, and with a
    blend step ``; network 0.845, TF-IDF 0.810, blend 0.861: saved blend (why)``."""
    pair = float(test["pair_f1"])
    line = f"pair-F1 {pair:.3f}"
    baseline = (test.get("baseline") or {}).get("test") or {}
    if "pair_f1" in baseline:
        base = float(baseline["pair_f1"])
        line += f" (TF-IDF baseline {base:.3f}, {100 * (pair - base):+.1f} points)"
    network = ((test.get("network") or {}).get("test") or {}).get("pair_f1")
    blend = test.get("blend") or {}
    blend_pair = (blend.get("test") or {}).get("pair_f1")
    if network is not None and blend_pair is not None and "pair_f1" in baseline:
        saved = "blend" if blend.get("adopted") else "network"
        line += (
            f"; network {float(network):.3f}, TF-IDF {float(baseline['pair_f1']):.3f}, "
            f"blend {float(blend_pair):.3f}: saved the {saved} ({blend.get('reason')})"
        )
    elif blend.get("reason") and not blend.get("adopted"):
        line += f"; no blend ({blend['reason']})"
    return line


def decision_line(test: Mapping[str, Any]) -> str:
    """Which rule decided the test labels, and the argmax score beside it."""
    decision = test.get("decision") or {}
    thresholds = decision.get("thresholds") or {}
    if decision.get("rule") != "mention_threshold":
        reason = decision.get("why") or decision.get("reason")
        reason = reason or "training.decision_thresholds: false"
        return f"decision rule: argmax ({reason})"
    fitted = sum(v is not None for v in thresholds.values())
    argmax = (test.get(ARGMAX_KEY) or {}).get("pair_f1")
    tail = f"; test pair-F1 with the argmax rule {float(argmax):.3f}" if argmax is not None else ""
    return (
        f"decision rule: mention thresholds fitted on validation for {fitted} of "
        f"{len(thresholds)} aspects (model/decision.json){tail}"
    )

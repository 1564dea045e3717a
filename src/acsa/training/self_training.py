"""Self-training on ``data.unlabeled`` (``training.self_training``): the second stage of a run.

Xie et al. 2020 (Noisy Student, arXiv:1911.04252), kept simple: the supervised
run's saved model (the network, or its blend with the TF-IDF model when the
blend was kept) labels the unlabelled reviews; the confident cells become
pseudo-labels (:mod:`acsa.training.pseudo_labels`); a second, freshly
initialised network is trained on the labelled and pseudo-labelled reviews with
the same config (its noise: the model's dropout) and finished as usual
(decision rule, TF-IDF blend, test report) in ``<output.dir>/self_training/``.

The second model replaces the first only when its validation pair-F1 (the saved
model under its own rule, as ``metrics.json`` reports it) beats the supervised
one by more than ``min_gain``; then the supervised model and its report move
to ``<output.dir>/supervised/`` and the self-trained ones take their place.
``metrics.json`` and ``run.json`` say what was decided and why, with both
stages' validation and test scores. The test split is scored at the end of
each stage and decides nothing.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acsa.errors import ConfigError, DataError
from acsa.files import write_json
from acsa.training.output_dir import MODEL_DIR, SELF_TRAINING_DIR, SUPERVISED_DIR

if TYPE_CHECKING:
    from acsa.data import DataConfig, LabeledReviews
    from acsa.training.config import AcsaConfig
    from acsa.training.finish import TrainResult
    from acsa.training.pseudo_labels import PseudoLabeled

logger = logging.getLogger(__name__)

Splits = Mapping[str, "LabeledReviews"]
Fit = Callable[["AcsaConfig", dict[str, "LabeledReviews"]], "TrainResult"]
"""Train and finish a run on splits already read: ``(config, splits) -> TrainResult``."""

REPORT_FILES = ("metrics.json", "predictions.csv")


def check_unlabeled(path: Path, data: DataConfig) -> None:
    """Before any training: the unlabelled file opens, has its text column and at least one
    review (an empty file is a one-line :class:`~acsa.errors.DataError`)."""
    from acsa.data.unlabeled import iter_unlabeled, open_unlabeled

    source = open_unlabeled(path, data)
    if next(iter_unlabeled(source, data), None) is None:
        raise DataError(
            f"{path}: data.unlabeled holds no reviews; add unlabelled reviews (one per row "
            "or line) or remove data.unlabeled and training.self_training"
        )


def predict_unlabeled(model_dir: Path, batch_size: int) -> Callable[[list[str]], Any]:
    """Texts -> canonical probabilities of the saved model (blend and segmentation included)."""
    from acsa.evaluation.decision import canonical_probabilities
    from acsa.models.backend import load_backend

    backend = load_backend(model_dir, runtime="torch")

    def predict(texts: list[str]) -> Any:
        return canonical_probabilities(
            backend.predict_logits(texts, batch_size), backend.label_space
        )

    return predict


def collect_pseudo_labels(config: AcsaConfig, splits: Splits, model_dir: Path) -> PseudoLabeled:
    """Read ``data.unlabeled`` streamed and pseudo-label it with the model in ``model_dir``."""
    from acsa.data.unlabeled import ReadCounts, iter_unlabeled, open_unlabeled
    from acsa.training.pseudo_labels import pseudo_label

    st = config.training.self_training
    assert st is not None and config.data.unlabeled is not None
    source = open_unlabeled(config.data.unlabeled, config.data)
    counts = ReadCounts()
    return pseudo_label(
        iter_unlabeled(source, config.data, counts),
        counts.rows,
        predict_unlabeled(model_dir, config.training.eval_batch_size),
        splits,
        confidence=st.confidence,
        limit=st.max_unlabeled,
        segmentation=config.data.word_segmentation,
        keep_overlaps=st.overlaps == "keep",
        source=config.data.unlabeled,
    )


def saved_validation_pair_f1(metrics: Mapping[str, Any]) -> float | None:
    """The saved model's validation pair-F1 under its own rule (the blend's when kept)."""
    blend = metrics.get("blend") or {}
    side = blend if blend.get("adopted") else (metrics.get("network") or {})
    value = (side.get("validation") or {}).get("pair_f1")
    if value is None:  # a model without the side-by-side report (encoder tfidf)
        value = (metrics.get("validation") or {}).get("eval_pair_f1")
    return None if value is None else float(value)


def saved_test_pair_f1(metrics: Mapping[str, Any]) -> float | None:
    value = metrics.get("pair_f1")
    return None if value is None else float(value)


def self_train(
    config: AcsaConfig, splits: Splits, supervised: TrainResult, fit: Fit
) -> TrainResult:
    """Pseudo-label ``data.unlabeled`` with the supervised run's model, train the second
    network, keep the better of the two on validation, and report both stages.

    Raises:
        ConfigError: the run is distributed (self-training runs in one process).
        DataError: the unlabelled file is unreadable or holds no reviews.
    """
    from acsa.training.arguments import world_size
    from acsa.training.pseudo_labels import combined

    st = config.training.self_training
    assert st is not None
    if world_size() > 1:
        raise ConfigError(
            "training.self_training: runs in one process; train without torchrun, or set "
            "enabled: false"
        )
    out = supervised.output_dir
    stage_dir = out / SELF_TRAINING_DIR
    for stale in (out / SUPERVISED_DIR, stage_dir):
        if stale.is_dir():
            shutil.rmtree(stale)  # an earlier run's stages (a resumed or replaced run)
    first_train_s = supervised.timings.get("train", 0.0)
    logger.info(
        "self-training: pseudo-labelling up to %d unlabelled reviews of %s with the saved "
        "model, then a second training on labelled + pseudo-labelled reviews (the first "
        "took %.0f s; the second, on more reviews, takes longer)",
        st.max_unlabeled,
        config.data.unlabeled,
        first_train_s,
    )
    pseudo = collect_pseudo_labels(config, splits, supervised.model_dir)
    if pseudo.read == 0:
        raise DataError(
            f"{config.data.unlabeled}: data.unlabeled holds no reviews; add unlabelled reviews "
            "or remove data.unlabeled and training.self_training"
        )
    summary: dict[str, Any] = {
        "confidence": st.confidence,
        "max_unlabeled": st.max_unlabeled,
        "pseudo_labels": pseudo.summary(),
    }
    sup_metrics = _read_json(out / "metrics.json")
    summary["supervised"] = _stage_scores(sup_metrics)
    if len(pseudo.reviews) == 0:
        reason = f"no unlabelled review has a cell with probability >= {st.confidence}"
        logger.warning("self-training skipped: %s", reason)
        return _report(supervised, {**summary, "adopted": False, "reason": reason}, out)
    train_reviews = len(splits["train"]) + len(pseudo.reviews)
    logger.info(
        "self-training: %d pseudo-labelled reviews (%d of %d cells confident); training the "
        "second network on %d reviews, about %.0f s at the first training's pace",
        len(pseudo.reviews),
        pseudo.confident,
        pseudo.cells,
        train_reviews,
        _estimate(config, supervised, train_reviews),
    )
    stage_splits = {**splits, "train": combined(splits["train"], pseudo.reviews)}
    stage_config = _stage_config(config, stage_dir)
    start = time.perf_counter()
    second = fit(stage_config, stage_splits)
    summary["train_seconds"] = round(time.perf_counter() - start, 1)
    st_metrics = _read_json(stage_dir / "metrics.json")
    summary["self_trained"] = _stage_scores(st_metrics)
    before = summary["supervised"]["validation_pair_f1"]
    after = summary["self_trained"]["validation_pair_f1"]
    adopted = before is not None and after is not None and after - before > st.min_gain
    if adopted:
        reason = (
            f"validation pair-F1 {after:.4f} against {before:.4f} supervised: "
            f"gain above min_gain {st.min_gain}"
        )
    else:
        reason = (
            f"validation pair-F1 {_fmt(after)} against {_fmt(before)} supervised: "
            f"gain not above min_gain {st.min_gain}; the supervised model is kept"
        )
    logger.info("self-training %s: %s", "adopted" if adopted else "not adopted", reason)
    summary.update(adopted=adopted, reason=reason)
    if not adopted:
        summary["folder"] = SELF_TRAINING_DIR
        return _report(supervised, summary, out)
    _swap_in(out, stage_dir)
    summary["folder"] = SUPERVISED_DIR
    result = dataclasses.replace(second, output_dir=out, model_dir=out / MODEL_DIR)
    return _report(result, summary, out)


def summary_line(report: Mapping[str, Any]) -> str:
    """``acsa train``'s line on self-training: what was kept, why, both stages' test scores."""
    pseudo = report.get("pseudo_labels") or {}
    sup = (report.get("supervised") or {}).get("test_pair_f1")
    st = (report.get("self_trained") or {}).get("test_pair_f1")
    kept = "self-trained model saved" if report.get("adopted") else "supervised model saved"
    return (
        f"self-training: {pseudo.get('pseudo_labeled_reviews', 0)} of "
        f"{pseudo.get('read', 0)} unlabelled reviews pseudo-labelled; {kept} "
        f"({report.get('reason')}); test pair-F1 supervised {_fmt(sup)}, "
        f"self-trained {_fmt(st)} (folder {report.get('folder', '-')}/)"
    )


def _estimate(config: AcsaConfig, supervised: TrainResult, train_reviews: int) -> float:
    """Seconds the second training should take: the first one's time per optimizer step
    times the steps planned for ``train_reviews`` reviews."""
    from acsa.training.budget import plan_budget

    steps = plan_budget(config.training, train_reviews, 1).total_steps
    per_step = supervised.timings.get("train", 0.0) / max(1, supervised.global_step)
    return per_step * steps


def _stage_config(config: AcsaConfig, stage_dir: Path) -> AcsaConfig:
    """The same run, into ``stage_dir``, without the unlabelled file (no third stage)."""
    return config.model_copy(
        update={
            "data": config.data.model_copy(update={"unlabeled": None}),
            "training": config.training.model_copy(update={"self_training": None}),
            "output": config.output.model_copy(update={"dir": stage_dir, "overwrite": True}),
        }
    )


def _stage_scores(metrics: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "validation_pair_f1": saved_validation_pair_f1(metrics),
        "test_pair_f1": saved_test_pair_f1(metrics),
        "blend": bool((metrics.get("blend") or {}).get("adopted")),
    }


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _report_files(folder: Path) -> list[Path]:
    names = [folder / MODEL_DIR, *(folder / n for n in REPORT_FILES)]
    return [p for p in [*names, *sorted(folder.glob("*.png"))] if p.exists()]


def _swap_in(out: Path, stage_dir: Path) -> None:
    """The supervised model and report to ``out/supervised/``, the self-trained ones to ``out``."""
    keep = out / SUPERVISED_DIR
    keep.mkdir()
    for path in _report_files(out):
        shutil.move(str(path), str(keep / path.name))
    for path in _report_files(stage_dir):
        shutil.move(str(path), str(out / path.name))


def _report(result: TrainResult, summary: dict[str, Any], out: Path) -> TrainResult:
    """``self_training`` in ``metrics.json`` and ``run.json`` and in the returned metrics."""
    metrics_path = out / "metrics.json"
    metrics = _read_json(metrics_path)
    if metrics:
        metrics["self_training"] = summary
        write_json(metrics_path, metrics)
    run_path = out / "run.json"
    run = _read_json(run_path)
    if run:
        run["self_training"] = summary
        write_json(run_path, run)
    test = result.metrics.get("test")
    if isinstance(test, dict):
        test = {**test, "self_training": summary}
    return dataclasses.replace(result, metrics={**result.metrics, "test": test})

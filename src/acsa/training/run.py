"""The training pipeline: config -> data -> model -> Trainer -> saved model and test report.

Output folder layout (``output.dir``)::

    config.yaml          the resolved config (loadable with ``acsa train``)
    run.json             timings, versions, seed, best checkpoint
    checkpoints/         Trainer checkpoints (checkpoint-<step>/), used by --resume
    logs/                TensorBoard event files
    model/               the best model, save_pretrained format (acsa predict/evaluate)
    metrics.json         test metrics (GUIDE.md section 2) + best validation metrics
    predictions.csv      test predictions in the wide CSV format
    *.png                per-aspect F1, confusion matrices, training curves
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from acsa.errors import CheckpointError, ConfigError, DataError
from acsa.training.config import AcsaConfig, build_configured_loss, dump_config

logger = logging.getLogger(__name__)

CHECKPOINT_DIR = "checkpoints"
MODEL_DIR = "model"
LOG_DIR = "logs"
_RUN_MARKERS = ("run.json", "config.yaml", CHECKPOINT_DIR, MODEL_DIR, "metrics.json")


@dataclass
class TrainResult:
    """What :func:`train` produced.

    Attributes:
        output_dir: the run folder.
        model_dir: the saved best model (``<output_dir>/model``).
        metrics: ``{"test": compute_metrics(...) or None, "validation": best
            validation scalars (``eval_pair_f1``, ...)}``.
        history: one dict per evaluation (epoch): ``epoch``, ``step``,
            ``eval_pair_f1``, ``eval_aspect_f1``, ``eval_loss``, ...
        timings: seconds: ``load_data``, ``build_model``, ``encode``,
            ``train``, ``test``, ``total``.
        best_checkpoint: the checkpoint restored at the end (or ``None``).
        global_step: optimizer steps done.
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


# ----------------------------------------------------------------------------
# output folder


def _is_main_process() -> bool:
    return os.environ.get("RANK", "0") == "0"


def check_output_writable(out: Path) -> None:
    """Fail early (one line) when ``out`` cannot be created or written; writes nothing."""
    probe = out
    while not probe.exists():
        parent = probe.parent
        if parent == probe:
            break
        probe = parent
    if probe.exists() and not probe.is_dir():
        raise ConfigError(f"output.dir: {probe} is a file, not a folder; choose another --output")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(
            f"output.dir: {out} is not writable (no write permission on {probe}); "
            "choose another --output"
        )


def _looks_like_run(out: Path) -> bool:
    return any((out / name).exists() for name in _RUN_MARKERS)


def check_output_dir(out: Path, *, resume: bool, overwrite: bool) -> None:
    """Decide, without writing, whether a run may use ``out``."""
    check_output_writable(out)
    if not out.exists() or resume:
        return
    if not out.is_dir():
        raise ConfigError(f"output.dir: {out} is a file; choose another --output")
    if any(out.iterdir()):
        if not _looks_like_run(out):
            raise ConfigError(
                f"output.dir: {out} is a non-empty folder that is not an acsa run; "
                "choose another --output"
            )
        if not overwrite:
            raise ConfigError(
                f"output.dir: {out} already holds a run; pass --resume to continue it, "
                "--overwrite (output.overwrite: true) to replace it, or choose another --output"
            )


def _clear_run(out: Path) -> None:
    """Remove a previous run's files (only names acsa writes)."""
    for child in out.iterdir():
        if child.is_dir() and child.name in (CHECKPOINT_DIR, MODEL_DIR, LOG_DIR):
            shutil.rmtree(child)
        elif child.is_file() and (
            child.suffix in (".png", ".json", ".jsonl", ".yaml", ".csv")
            or child.name.startswith("events.")
        ):
            child.unlink()


# ----------------------------------------------------------------------------
# data


@dataclass
class PreparedData:
    """The splits read, validated and encoded once."""

    splits: dict[str, Any]
    report: Any
    label_space: Any


def load_data(config: AcsaConfig) -> PreparedData:
    """Read and validate every split named in ``config.data`` (DataError on problems)."""
    from acsa.data import load_and_validate

    splits, report = load_and_validate(config.data, Path.cwd())
    return PreparedData(splits=splits, report=report, label_space=config.data.label_space)


class IndexedDataset:
    """An :class:`acsa.data.EncodedDataset` whose items also carry their row index.

    The index travels with the batch as a label, so evaluation can score each
    prediction against the canonical gold row even when batches are grouped
    by length (seed scheme predictions cannot be mapped back to ``none`` vs
    ``neutral`` gold without it) or split across DDP processes.
    """

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item = self.dataset[index]
        item["example_index"] = index
        return item


class IndexedCollator:
    """Wrap :class:`acsa.data.AcsaCollator`, stacking ``example_index`` aside."""

    def __init__(self, collator: Any) -> None:
        self.collator = collator

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        index = torch.tensor([int(i.pop("example_index")) for i in items], dtype=torch.long)
        batch = self.collator(items)
        batch["example_index"] = index
        return batch


def encode_split(reviews: Any, featurizer: Any, label_space: Any) -> IndexedDataset:
    from acsa.data import EncodedDataset

    return IndexedDataset(EncodedDataset.from_reviews(reviews, featurizer, label_space))


def make_collator(featurizer: Any) -> IndexedCollator:
    from acsa.data import AcsaCollator

    return IndexedCollator(AcsaCollator(featurizer.collate))


# ----------------------------------------------------------------------------
# metrics


class MetricsFunction:
    """``compute_metrics`` hook for the Trainer: GUIDE.md metrics on canonical gold.

    Predictions arrive as ``[N, A, C]`` logits with ``(labels, label_mask,
    example_index)``; the gold canonical labels are looked up by index.
    """

    def __init__(self, reviews: Any, label_space: Any) -> None:
        self.reviews = reviews
        self.label_space = label_space

    def __call__(self, eval_pred: Any) -> dict[str, float]:
        from acsa.evaluation import compute_metrics, scalar_metrics

        logits = eval_pred.predictions
        if isinstance(logits, (tuple, list)):
            logits = logits[0]
        label_ids = eval_pred.label_ids
        index = np.asarray(label_ids[-1], dtype=np.int64).reshape(-1)
        # DDP pads the last batch with repeated rows; keep the first occurrence.
        index, first = np.unique(index, return_index=True)
        pred = self.label_space.to_canonical(np.asarray(logits)[first].argmax(-1))
        gold = self.reviews.labels[index]
        mask = self.reviews.mask[index]
        metrics = compute_metrics(gold, pred, self.label_space.aspects, mask)
        return scalar_metrics(metrics)


def predict_canonical(logits: np.ndarray, label_space: Any) -> tuple[np.ndarray, np.ndarray]:
    """Canonical labels ``[N, A]`` and canonical-order probabilities ``[N, A, 4]``."""
    import torch

    probs = torch.softmax(torch.as_tensor(logits, dtype=torch.float32), dim=-1).numpy()
    pred = label_space.to_canonical(probs.argmax(-1))
    if label_space.num_classes == 4:
        canon_probs = probs
    else:
        # seed scheme: positive, negative, neutral -> canonical none, neg, neu, pos;
        # a predicted "neutral" reads as "none" (see LabelSpace.to_canonical)
        canon_probs = np.zeros(probs.shape[:2] + (4,), dtype=probs.dtype)
        for scheme_index, canonical in enumerate(label_space.to_canonical(np.arange(3))):
            canon_probs[..., canonical] += probs[..., scheme_index]
    return pred, canon_probs


# ----------------------------------------------------------------------------
# training


def _precision_flags(precision: str) -> dict[str, bool]:
    import torch

    if precision == "auto":
        if torch.cuda.is_available():
            precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        else:
            precision = "fp32"
    if precision == "fp16" and not torch.cuda.is_available():
        raise ConfigError("training.precision: fp16 needs a CUDA GPU; use bf16, fp32 or auto")
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}


def _cpu_only() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return not torch.cuda.is_available() and not (mps is not None and mps.is_available())


def _world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def build_training_arguments(
    config: AcsaConfig, out: Path, *, has_projection_unused: bool, group_by_length: bool
) -> Any:
    from transformers import TrainingArguments

    tc = config.training
    world = _world_size()
    if tc.batch_size % world:
        raise ConfigError(
            f"training.batch_size: {tc.batch_size} reviews cannot be split evenly over "
            f"{world} processes; use a multiple of {world}"
        )
    return TrainingArguments(
        output_dir=str(out / CHECKPOINT_DIR),
        num_train_epochs=tc.epochs,
        # training.batch_size is the global batch per micro-step, so the same
        # config gives the same optimisation under torchrun with N processes.
        per_device_train_batch_size=tc.batch_size // world,
        per_device_eval_batch_size=tc.eval_batch_size,
        gradient_accumulation_steps=tc.gradient_accumulation_steps,
        learning_rate=tc.learning_rate,
        weight_decay=tc.weight_decay,
        warmup_steps=tc.warmup_ratio,
        lr_scheduler_type=tc.scheduler,
        max_grad_norm=tc.max_grad_norm,
        eval_strategy="epoch",
        save_strategy="epoch",
        logging_strategy="steps",
        logging_steps=tc.logging_steps,
        save_total_limit=tc.save_total_limit,
        load_best_model_at_end=True,
        metric_for_best_model="eval_pair_f1",
        greater_is_better=True,
        report_to="none",  # the TensorBoard callback is added with our log folder
        seed=tc.seed,
        data_seed=tc.seed,
        train_sampling_strategy="group_by_length" if group_by_length else "random",
        dataloader_num_workers=tc.num_workers,
        dataloader_pin_memory=False,
        remove_unused_columns=False,
        label_names=["labels", "label_mask", "example_index"],
        disable_tqdm=not tc.progress_bar,
        ddp_find_unused_parameters=has_projection_unused,
        ddp_backend=None,
        logging_nan_inf_filter=False,
        # Without use_cpu, accelerate does not form a gloo process group under
        # torchrun on a machine without GPUs and every process trains alone.
        use_cpu=_cpu_only(),
        **_precision_flags(tc.precision),
    )


def _model_optimizer_factory(model: Any) -> Any:
    factory = getattr(model, "create_optimizer", None)
    return factory if callable(factory) else None


def _gradient_tracker(
    config: AcsaConfig, loss_fn: Any, out: Path, log_dir: Path
) -> tuple[Any, list[Any]]:
    """The gradient-norm tracker (GHM-C statistics) and its TensorBoard callback."""
    if not config.training.log_gradient_stats:
        return None, []
    from acsa.training.gradient_stats import make_tracker

    # the label space's class names (seed: positive, negative, neutral), GHM-C's bins
    return make_tracker(config, loss_fn, log_dir)


def _eval_history(log_history: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [dict(e) for e in log_history if "eval_pair_f1" in e]


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


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
    tmp.replace(path)


def train(
    config: AcsaConfig,
    *,
    resume: bool = False,
    callbacks: Sequence[Any] = (),
    write_plots: bool = True,
    quiet: bool = False,
) -> TrainResult:
    """Train, restore the best epoch, save the model, evaluate on test.

    Args:
        config: a validated config (see :func:`acsa.training.config.load_config`).
        resume: continue from the last checkpoint in ``<output.dir>/checkpoints``
            (at the same optimizer step); without one, start from scratch.
        callbacks: extra ``transformers.TrainerCallback`` objects.
        write_plots: write the PNG plots of the test report.
        quiet: no progress bar.

    Raises:
        ConfigError, DataError, TrainingError, CheckpointError: one-line problems.
    """
    start = time.perf_counter()
    cpu_start = time.process_time()
    timings: dict[str, float] = {}
    out = Path(config.output.dir).expanduser().resolve()
    check_output_dir(out, resume=resume, overwrite=config.output.overwrite)

    tick = time.perf_counter()
    data = load_data(config)
    timings["load_data"] = time.perf_counter() - tick
    train_reviews, val_reviews = data.splits["train"], data.splits["validation"]
    test_reviews = data.splits.get("test")
    if len(train_reviews) == 0 or len(val_reviews) == 0:
        raise DataError("data: the training and validation splits must not be empty")

    import torch
    from transformers import EarlyStoppingCallback, set_seed

    from acsa.data import class_counts
    from acsa.models import build_model
    from acsa.training.callbacks import (
        EpochSummaryCallback,
        LossStateCallback,
        load_loss_state,
        loss_state_tensors,
        tensorboard_callback,
    )
    from acsa.training.checkpoints import find_resumable_checkpoint
    from acsa.training.interrupt import GracefulInterrupt, TrainingInterrupted
    from acsa.training.trainer import AcsaTrainer

    set_seed(config.training.seed)
    label_space = data.label_space
    tick = time.perf_counter()
    model, featurizer = build_model(config.model, label_space, train_reviews.texts)
    timings["build_model"] = time.perf_counter() - tick

    tick = time.perf_counter()
    train_ds = encode_split(train_reviews, featurizer, label_space)
    val_ds = encode_split(val_reviews, featurizer, label_space)
    test_ds = encode_split(test_reviews, featurizer, label_space) if test_reviews else None
    timings["encode"] = time.perf_counter() - tick

    counts = class_counts(
        label_space.to_scheme(train_reviews.labels), train_reviews.mask, label_space.num_classes
    )
    loss_fn = build_configured_loss(config, class_counts=torch.as_tensor(counts))

    # Everything is validated: from here on the output folder is written.
    checkpoint_root = out / CHECKPOINT_DIR
    resume_from: str | None = None
    if resume and checkpoint_root.is_dir():
        # newest complete, safe checkpoint: a kill while saving leaves a half-written one
        resume_from = find_resumable_checkpoint(
            checkpoint_root, need_loss_state=bool(loss_state_tensors(loss_fn))
        )
    if resume and resume_from is None:
        logger.warning("no checkpoint in %s; starting from scratch", checkpoint_root)
    if _is_main_process():
        if out.exists() and not resume and config.output.overwrite:
            _clear_run(out)
        out.mkdir(parents=True, exist_ok=True)
        dump_config(config, out / "config.yaml")

    uses_projection = config.loss.uses_contrastive
    group = config.training.group_by_length
    group_by_length = bool(group) if group != "auto" else True
    args = build_training_arguments(
        config, out, has_projection_unused=not uses_projection, group_by_length=group_by_length
    )
    log_dir = out / LOG_DIR
    tracker, tracker_callbacks = _gradient_tracker(config, loss_fn, out, log_dir)
    all_callbacks: list[Any] = [LossStateCallback(loss_fn)]
    tb = tensorboard_callback(log_dir)
    if tb is not None:
        all_callbacks.append(tb)
    if config.training.early_stopping_patience > 0:
        all_callbacks.append(EarlyStoppingCallback(config.training.early_stopping_patience))
    all_callbacks.extend(tracker_callbacks)
    all_callbacks.extend(callbacks)

    trainer = AcsaTrainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=val_ds,
        data_collator=make_collator(featurizer),
        compute_metrics=MetricsFunction(val_reviews, label_space),
        callbacks=all_callbacks,
        loss_fn=loss_fn,
        nan_policy=config.training.nan_policy,
        gradient_tracker=tracker,
        model_optimizer_factory=_model_optimizer_factory(model),
    )
    # A concise progress bar instead of raw log dicts.
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)
    if config.training.progress_bar and not quiet:
        trainer.add_callback(EpochSummaryCallback())

    if resume_from is not None:
        load_loss_state(trainer.loss_fn, Path(resume_from))
        logger.info("resuming from %s", resume_from)

    # last callback, so the loss state is saved before it stops the run on Ctrl-C
    interrupt = GracefulInterrupt(out, resume_from=resume_from)
    trainer.add_callback(interrupt)
    tick = time.perf_counter()
    try:
        with interrupt.installed():
            trainer.train(resume_from_checkpoint=resume_from)
    except KeyboardInterrupt as exc:
        if not isinstance(exc, TrainingInterrupted):
            _save_interrupted(trainer)
        raise
    timings["train"] = time.perf_counter() - tick

    state = trainer.state
    history = _eval_history(state.log_history)
    best_validation = _best_validation(history, state.best_metric)
    model_dir = out / MODEL_DIR
    unwrapped = trainer.accelerator.unwrap_model(trainer.model)
    if trainer.is_world_process_zero():
        unwrapped.save_pretrained(model_dir)

    tick = time.perf_counter()
    test_metrics: dict[str, Any] | None = None
    if test_ds is not None:
        # The validation metrics hook looks rows up in the validation split;
        # test metrics are computed below on the test split's own gold labels.
        trainer.compute_metrics = None
        output = trainer.predict(test_ds, metric_key_prefix="test")
        test_metrics = _report_test(
            output,
            test_reviews,
            label_space,
            out,
            state.log_history,
            best_validation,
            write=trainer.is_world_process_zero(),
            plots=write_plots,
        )
    timings["test"] = time.perf_counter() - tick
    timings["total"] = time.perf_counter() - start
    # CPU seconds of this process (all threads): on a shared machine wall time
    # depends on the neighbours, this much less.
    timings["cpu"] = time.process_time() - cpu_start

    if trainer.is_world_process_zero():
        _write_json(
            out / "run.json",
            {
                "seed": config.training.seed,
                "timings_s": {k: round(v, 3) for k, v in timings.items()},
                "global_step": state.global_step,
                "epochs_run": state.epoch,
                "best_checkpoint": _relative(state.best_model_checkpoint, out),
                "best_validation": best_validation,
                "resumed_from": _relative(resume_from, out),
                "skipped_batches": trainer.skipped_batches,
                "world_size": _world_size(),
                "train_reviews": len(train_reviews),
                "validation_reviews": len(val_reviews),
                "test_reviews": len(test_reviews) if test_reviews else 0,
                "versions": _versions(),
            },
        )
        if test_metrics is None:
            _write_json(out / "metrics.json", {"validation": best_validation})

    return TrainResult(
        output_dir=out,
        model_dir=model_dir,
        metrics={"test": test_metrics, "validation": best_validation},
        history=history,
        timings=timings,
        best_checkpoint=state.best_model_checkpoint,
        global_step=state.global_step,
        skipped_batches=trainer.skipped_batches,
        log_history=list(state.log_history),
    )


def _relative(path: str | None, out: Path) -> str | None:
    if path is None:
        return None
    try:
        return Path(path).resolve().relative_to(out).as_posix()
    except ValueError:
        return str(path)


def _best_validation(history: list[dict[str, Any]], best: float | None) -> dict[str, Any]:
    if not history:
        return {}
    if best is None:
        chosen = history[-1]
    else:
        chosen = next((e for e in history if e.get("eval_pair_f1") == best), history[-1])
    return {
        k: (v if not isinstance(v, float) or np.isfinite(v) else None)
        for k, v in chosen.items()
        if k.startswith("eval_") or k in ("epoch", "step")
    }


def _save_interrupted(trainer: Any) -> None:
    """On Ctrl-C, write a checkpoint so ``--resume`` continues from here."""
    try:
        if trainer.state.global_step > 0:
            trainer._save_checkpoint(trainer.model, trial=None)
            logger.warning("interrupted: checkpoint saved at step %d", trainer.state.global_step)
    except Exception as exc:  # noqa: BLE001 - never mask the interrupt itself
        logger.warning("interrupted: could not save a checkpoint (%s)", exc)


def _report_test(
    output: Any,
    reviews: Any,
    label_space: Any,
    out: Path,
    log_history: list[dict[str, Any]],
    best_validation: dict[str, Any],
    *,
    write: bool,
    plots: bool,
) -> dict[str, Any]:

    logits = np.asarray(
        output.predictions[0] if isinstance(output.predictions, tuple) else output.predictions
    )
    index = np.asarray(output.label_ids[-1], dtype=np.int64).reshape(-1)
    order = np.full(len(reviews), -1, dtype=np.int64)
    order[index] = np.arange(len(index))
    if (order < 0).any():
        raise CheckpointError("test prediction lost rows; this is a bug in acsa")
    return score_and_report(
        logits[order],
        reviews,
        label_space,
        out if write else None,
        extra={"validation": best_validation},
        log_history=log_history,
        plots=plots,
    )


def score_and_report(
    logits: np.ndarray,
    reviews: Any,
    label_space: Any,
    output_dir: Path | None,
    *,
    extra: dict[str, Any] | None = None,
    log_history: list[dict[str, Any]] | None = None,
    plots: bool = True,
) -> dict[str, Any]:
    """Metrics of ``logits [N, A, C]`` against ``reviews``; the report files when asked."""
    from acsa.evaluation import compute_metrics, write_report

    pred, probs = predict_canonical(logits, label_space)
    metrics = compute_metrics(reviews.labels, pred, label_space.aspects, reviews.mask)
    metrics.update(extra or {})
    if output_dir is not None:
        write_report(
            output_dir,
            metrics,
            texts=reviews.texts,
            pred=pred,
            gold=reviews.labels,
            gold_mask=reviews.mask,
            probabilities=probs,
            log_history=log_history,
            plots=plots,
        )
    return metrics


# ----------------------------------------------------------------------------
# saved models


def load_model(model_dir: str | Path) -> tuple[Any, Any]:
    """``(AcsaModel, Featurizer)`` from a ``save_pretrained`` folder (or a run folder)."""
    from acsa.models import AcsaModel

    path = Path(model_dir).expanduser()
    if not path.exists():
        raise CheckpointError(f"{path}: model folder not found")
    if not path.is_dir():
        raise CheckpointError(f"{path}: expected a model folder, found a file")
    if (path / MODEL_DIR).is_dir() and not any(path.glob("*.safetensors")):
        path = path / MODEL_DIR
    model, featurizer = AcsaModel.from_pretrained(path)
    model.eval()
    return model, featurizer


def predict_logits(
    model: Any, featurizer: Any, texts: Sequence[str], batch_size: int = 256
) -> np.ndarray:
    """``[N, A, C]`` logits for raw texts, in input order (length-batched inside)."""
    from acsa.models.inference import predict_logits as model_logits

    return model_logits(model, featurizer, list(texts), batch_size=batch_size)


@dataclass
class Prediction:
    """One review's predicted aspects: ``{"Battery": "positive", ...}`` (mentioned only)."""

    text: str
    labels: np.ndarray
    aspects: dict[str, str]
    probabilities: np.ndarray


def predict(model_dir: str | Path, texts: Sequence[str], batch_size: int = 256) -> list[Prediction]:
    """Predict the aspects and sentiments of raw review texts with a saved model."""
    from acsa.data.label_space import CANONICAL_CLASSES

    model, featurizer = load_model(model_dir)
    label_space = model.label_space
    logits = predict_logits(model, featurizer, texts, batch_size)
    if len(texts) == 0:
        return []
    pred, probs = predict_canonical(logits, label_space)
    result = []
    for i, text in enumerate(texts):
        mentioned = {
            a: CANONICAL_CLASSES[int(v)]
            for a, v in zip(label_space.aspects, pred[i], strict=True)
            if v != 0
        }
        result.append(
            Prediction(text=text, labels=pred[i], aspects=mentioned, probabilities=probs[i])
        )
    return result


def evaluate_model(
    model_dir: str | Path,
    data_path: str | Path,
    output_dir: str | Path | None = None,
    *,
    data_config: Any | None = None,
    plots: bool = True,
) -> dict[str, Any]:
    """Score a saved model on a labelled file; write the report when ``output_dir`` is given.

    The file is read with ``data_config`` when given, else with the data
    section of the run's ``config.yaml`` beside the model (label aliases,
    column names), else with defaults and the model's aspects.
    """
    from acsa.data import DataConfig, load_split

    model, featurizer = load_model(model_dir)
    label_space = model.label_space
    if data_config is None:
        data_config = _run_data_config(Path(model_dir))
    if data_config is None:
        data_config = DataConfig(aspects=list(label_space.aspects), label_scheme=label_space.scheme)
    data_config = data_config.model_copy(
        update={"aspects": list(label_space.aspects), "label_scheme": label_space.scheme}
    )
    if output_dir is not None:
        check_output_writable(Path(output_dir))
    reviews = load_split(Path(data_path), data_config)
    logits = predict_logits(model, featurizer, reviews.texts)
    return score_and_report(
        logits,
        reviews,
        label_space,
        Path(output_dir) if output_dir is not None else None,
        plots=plots,
    )


def _run_data_config(model_dir: Path) -> Any | None:
    """The data section of the run that produced ``model_dir``, if its config is there."""
    from acsa.data import DataConfig

    for candidate in (model_dir / "config.yaml", model_dir.parent / "config.yaml"):
        if candidate.is_file():
            try:
                import yaml

                raw = yaml.safe_load(candidate.read_text(encoding="utf-8")) or {}
                section = raw.get("data") if isinstance(raw, dict) else None
                if isinstance(section, dict):
                    return DataConfig.model_validate(section)
            except Exception:  # noqa: BLE001 - a stale config only loses the aliases
                return None
    return None

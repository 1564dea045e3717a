"""``train()``: config -> data -> model -> Trainer -> saved model and test report.

The steps, each a function below: check the output folder, read and
validate the data, build the model and encode every split once (counting the
reviews longer than the encoder reads), plan the step budget, build the loss,
prepare the run folder (or find the checkpoint to resume), assemble the
Trainer, fit, save the best model, fit the decision rule on validation
(:mod:`acsa.training.finish`), score the test split, collect the TF-IDF
baseline (fitted in a second process while the network trained, on a split of
2,000 reviews or more), write ``run.json``. The run folder's layout is in
:mod:`acsa.training.output_dir`.

``model.encoder: tfidf`` is fitted instead (:func:`_fit_tfidf`: no Trainer, no
epochs) and finishes with the same steps into the same run folder.

With ``training.pretraining`` on, :func:`acsa.training.pretraining.pretrain` fits
syllable vectors on the training and unlabelled texts before the model is built;
they initialise its token embedding.

With ``training.self_training`` enabled, :func:`acsa.training.self_training.self_train`
follows: a second run on the labelled and pseudo-labelled reviews (:func:`_train_on`,
the splits already read), kept only when it wins on validation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from acsa.errors import CheckpointError, ConfigError, DataError
from acsa.evaluation.scoring import SplitPredictions
from acsa.logs import is_main_process
from acsa.training.checkpoints import remove_checkpoints
from acsa.training.config import AcsaConfig, build_configured_loss, dump_config
from acsa.training.finish import FittedModel, RunClock, TrainResult, finish_run
from acsa.training.output_dir import (
    CHECKPOINT_DIR,
    LOG_DIR,
    MODEL_DIR,
    check_output_dir,
    clear_run,
    relative_to_run,
)

if TYPE_CHECKING:
    from torch import nn
    from transformers import TrainerCallback

    from acsa.data import LabeledReviews, LabelSpace
    from acsa.data.indexed import IndexedDataset
    from acsa.models.featurizer import Featurizer
    from acsa.training.background_baseline import BackgroundBaseline
    from acsa.training.budget import Budget
    from acsa.training.gradient_stats import GradientNormTracker
    from acsa.training.trainer import AcsaTrainer

__all__ = ["TrainResult", "train"]

logger = logging.getLogger(__name__)

Splits = dict[str, "LabeledReviews"]


def train(
    config: AcsaConfig,
    *,
    resume: bool = False,
    callbacks: Sequence[TrainerCallback] = (),
    write_plots: bool = True,
    quiet: bool = False,
    export_onnx: bool = False,
) -> TrainResult:
    """Train, restore the best evaluation, save the model with its decision rule, evaluate
    on test, fit the TF-IDF baseline beside it.

    Args:
        config: a validated config (see :func:`acsa.training.config.load_config`).
        resume: continue from the last checkpoint in ``<output.dir>/checkpoints``
            (at the same optimizer step); without one, start from scratch.
        callbacks: extra ``transformers.TrainerCallback`` objects.
        write_plots: write the PNG plots of the test report.
        quiet: no progress bar.
        export_onnx: export the saved network to ``model.onnx`` beside it and check it
            gives PyTorch's labels on validation (``acsa train``; predictions then run on
            ONNX Runtime by default); a TF-IDF model has nothing to export.

    Raises:
        ConfigError, DataError, TrainingError, CheckpointError: one-line problems.
    """
    clock = RunClock()
    out = Path(config.output.dir).expanduser().resolve()
    check_output_dir(out, resume=resume, overwrite=config.output.overwrite)
    config = _resolve_aspects(config)

    self_training = config.training.self_training
    pretraining = config.training.pretraining
    reads_unlabeled = (self_training is not None and self_training.enabled) or (
        pretraining is not None and pretraining.enabled
    )
    if reads_unlabeled and config.data.unlabeled:
        from acsa.training.self_training import check_unlabeled

        check_unlabeled(config.data.unlabeled, config.data)  # before hours of training
    with clock("load_data"):
        splits = _load_splits(config)
    options = {"callbacks": callbacks, "write_plots": write_plots, "quiet": quiet}
    options["export_onnx"] = export_onnx
    result = _train_on(config, splits, out, clock, resume=resume, **options)
    if self_training is not None and self_training.enabled:
        from acsa.training.self_training import self_train

        def fit_stage(stage_config: AcsaConfig, stage_splits: Splits) -> TrainResult:
            stage_out = Path(stage_config.output.dir)
            check_output_dir(stage_out, resume=False, overwrite=True)
            return _train_on(stage_config, stage_splits, stage_out, RunClock(), **options)

        result = self_train(config, splits, result, fit_stage)
    return result


def _train_on(
    config: AcsaConfig,
    splits: Splits,
    out: Path,
    clock: RunClock,
    *,
    resume: bool = False,
    callbacks: Sequence[TrainerCallback] = (),
    write_plots: bool = True,
    quiet: bool = False,
    export_onnx: bool = False,
) -> TrainResult:
    """Train on splits already read (and segmented) into ``out``, and finish the run."""
    if config.model.encoder == "tfidf":
        return _fit_tfidf(config, splits, out, clock, resume=resume, write_plots=write_plots)
    baseline = _start_background_baseline(config, splits)
    try:
        return _train_network(
            config,
            splits,
            out,
            clock,
            resume=resume,
            callbacks=callbacks,
            write_plots=write_plots,
            quiet=quiet,
            baseline=baseline,
            export_onnx=export_onnx,
        )
    finally:
        if baseline is not None:
            baseline.close()


# A split this small fits its baseline in a few seconds: a second process's start-up
# (a new interpreter importing scikit-learn) would cost about what it saves.
BACKGROUND_BASELINE_MIN_REVIEWS = 2000


def _start_background_baseline(config: AcsaConfig, splits: Splits) -> BackgroundBaseline | None:
    """The TF-IDF baseline fitting in a second process while the network trains, or
    ``None`` (no baseline; a small split; several processes, where rank 0 alone fits it
    at the end as before)."""
    from acsa.training.arguments import world_size

    if not config.training.baseline or world_size() > 1:
        return None
    if len(splits["train"]) < BACKGROUND_BASELINE_MIN_REVIEWS:
        return None
    from acsa.training.background_baseline import BackgroundBaseline

    return BackgroundBaseline(config.training, splits)


def _train_network(
    config: AcsaConfig,
    splits: Splits,
    out: Path,
    clock: RunClock,
    *,
    resume: bool,
    callbacks: Sequence[TrainerCallback],
    write_plots: bool,
    quiet: bool,
    baseline: BackgroundBaseline | None,
    export_onnx: bool,
) -> TrainResult:
    """:func:`train` for a network (``baseline``: its TF-IDF baseline fitting beside it)."""
    from transformers import set_seed

    from acsa.data.indexed import encode_split
    from acsa.models import build_model
    from acsa.training.arguments import world_size
    from acsa.training.budget import plan_budget

    set_seed(config.training.seed)
    label_space = config.data.label_space
    pretrained = None
    if config.training.pretraining is not None and config.training.pretraining.enabled:
        from acsa.training.pretraining import pretrain

        with clock("pretraining"):  # draws no torch random numbers
            pretrained = pretrain(config, splits)
    with clock("build_model"):
        extra = pretrained.extra_tokens if pretrained is not None else ()
        model, featurizer = build_model(config.model, label_space, splits["train"].texts, extra)
        if pretrained is not None:
            pretrained.initialise(model, featurizer)
    long_reviews = _count_long_reviews(featurizer, splits)
    with clock("encode"):
        datasets = {
            name: encode_split(reviews, featurizer, label_space) for name, reviews in splits.items()
        }
        # evaluation and prediction batches read reviews of similar length together
        datasets.update(
            {name: data.longest_first() for name, data in datasets.items() if name != "train"}
        )
    budget = plan_budget(config.training, len(splits["train"]), world_size())
    _log_budget(config, budget)
    loss_fn = _build_loss(config, splits["train"])

    # Everything is validated: from here on the output folder is written.
    resume_from = _resume_checkpoint(out, resume, loss_fn)
    _prepare_run_folder(out, config, resume)
    trainer = _make_trainer(
        config, out, model, featurizer, datasets, splits, loss_fn, callbacks, budget
    )
    if config.training.progress_bar and not quiet:
        from acsa.training.callbacks import progress_callback

        trainer.add_callback(progress_callback())  # plain lines when stderr is no terminal
    with clock("train"):
        _fit(trainer, out, resume_from)

    state = trainer.state
    history = [dict(e) for e in state.log_history if "eval_pair_f1" in e]
    best_validation = _best_validation(history, state.best_metric)

    def predict(name: str) -> SplitPredictions:
        return _predict_split(trainer, datasets[name], splits[name], label_space)

    from acsa.models.segmented import save_word_segmentation

    model_dir = _save_best_model(trainer, out)
    if trainer.is_world_process_zero():
        save_word_segmentation(model_dir, config.data.word_segmentation)
    fitted = FittedModel(
        out=out,
        model_dir=model_dir,
        encoder=config.model.encoder,
        predict=predict,
        run_info={
            "global_step": state.global_step,
            "epochs_run": state.epoch,
            # the folder is removed at the end unless kept; model/ holds its weights
            "best_checkpoint": relative_to_run(state.best_model_checkpoint, out)
            if config.training.keep_checkpoints
            else None,
            "resumed_from": relative_to_run(resume_from, out),
            "skipped_batches": trainer.skipped_batches,
            "world_size": world_size(),
            "budget": budget.to_json(),
            # the validations' share of timings_s.train
            "evaluation_seconds": round(
                sum(float(e.get("eval_runtime", 0.0)) for e in state.log_history), 3
            ),
            "long_reviews": long_reviews,
            # only when configured, so a run without it writes what it wrote before
            **({"pretraining": pretrained.summary} if pretrained is not None else {}),
        },
        best_validation=best_validation,
        history=history,
        log_history=state.log_history,
        best_checkpoint=state.best_model_checkpoint,
        global_step=state.global_step,
        skipped_batches=trainer.skipped_batches,
        writes=trainer.is_world_process_zero(),
        label_scheme=label_space.scheme,
        baseline=baseline.result if baseline is not None else None,
    )
    result = finish_run(
        fitted, splits, config.training, clock, plots=write_plots, export_onnx=export_onnx
    )
    if trainer.is_world_process_zero() and not config.training.keep_checkpoints:
        remove_checkpoints(out, CHECKPOINT_DIR, trainer)  # finished: model/ holds the best
    return result


def _fit_tfidf(
    config: AcsaConfig,
    splits: Splits,
    out: Path,
    clock: RunClock,
    *,
    resume: bool,
    write_plots: bool,
) -> TrainResult:
    """``encoder: tfidf``: fit the baseline model itself, then finish like a trained model.

    No Trainer, epochs or checkpoints (``--resume`` fits again); the run folder
    has the same files (``training_curves.png`` aside).
    """
    from acsa.evaluation.decision import canonical_probabilities
    from acsa.models.tfidf import TfidfAspectModel
    from acsa.training.arguments import world_size

    if world_size() > 1:
        raise ConfigError("model.encoder: tfidf is fitted in one process; run it without torchrun")
    if resume:
        logger.info("encoder tfidf keeps no checkpoints; fitting it again")
    _prepare_run_folder(out, config, resume)
    with clock("train"):
        model = TfidfAspectModel.from_config(config.model).fit_reviews(splits["train"])
    model_dir = out / MODEL_DIR
    model.save_pretrained(model_dir)
    from acsa.models.segmented import save_word_segmentation

    save_word_segmentation(model_dir, config.data.word_segmentation)

    def predict(name: str) -> SplitPredictions:
        reviews = splits[name]
        probs = canonical_probabilities(model.predict_logits(reviews.texts), model.label_space)
        return SplitPredictions(
            aspects=model.aspects,
            texts=list(reviews.texts),
            gold=reviews.labels,
            mask=reviews.mask,
            pred=probs.argmax(-1).astype(np.int64),
            probabilities=probs,
        )

    fitted = FittedModel(
        out=out,
        model_dir=model_dir,
        encoder=config.model.encoder,
        predict=predict,
        run_info={"global_step": 0, "epochs_run": None, "num_features": model.num_features},
    )
    return finish_run(fitted, splits, config.training, clock, plots=write_plots)


# ----------------------------------------------------------------------------
# the steps


def _count_long_reviews(featurizer: Featurizer, splits: Splits) -> dict[str, Any] | None:
    """Per split, the reviews longer than the encoder reads (run.json), with one notice."""
    from acsa.models.long_reviews import count_truncated, notice

    counts = {name: count_truncated(featurizer, reviews.texts) for name, reviews in splits.items()}
    if any(c is None for c in counts.values()):
        return None
    message = notice(counts)  # type: ignore[arg-type]
    if message is not None and is_main_process():
        logger.warning("%s", message)
    return counts


def _log_budget(config: AcsaConfig, budget: Budget) -> None:
    """One line when ``min_steps`` or ``max_steps`` changed the configured epochs."""
    tc = config.training
    if budget.epochs != tc.epochs or budget.max_steps is not None:
        logger.info(
            "training budget: %d epochs of %d steps configured; %d steps planned (%s%s)",
            tc.epochs,
            budget.steps_per_epoch,
            budget.total_steps,
            f"{budget.epochs} epochs for training.min_steps {tc.min_steps}"
            if budget.epochs != tc.epochs
            else f"{budget.epochs} epochs",
            f", cut at training.max_steps {budget.max_steps}" if budget.max_steps else "",
        )


def _resolve_aspects(config: AcsaConfig) -> AcsaConfig:
    """The config with ``data.aspects`` filled from the training file when not listed,
    so the run's config.yaml names the aspects the model was trained on."""
    from acsa.data import resolve_aspects

    return config.model_copy(update={"data": resolve_aspects(config.data)})


def _load_splits(config: AcsaConfig) -> Splits:
    """Read and validate every split named in ``config.data`` (DataError on problems); the
    paths are absolute already (:func:`acsa.training.config.config_from_dict`)."""
    from acsa.data import load_and_validate

    splits, _report = load_and_validate(config.data)
    if len(splits["train"]) == 0 or len(splits["validation"]) == 0:
        raise DataError("data: the training and validation splits must not be empty")
    if "test" in splits and len(splits["test"]) == 0:
        del splits["test"]
    from acsa.data.segmentation import segment_splits

    return segment_splits(splits, config.data.word_segmentation)


def _build_loss(config: AcsaConfig, train_reviews: LabeledReviews) -> nn.Module:
    """The configured loss, with the training split's class counts (``alpha: auto``, priors)."""
    import torch

    from acsa.data import class_counts

    label_space = config.data.label_space
    counts = class_counts(
        label_space.to_scheme(train_reviews.labels), train_reviews.mask, label_space.num_classes
    )
    return build_configured_loss(config, class_counts=torch.as_tensor(counts))


def _resume_checkpoint(out: Path, resume: bool, loss_fn: nn.Module) -> str | None:
    """The newest complete, safe checkpoint to resume from (``None``: start from scratch)."""
    from acsa.training.callbacks import loss_state_tensors
    from acsa.training.checkpoints import find_resumable_checkpoint

    if not resume:
        return None
    checkpoint_root = out / CHECKPOINT_DIR
    resume_from = None
    if checkpoint_root.is_dir():
        # a kill while saving leaves a half-written checkpoint, which is skipped
        resume_from = find_resumable_checkpoint(
            checkpoint_root, need_loss_state=bool(loss_state_tensors(loss_fn))
        )
    if resume_from is None:
        logger.warning("no checkpoint in %s; starting from scratch", checkpoint_root)
    return resume_from


def _prepare_run_folder(out: Path, config: AcsaConfig, resume: bool) -> None:
    """Clear a replaced run, create the folder, write the resolved config (rank 0 only)."""
    if not is_main_process():
        return
    if out.exists() and not resume and config.output.overwrite:
        clear_run(out)
    out.mkdir(parents=True, exist_ok=True)
    dump_config(config, out / "config.yaml")


def _gradient_tracker(
    config: AcsaConfig, loss_fn: nn.Module, out: Path
) -> tuple[GradientNormTracker | None, list[TrainerCallback]]:
    """The gradient-norm tracker (GHM-C statistics) and its TensorBoard callback."""
    if not config.training.log_gradient_stats:
        return None, []
    from acsa.training.gradient_stats import make_tracker

    # the label space's class names (seed: positive, negative, neutral), GHM-C's bins
    return make_tracker(config.data.label_space.classes, out, loss_fn, out / LOG_DIR)


def _make_trainer(
    config: AcsaConfig,
    out: Path,
    model: nn.Module,
    featurizer: Featurizer,
    datasets: dict[str, IndexedDataset],
    splits: Splits,
    loss_fn: nn.Module,
    extra_callbacks: Sequence[TrainerCallback],
    budget: Budget | None = None,
) -> AcsaTrainer:
    """The :class:`~acsa.training.trainer.AcsaTrainer` with acsa's callbacks, quiet by default."""
    from transformers import EarlyStoppingCallback
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from acsa.data.indexed import make_collator
    from acsa.training.arguments import build_training_arguments
    from acsa.training.callbacks import LossStateCallback, tensorboard_callback
    from acsa.training.metrics_hook import MetricsFunction
    from acsa.training.trainer import AcsaTrainer

    group = config.training.group_by_length
    args = build_training_arguments(
        config.training,
        out,
        has_projection_unused=not config.loss.uses_contrastive,
        group_by_length=bool(group) if group != "auto" else True,
        budget=budget,
    )
    tracker, tracker_callbacks = _gradient_tracker(config, loss_fn, out)
    callbacks: list[TrainerCallback] = [LossStateCallback(loss_fn)]
    tb = tensorboard_callback(out / LOG_DIR)
    if tb is not None:
        callbacks.append(tb)
    if config.training.early_stopping_patience > 0:
        callbacks.append(EarlyStoppingCallback(config.training.early_stopping_patience))
    callbacks.extend(tracker_callbacks)
    callbacks.extend(extra_callbacks)
    optimizer_factory = getattr(model, "create_optimizer", None)
    trainer = AcsaTrainer(
        model=model,
        args=args,
        train_dataset=datasets["train"],
        eval_dataset=datasets["validation"],
        data_collator=make_collator(featurizer),
        compute_metrics=MetricsFunction(splits["validation"], config.data.label_space),
        callbacks=callbacks,
        loss_fn=loss_fn,
        nan_policy=config.training.nan_policy,
        gradient_tracker=tracker,
        model_optimizer_factory=optimizer_factory if callable(optimizer_factory) else None,
    )
    # a concise progress bar (added by train() unless quiet) instead of raw log dicts
    trainer.remove_callback(ProgressCallback)
    trainer.remove_callback(PrinterCallback)
    return trainer


def _fit(trainer: AcsaTrainer, out: Path, resume_from: str | None) -> None:
    """``trainer.train``, with Ctrl-C turned into a checkpoint to resume from."""
    from acsa.training.callbacks import load_loss_state
    from acsa.training.interrupt import GracefulInterrupt, TrainingInterrupted

    if resume_from is not None:
        load_loss_state(trainer.loss_fn, Path(resume_from))
        logger.info("resuming from %s", resume_from)
    # last callback, so the loss state is saved before it stops the run on Ctrl-C
    interrupt = GracefulInterrupt(out, resume_from=resume_from)
    trainer.add_callback(interrupt)
    try:
        with interrupt.installed():
            trainer.train(resume_from_checkpoint=resume_from)
    except KeyboardInterrupt as exc:
        if not isinstance(exc, TrainingInterrupted):
            _save_interrupted(trainer)
        raise


def _save_interrupted(trainer: AcsaTrainer) -> None:
    """On Ctrl-C, write a checkpoint so ``--resume`` continues from here.

    A Ctrl-C that reaches here (the second one, or one outside a step) has left
    the training loop, so the public way, a callback setting
    ``control.should_save`` (:class:`~acsa.training.interrupt.GracefulInterrupt`),
    can no longer act; and ``Trainer.save_model`` + ``save_state`` write no
    optimizer, scheduler or RNG state to resume from. ``Trainer._save_checkpoint``
    is the only way to write a whole checkpoint: checked on transformers 5.25;
    ``tests/test_training_interrupt.py`` pins pyproject's range (>=5.2,<6) and the
    method's signature, so a newer Transformers makes someone look again.
    """
    try:
        if trainer.state.global_step > 0:
            trainer._save_checkpoint(trainer.model, trial=None)
            logger.warning("interrupted: checkpoint saved at step %d", trainer.state.global_step)
    except Exception as exc:  # noqa: BLE001 - never mask the interrupt itself
        logger.warning("interrupted: could not save a checkpoint (%s)", exc)


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


def _save_best_model(trainer: AcsaTrainer, out: Path) -> Path:
    """Save the restored best model in ``save_pretrained`` format (rank 0 writes)."""
    model_dir = out / MODEL_DIR
    if trainer.is_world_process_zero():
        trainer.accelerator.unwrap_model(trainer.model).save_pretrained(model_dir)
    return model_dir


def _predict_split(
    trainer: AcsaTrainer,
    dataset: IndexedDataset,
    reviews: LabeledReviews,
    label_space: LabelSpace,
) -> SplitPredictions:
    """The best model's predictions on a split, in the split's row order, with its gold
    labels; labels decided by the argmax rule (the saved rule applies later)."""
    from acsa.evaluation.decision import canonical_probabilities, decide

    # The validation metrics hook looks rows up in the validation split; every
    # split is scored here against its own gold labels.
    trainer.compute_metrics = None
    output = trainer.predict(dataset, metric_key_prefix="predict")
    logits = np.asarray(
        output.predictions[0] if isinstance(output.predictions, tuple) else output.predictions
    )
    index = np.asarray(output.label_ids[-1], dtype=np.int64).reshape(-1)
    order = np.full(len(reviews), -1, dtype=np.int64)
    order[index] = np.arange(len(index))
    if (order < 0).any():
        raise CheckpointError("prediction lost rows; this is a bug in acsa")
    probs = canonical_probabilities(logits[order], label_space)
    return SplitPredictions(
        aspects=label_space.aspects,
        texts=list(reviews.texts),
        gold=reviews.labels,
        mask=reviews.mask,
        pred=decide(probs),
        probabilities=probs,
    )

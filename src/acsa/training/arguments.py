"""``transformers.TrainingArguments`` from the ``training:`` section of an acsa config."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from acsa.data.indexed import BATCH_LABEL_KEYS
from acsa.errors import ConfigError
from acsa.training.budget import Budget
from acsa.training.config import TrainingConfig
from acsa.training.output_dir import CHECKPOINT_DIR

if TYPE_CHECKING:
    from transformers import TrainingArguments


def world_size() -> int:
    """Processes taking part in training (``torchrun`` sets ``WORLD_SIZE``; 1 otherwise)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def precision_flags(precision: str) -> dict[str, bool]:
    """``{"bf16": ..., "fp16": ...}`` for ``training.precision`` on this machine."""
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


def build_training_arguments(
    training: TrainingConfig,
    out: Path,
    *,
    has_projection_unused: bool,
    group_by_length: bool,
    budget: Budget | None = None,
) -> TrainingArguments:
    """The Trainer's arguments: evaluation and checkpoints at the budget's interval, best
    pair-F1 kept.

    Args:
        training: the config's ``training:`` section.
        out: the run folder (checkpoints go to ``out/checkpoints``).
        has_projection_unused: the model has a projection head the loss does
            not use (DDP must then look for unused parameters).
        group_by_length: batch reviews of similar length together.
        budget: the run's length and evaluation interval
            (:func:`acsa.training.budget.plan_budget`); ``None``: ``training.epochs``
            epochs, evaluated every epoch.
    """
    from transformers import TrainingArguments

    tc = training
    world = world_size()
    if tc.batch_size % world:
        raise ConfigError(
            f"training.batch_size: {tc.batch_size} reviews cannot be split evenly over "
            f"{world} processes; use a multiple of {world}"
        )
    schedule = (
        budget.training_arguments()
        if budget is not None
        else {"num_train_epochs": tc.epochs, "eval_strategy": "epoch", "save_strategy": "epoch"}
    )
    return TrainingArguments(
        output_dir=str(out / CHECKPOINT_DIR),
        **schedule,
        # training.batch_size is the global batch per micro-step, so the same
        # config gives the same optimisation under torchrun with N processes.
        per_device_train_batch_size=tc.batch_size // world,
        per_device_eval_batch_size=tc.eval_batch_size,
        gradient_accumulation_steps=tc.gradient_accumulation_steps,
        learning_rate=tc.learning_rate,
        weight_decay=tc.weight_decay,
        # a float below 1 is a ratio of the total steps (transformers >= 5)
        warmup_steps=tc.warmup_ratio,
        lr_scheduler_type=tc.scheduler,
        max_grad_norm=tc.max_grad_norm,
        logging_strategy="steps",
        logging_steps=tc.logging_steps,
        save_total_limit=tc.save_total_limit,
        load_best_model_at_end=True,
        metric_for_best_model="eval_pair_f1",
        greater_is_better=True,
        report_to="none",  # the TensorBoard callback is added with our log folder
        seed=tc.seed,
        data_seed=tc.seed,
        # train_sampling_strategy exists from transformers 5.2 (the lower bound in pyproject)
        train_sampling_strategy="group_by_length" if group_by_length else "random",
        dataloader_num_workers=tc.num_workers,
        dataloader_pin_memory=False,
        remove_unused_columns=False,
        label_names=list(BATCH_LABEL_KEYS),
        disable_tqdm=not tc.progress_bar,
        ddp_find_unused_parameters=has_projection_unused,
        ddp_backend=None,
        logging_nan_inf_filter=False,
        # Without use_cpu, accelerate does not form a gloo process group under
        # torchrun on a machine without GPUs and every process trains alone.
        use_cpu=_cpu_only(),
        **precision_flags(tc.precision),
    )

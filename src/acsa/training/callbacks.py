"""Trainer callbacks: loss state in checkpoints, TensorBoard folder, concise progress."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments
from transformers.trainer_callback import ProgressCallback
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

from acsa.errors import CheckpointError
from acsa.files import atomic_write

LOSS_STATE_NAME = "loss_state.safetensors"


class LossStateCallback(TrainerCallback):
    """Save the loss's buffers (e.g. GHM-C's EMA bin counts) beside each checkpoint.

    The Trainer checkpoints the model, optimizer, scheduler and RNG states; a
    stateful loss lives outside the model, so without this a resumed GHM-C
    run would restart its statistics from zero and diverge from an
    uninterrupted one.
    """

    def __init__(self, loss_fn: nn.Module) -> None:
        self.loss_fn = loss_fn

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if not state.is_world_process_zero:
            return
        tensors = loss_state_tensors(self.loss_fn)
        if not tensors:
            return
        from safetensors.torch import save_file

        folder = Path(args.output_dir) / f"{PREFIX_CHECKPOINT_DIR}-{state.global_step}"
        if folder.is_dir():
            atomic_write(folder / LOSS_STATE_NAME, lambda tmp: save_file(tensors, str(tmp)))


def loss_state_tensors(loss_fn: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu().contiguous() for k, v in loss_fn.state_dict().items()}


def load_loss_state(loss_fn: nn.Module, checkpoint_dir: Path) -> bool:
    """Restore the loss buffers saved by :class:`LossStateCallback`; ``False`` if none."""
    path = Path(checkpoint_dir) / LOSS_STATE_NAME
    if not path.is_file():
        return False
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path), device="cpu")
    except Exception as exc:  # noqa: BLE001 - a damaged file is a checkpoint problem
        raise CheckpointError(
            f"{path}: cannot read the loss state ({exc}); delete the checkpoint"
        ) from None
    current = loss_fn.state_dict()
    for key, value in tensors.items():
        if key in current:
            current[key] = value.to(current[key].device, current[key].dtype)
    loss_fn.load_state_dict(current, strict=False)
    return True


def evaluation_line(args: TrainingArguments, state: TrainerState, logs: dict[str, Any]) -> str:
    """One evaluation as a short line: ``epoch 2  val pair-F1 0.7012  aspect-F1 ...``."""
    epoch = logs.get("epoch", state.epoch or 0)
    if getattr(args, "eval_strategy", "epoch") == "steps":  # a str enum
        parts = [f"step {state.global_step} (epoch {epoch:.2f})"]
    else:
        parts = [f"epoch {epoch:.0f}"]
    for key, label in (
        ("eval_pair_f1", "val pair-F1"),
        ("eval_aspect_f1", "aspect-F1"),
        ("eval_sentiment_macro_f1", "sentiment-F1"),
        ("eval_loss", "val loss"),
    ):
        value = logs.get(key)
        if isinstance(value, (int, float)) and math.isfinite(value):
            parts.append(f"{label} {value:.4f}")
    return "  ".join(parts)


class EpochSummaryCallback(ProgressCallback):
    """The Trainer's progress bar, with one short line per evaluation instead of raw dicts."""

    def __init__(self, metric: str = "eval_pair_f1") -> None:
        super().__init__()
        self.metric = metric

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not state.is_world_process_zero or self.training_bar is None or not logs:
            return
        if self.metric not in logs:
            return
        self.training_bar.write(evaluation_line(args, state, logs))


class PlainProgressCallback(TrainerCallback):
    """Progress for a log file or a pipe: plain lines, no bar, no escape codes.

    One line every ``every`` of the optimizer steps (``step 120/1200 (10%)``)
    and one per evaluation, written to the current ``sys.stderr``.
    """

    def __init__(self, metric: str = "eval_pair_f1", every: float = 0.1) -> None:
        self.metric = metric
        self.every = every
        self._next = every

    def _write(self, line: str) -> None:
        import sys

        sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if not state.is_world_process_zero or not state.max_steps:
            return
        done = state.global_step / state.max_steps
        if done + 1e-9 >= self._next:
            while self._next <= done + 1e-9:
                self._next += self.every
            self._write(f"step {state.global_step}/{state.max_steps} ({done:.0%})")

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if state.is_world_process_zero and logs and self.metric in logs:
            self._write(evaluation_line(args, state, logs))


def stderr_is_terminal() -> bool:
    """Whether stderr is a terminal (live bars) or a file or pipe (plain lines)."""
    import sys

    return bool(getattr(sys.stderr, "isatty", None) and sys.stderr.isatty())


def progress_callback() -> TrainerCallback:
    """The progress display for this stderr: a live bar on a terminal, plain lines elsewhere."""
    return EpochSummaryCallback() if stderr_is_terminal() else PlainProgressCallback()


def tensorboard_callback(log_dir: Path) -> TrainerCallback | None:
    """The Trainer's TensorBoard callback writing to ``log_dir`` (``None`` if unavailable)."""
    try:
        from transformers.integrations import TensorBoardCallback

        callback = TensorBoardCallback()
    except (ImportError, RuntimeError):
        return None
    # The callback reads this attribute when training starts (rank 0 only), so
    # no event file is created before then.
    callback.logging_dir = str(log_dir)
    return callback

"""``AcsaTrainer``: ``transformers.Trainer`` with acsa's loss, metrics and guards.

The loop, checkpoints, resume, mixed precision, gradient accumulation and
DDP all stay Hugging Face's; this class only plugs in:

* ``compute_loss``: the configured :class:`acsa.losses.CombinedLoss`, with
  each part (``classification``, ``contrastive``) averaged between two log
  lines and logged as ``classification_loss`` / ``contrastive_loss``;
* a non-finite loss guard (``nan_policy``: ``stop`` raises a
  :class:`~acsa.errors.TrainingError` naming the step and the loss part,
  ``skip`` lets the batch contribute no gradient and counts it);
* ``prediction_step`` returning ``[B, A, C]`` logits with the labels, mask
  and example index, so metrics are computed on the original rows whatever
  order the sampler used;
* evaluation and prediction read a split in its dataset's own order
  (longest review first, :meth:`acsa.data.indexed.IndexedDataset.longest_first`),
  not in the training's length-grouped random order;
* an optional ``gradient_tracker`` hook (GHM-style statistics).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from transformers import Trainer

from acsa.data.indexed import BATCH_LABEL_KEYS
from acsa.errors import TrainingError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from acsa.losses.combined import LossOutput
    from acsa.training.gradient_stats import GradientTracker


class AcsaTrainer(Trainer):
    """A ``Trainer`` for multi-aspect logits and an ``acsa.losses`` objective.

    Args:
        loss_fn: a module called as ``loss_fn(logits, targets, mask,
            embeddings=projections)`` returning an object with ``.total`` and
            ``.parts`` (``acsa.losses.LossOutput``), or a plain tensor.
        nan_policy: ``"stop"`` or ``"skip"`` for a non-finite training loss.
        gradient_tracker: optional object with ``update(logits, targets, mask,
            loss_fn)``, called on every training micro-batch.
        model_optimizer_factory: optional ``(lr, weight_decay) -> Optimizer``
            (the model's own ``create_optimizer``, e.g. sparse embeddings).
        All other arguments go to ``transformers.Trainer``.
    """

    def __init__(
        self,
        *args: Any,
        loss_fn: nn.Module,
        nan_policy: str = "stop",
        gradient_tracker: GradientTracker | None = None,
        model_optimizer_factory: Callable[[float, float], torch.optim.Optimizer] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.loss_fn = loss_fn.to(self.args.device)
        self.nan_policy = nan_policy
        self.gradient_tracker = gradient_tracker
        self._model_optimizer_factory = model_optimizer_factory
        # The model's forward takes **features; without this the Trainer would
        # pass num_items_in_batch into it and assume the loss is pre-scaled for
        # gradient accumulation. Our losses are per-batch means.
        self.model_accepts_loss_kwargs = False
        self.loss_is_scaled_for_ga = False
        self._part_sums: dict[str, torch.Tensor] = {}
        self._part_batches = 0
        self.skipped_batches = 0

    # -- optimisation --------------------------------------------------------

    def create_optimizer(self, model: nn.Module | None = None) -> torch.optim.Optimizer:
        if self.optimizer is None and self._model_optimizer_factory is not None:
            self.optimizer = self._model_optimizer_factory(
                self.args.learning_rate, self.args.weight_decay
            )
            return self.optimizer
        return super().create_optimizer(model)

    # -- loss ----------------------------------------------------------------

    def compute_loss(
        self,
        model: nn.Module,
        inputs: dict[str, Any],
        return_outputs: bool = False,
        num_items_in_batch: torch.Tensor | int | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, dict[str, torch.Tensor]]:
        targets = inputs.get("labels")
        mask = inputs.get("label_mask")
        features = {k: v for k, v in inputs.items() if k not in BATCH_LABEL_KEYS}
        outputs = model(**features)
        logits = outputs["logits"]
        if targets is None:
            raise TrainingError("a batch without 'labels' reached compute_loss; check the dataset")
        embeddings = outputs.get("projections") if isinstance(outputs, dict) else None
        # The loss is not a submodule of the model, so Trainer's model.train() /
        # model.eval() do not reach it; stateful losses (GHM-C) must not update
        # their statistics during evaluation.
        if self.loss_fn.training != model.training:
            self.loss_fn.train(model.training)
        if model.training and self.gradient_tracker is not None:
            # Before the loss: GHM-C's weights are read from the statistics this batch
            # is weighted with, which the loss then updates.
            self.gradient_tracker.update(logits.detach(), targets, mask, self.loss_fn)
        result = self.loss_fn(logits, targets, mask, embeddings=embeddings)
        total, parts = _split_loss_output(result)

        if model.training:
            total = self._guard_non_finite(total, parts, outputs)
            for name, value in parts.items():
                value = value.detach().float()
                if name in self._part_sums:
                    self._part_sums[name] = self._part_sums[name] + value
                else:
                    self._part_sums[name] = value
            self._part_batches += 1
        return (total, outputs) if return_outputs else total

    def _guard_non_finite(
        self, total: torch.Tensor, parts: dict[str, torch.Tensor], outputs: dict[str, Any]
    ) -> torch.Tensor:
        if bool(torch.isfinite(total.detach()).all()):
            return total
        step = self.state.global_step + 1
        bad = [name for name, value in parts.items() if not bool(torch.isfinite(value).all())]
        part = bad[0] if bad else "total"
        value = float(parts[part].detach().float()) if bad else float(total.detach().float())
        if self.nan_policy == "stop":
            raise TrainingError(
                f"non-finite loss at step {step} (loss part '{part}' = {value}); lower "
                "training.learning_rate, check the loss parameters, or set "
                "training.nan_policy: skip"
            )
        self.skipped_batches += 1
        # A zero that stays attached to every output keeps DDP's reducer and
        # sparse embedding gradients consistent while adding no gradient;
        # nan_to_num's backward is zero where the input was not finite.
        zero = total.new_zeros(())
        for key in ("logits", "projections"):
            tensor = outputs.get(key) if isinstance(outputs, dict) else None
            if tensor is not None:
                zero = (
                    zero + (torch.nan_to_num(tensor, nan=0.0, posinf=0.0, neginf=0.0) * 0.0).sum()
                )
        return zero

    # -- evaluation ----------------------------------------------------------

    def _get_eval_sampler(self, eval_dataset: Any) -> torch.utils.data.Sampler | None:
        """The split in its own order (one process), as accelerate shards it (several).

        Transformers 5 applies ``train_sampling_strategy="group_by_length"`` to
        evaluation too, with megabatches of a single batch on a split under
        ``4 * 50`` batches: the order is then random, and each batch pads to
        the longest of 256 random reviews (the smartphone validation split:
        2.5 s an evaluation of the offline model, against 1.1 s read longest
        first). No public hook chooses the evaluation sampler: overriding
        ``get_eval_dataloader`` means rewriting it whole. Checked on
        Transformers 5.25; tests/test_training.py checks the order the
        evaluation reads, so a Transformers that stops calling this method fails it.
        """
        from torch.utils.data import SequentialSampler

        if eval_dataset is None or self.args.world_size > 1:
            return None
        return SequentialSampler(eval_dataset)

    def prediction_step(
        self,
        model: nn.Module,
        inputs: dict[str, Any],
        prediction_loss_only: bool,
        ignore_keys: list[str] | None = None,
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, Any]:
        inputs = self._prepare_inputs(inputs)
        label_parts = tuple(inputs[k] for k in BATCH_LABEL_KEYS if k in inputs)
        with torch.no_grad(), self.compute_loss_context_manager():
            if inputs.get("labels") is not None:
                loss, outputs = self.compute_loss(model, inputs, return_outputs=True)
                loss = loss.detach().float()
            else:
                features = {k: v for k, v in inputs.items() if k not in BATCH_LABEL_KEYS}
                outputs, loss = model(**features), None
        if prediction_loss_only:
            return (loss, None, None)
        logits = outputs["logits"].detach().float()
        return (loss, logits, label_parts if label_parts else None)

    # -- logging -------------------------------------------------------------

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        # Only training log lines carry "loss" (evaluation logs use "eval_loss").
        if "loss" in logs and self._part_batches > 0:
            for name, total in self._part_sums.items():
                mean = total / self._part_batches
                if self.args.world_size > 1:
                    mean = self.accelerator.reduce(mean.to(self.args.device), reduction="mean")
                value = float(mean)
                logs[f"{name}_loss"] = value if math.isfinite(value) else float("nan")
            self._part_sums = {}
            self._part_batches = 0
        if "loss" in logs and (self.nan_policy == "skip" or self.skipped_batches):
            logs["skipped_batches"] = float(self.skipped_batches)
        super().log(logs, start_time)


def _split_loss_output(
    result: LossOutput | torch.Tensor | Mapping[str, torch.Tensor],
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """``LossOutput`` (total, parts) or a bare tensor -> (total, parts)."""
    if isinstance(result, torch.Tensor):
        return result, {"classification": result}
    total = getattr(result, "total", None)
    parts = getattr(result, "parts", None)
    if total is None and isinstance(result, dict):
        total, parts = result["total"], result.get("parts")
    if total is None:
        raise TypeError(f"the loss returned {type(result).__name__}; expected LossOutput or Tensor")
    return total, dict(parts or {"classification": total})

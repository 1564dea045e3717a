"""The training budget: how many optimizer steps a run makes, and when it evaluates.

``training.epochs`` alone gives a small data set few updates (40 reviews at
batch 32 are 2 steps per epoch) and a large one many; ``training.min_steps``
raises the number of whole epochs until the run makes at least that many
optimizer steps, ``training.max_steps`` caps it, and ``training.eval_every``
sets the evaluation (and checkpoint) interval, so that early stopping and the
restore of the best checkpoint work at that granularity. The result maps onto
``TrainingArguments`` (``num_train_epochs``, ``max_steps``, ``eval_strategy``,
``eval_steps``, ``save_steps``); the Trainer runs the loop.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from acsa.training.config import AUTO_EVALUATIONS, TrainingConfig


@dataclass(frozen=True)
class Budget:
    """The run's length and evaluation interval.

    Attributes:
        steps_per_epoch: optimizer steps in one pass over the training split.
        epochs: passes the Trainer is asked for (``num_train_epochs``).
        max_steps: the step cap passed to the Trainer, or ``None`` (epochs decide).
        total_steps: optimizer steps of the whole run, unless early stopping ends it.
        eval_steps: evaluate and checkpoint every this many steps, or ``None``
            for once per epoch.
    """

    steps_per_epoch: int
    epochs: int
    max_steps: int | None
    total_steps: int
    eval_steps: int | None

    def training_arguments(self) -> dict[str, Any]:
        """The ``TrainingArguments`` keywords of this budget."""
        strategy = "epoch" if self.eval_steps is None else "steps"
        extra: dict[str, Any] = {}
        if self.eval_steps is not None:
            extra = {"eval_steps": self.eval_steps, "save_steps": self.eval_steps}
        return {
            "num_train_epochs": self.epochs,
            "max_steps": self.max_steps if self.max_steps is not None else -1,
            "eval_strategy": strategy,
            "save_strategy": strategy,
            **extra,
        }

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def steps_per_epoch(num_train: int, batch_size: int, accumulation: int, world: int = 1) -> int:
    """Optimizer steps per epoch, counted as the Trainer counts them.

    Each of ``world`` processes reads ``ceil(num_train / world)`` reviews (the
    distributed sampler pads) in batches of ``batch_size / world`` (the last one
    may be short), and a partial accumulation window at the end of an epoch
    still makes a step.
    """
    per_process = math.ceil(num_train / world)
    batches = math.ceil(per_process / max(1, batch_size // world))
    return max(1, math.ceil(batches / accumulation))


def plan_budget(training: TrainingConfig, num_train: int, world: int = 1) -> Budget:
    """The :class:`Budget` of a run over ``num_train`` training reviews on ``world`` processes."""
    per_epoch = steps_per_epoch(
        num_train, training.batch_size, training.gradient_accumulation_steps, world
    )
    epochs = training.epochs
    if training.min_steps > epochs * per_epoch:
        epochs = math.ceil(training.min_steps / per_epoch)
    total = epochs * per_epoch
    max_steps = None
    if training.max_steps is not None and training.max_steps < total:
        max_steps = total = training.max_steps
    every = training.eval_every
    if every == "auto":
        eval_steps: int | None = max(1, math.ceil(total / AUTO_EVALUATIONS))
    elif every == "epoch":
        # a cap inside an epoch would leave the last partial epoch unevaluated;
        # evaluating every epoch's worth of steps also evaluates at the cap
        eval_steps = per_epoch if max_steps is not None and max_steps % per_epoch else None
    else:
        eval_steps = int(every)
    return Budget(per_epoch, epochs, max_steps, total, eval_steps)

"""Ctrl-C during training: finish the step, save a checkpoint, then stop.

A ``KeyboardInterrupt`` raised in the middle of a step can land between the
optimizer update and the step counter, so a checkpoint written from there
would not resume exactly. Instead the first SIGINT only sets a flag; the
callback turns it into ``should_save`` + ``should_training_stop`` at the
next step boundary and, once the Trainer has written that checkpoint,
raises :class:`TrainingInterrupted` so no end-of-training work (loading the
best model, deleting checkpoints, the test report) runs. A second Ctrl-C
restores Python's default behaviour and interrupts at once.

Such a checkpoint falls mid-epoch, and resuming mid-epoch is exact only if
the epoch's batch order is drawn again the same way. With length-grouped
batches the Trainer draws it from the global torch RNG when the epoch
starts, but restores the RNG saved at the checkpoint's step only after
that draw. So every checkpoint also stores the torch RNG state of its
epoch's start (``epoch_rng_state_<rank>.safetensors``), and on resume it
is put back when the resumed epoch begins.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from acsa.errors import Interrupted, Speller, keyword
from acsa.files import atomic_write
from acsa.logs import process_rank

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

EPOCH_RNG_PREFIX = "epoch_rng_state"


def epoch_rng_file(checkpoint: Path | str) -> Path:
    """This process's epoch-start RNG file inside a checkpoint folder."""
    return Path(checkpoint) / f"{EPOCH_RNG_PREFIX}_{process_rank()}.safetensors"


class TrainingInterrupted(Interrupted):
    """Training stopped on Ctrl-C after saving a checkpoint; the message says how to resume
    (``resume=True``; :meth:`spelled` with the CLI's option names says ``--resume``)."""

    def __init__(self, step: int, checkpoint: str, output_dir: str) -> None:
        super().__init__(
            "interrupted at step {step}: checkpoint saved in {checkpoint}; run it again with "
            "{resume:True} (same output folder {where}) to continue",
            step=step,
            checkpoint=checkpoint,
            where=output_dir,
        )
        self.checkpoint = checkpoint


class GracefulInterrupt(TrainerCallback):
    """Save a checkpoint at the next step boundary after SIGINT, then stop training.

    Use :meth:`installed` around ``trainer.train()`` and pass the object in
    the Trainer's callbacks (after any callback whose ``on_save`` must run,
    e.g. the loss-state one).
    """

    def __init__(
        self, output_dir: Path | str | None = None, resume_from: Path | str | None = None
    ) -> None:
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.requested = False
        self._saving = False
        self._epoch_rng: torch.Tensor | None = None
        self._restore_from = epoch_rng_file(resume_from) if resume_from is not None else None

    # -- signal side -------------------------------------------------------

    def request(self) -> None:
        """What the SIGINT handler does; also callable from tests."""
        self.requested = True

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.request()
        # a second Ctrl-C means "now": give the default handler back
        signal.signal(signal.SIGINT, signal.default_int_handler)
        logger.warning(
            "interrupt received: saving a checkpoint after this step (Ctrl-C again to quit now)"
        )

    @contextmanager
    def installed(self) -> Iterator[GracefulInterrupt]:
        """Route SIGINT to this object while the block runs (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(signal.SIGINT, self._handler)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)

    # -- Trainer side -------------------------------------------------------

    def _agreed(self) -> bool:
        # Under DDP every rank must take the same branch, or the checkpoint's
        # barriers would wait forever; any rank's Ctrl-C stops them all.
        flag = self.requested
        try:
            import torch
            import torch.distributed as dist

            if dist.is_available() and dist.is_initialized():
                tensor = torch.tensor([1.0 if flag else 0.0])
                if dist.get_backend() == "nccl":
                    tensor = tensor.cuda()
                dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
                flag = bool(tensor.item() > 0)
        except (RuntimeError, ValueError):
            pass
        self.requested = flag
        return flag

    def on_epoch_begin(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl | None:
        import torch

        if self._restore_from is not None:
            if self._restore_from.is_file():
                from safetensors.torch import load_file

                torch.set_rng_state(load_file(str(self._restore_from))["torch_cpu"])
            self._restore_from = None
        self._epoch_rng = torch.get_rng_state().clone()
        return control

    def _save_epoch_rng(self, checkpoint: Path) -> None:
        if self._epoch_rng is None or not checkpoint.is_dir():
            return
        from safetensors.torch import save_file

        state = {"torch_cpu": self._epoch_rng}
        atomic_write(epoch_rng_file(checkpoint), lambda tmp: save_file(state, str(tmp)))

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl | None:
        if self._agreed():
            control.should_save = True
            control.should_training_stop = True
            self._saving = True
        return control

    def on_save(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl | None:
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        self._save_epoch_rng(folder)
        if not (self.requested or self._saving):
            return control
        where = self.output_dir if self.output_dir is not None else Path(args.output_dir).parent
        raise TrainingInterrupted(state.global_step, str(folder), str(where))


def interrupt_message(exc: BaseException | None, spell: Speller = keyword) -> str | None:
    """The message of an :class:`~acsa.errors.Interrupted` anywhere in ``exc``'s chain, if any.

    typer turns Ctrl-C into a silent ``SystemExit(130)`` whose cause chain
    still holds the original interrupt; the CLI prints its message from here,
    with ``spell`` writing its option names.
    """
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, Interrupted):
            return exc.spelled(spell)
        exc = exc.__cause__ or exc.__context__
    return None

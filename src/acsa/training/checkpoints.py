"""Choosing a Trainer checkpoint that is complete and safe to resume from.

``transformers`` 5.x writes ``checkpoint-<step>/`` in place, file by file
(weights, optimizer, scheduler, RNG states, then ``trainer_state.json``),
so a run killed while saving leaves a folder that looks like a checkpoint
but is not one. ``trainer_state.json`` is written last, which makes it the
commit marker: a checkpoint counts only when that file parses, the weights
file has a readable safetensors header, and every pickled ``.pt``/``.pth``
file passes torch's weights-only unpickler. :func:`find_resumable_checkpoint`
skips incomplete folders (newest first), so a kill during saving falls back
to the previous checkpoint, and refuses, with a one-line
:class:`~acsa.errors.CheckpointError`, a file that would run code when
unpickled.
"""

from __future__ import annotations

import json
import logging
import pickle
import re
import struct
import warnings
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from acsa.errors import CheckpointError

if TYPE_CHECKING:
    from transformers import Trainer

logger = logging.getLogger(__name__)

TRAINER_STATE = "trainer_state.json"
WEIGHTS = "model.safetensors"
LOSS_STATE = "loss_state.safetensors"
_STEP = re.compile(r"^checkpoint-(\d+)$")
# a safetensors header larger than this is corrupt, not a model
_MAX_HEADER = 100 * 1024 * 1024


class IncompleteCheckpoint(Exception):
    """A checkpoint folder a kill left half-written (internal; never reaches the user)."""


def checkpoint_folders(root: Path) -> list[Path]:
    """``checkpoint-<step>`` folders under ``root``, newest (highest step) first."""
    root = Path(root)
    if not root.is_dir():
        return []
    found = [
        (int(match.group(1)), child)
        for child in root.iterdir()
        if child.is_dir() and (match := _STEP.match(child.name))
    ]
    return [path for _, path in sorted(found, reverse=True)]


def read_safetensors_header(path: Path) -> dict[str, object]:
    """The JSON header of a safetensors file; ``ValueError`` when it is not one.

    Reads only the header, so checking a large weights file stays cheap.
    """
    with Path(path).open("rb") as handle:
        prefix = handle.read(8)
        if len(prefix) != 8:
            raise ValueError("shorter than a safetensors header")
        (size,) = struct.unpack("<Q", prefix)
        if size <= 0 or size > _MAX_HEADER:
            raise ValueError("not a safetensors file (implausible header size)")
        raw = handle.read(size)
        if len(raw) != size:
            raise ValueError("truncated safetensors header")
        header = json.loads(raw.decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("safetensors header is not a JSON object")
        end = 0
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
            if not offsets or len(offsets) != 2:
                raise ValueError(f"tensor {name!r} has no data offsets")
            end = max(end, int(offsets[1]))
        handle.seek(0, 2)
        if handle.tell() < 8 + size + end:
            raise ValueError("truncated tensor data")
    return header


def check_weights_only_pickle(path: Path) -> None:
    """Load a torch pickle with the weights-only unpickler; CheckpointError if it refuses.

    Zip-format files are memory-mapped, so only the (small) pickle stream is
    read; their tensors are not copied into memory.
    """
    import torch
    from transformers.trainer_pt_utils import safe_globals

    path = Path(path)
    mmap = zipfile.is_zipfile(path)
    try:
        # the same allowlist (numpy RNG state) the Trainer uses when it resumes
        with warnings.catch_warnings(), safe_globals():
            # an unusual pickle protocol is reported below if it matters
            warnings.simplefilter("ignore")
            torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except pickle.UnpicklingError as exc:
        detail = _unsafe_detail(str(exc))
        raise CheckpointError(
            f"{path}: refused to load ({detail}); a weights-only file holds tensors and "
            "plain containers only. Delete this checkpoint folder if you did not write it"
        ) from None
    except (EOFError, RuntimeError, OSError, ValueError, zipfile.BadZipFile) as exc:
        raise IncompleteCheckpoint(f"{path.name}: unreadable ({type(exc).__name__})") from None


def _unsafe_detail(message: str) -> str:
    """The short reason inside torch's long weights-only error text."""
    match = re.search(r"GLOBAL ([\w.]+)", message)
    if match:
        return f"it would call {match.group(1)}, which can run code"
    return "it is not a weights-only pickle and could run code"


def check_checkpoint(folder: Path, *, need_loss_state: bool = False) -> None:
    """Raise IncompleteCheckpoint (half-written) or CheckpointError (unsafe) for ``folder``."""
    folder = Path(folder)
    state_path = folder / TRAINER_STATE
    if not state_path.is_file():
        raise IncompleteCheckpoint(f"no {TRAINER_STATE}")
    try:
        state = json.loads(state_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IncompleteCheckpoint(f"{TRAINER_STATE} unreadable ({type(exc).__name__})") from None
    if not isinstance(state, dict) or "global_step" not in state:
        raise IncompleteCheckpoint(f"{TRAINER_STATE} has no global_step")
    required = [WEIGHTS] + ([LOSS_STATE] if need_loss_state else [])
    for name in required:
        path = folder / name
        if not path.is_file():
            raise IncompleteCheckpoint(f"no {name}")
        try:
            read_safetensors_header(path)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise IncompleteCheckpoint(f"{name}: {exc}") from None
    for path in sorted([*folder.glob("*.pt"), *folder.glob("*.pth")]):
        check_weights_only_pickle(path)


def find_resumable_checkpoint(root: Path, *, need_loss_state: bool = False) -> str | None:
    """The newest complete checkpoint under ``root`` (a path string), or ``None``.

    Half-written folders (a kill while saving) are skipped with a warning and
    left in place: the resumed run writes the same step again over them.

    Raises:
        CheckpointError: a checkpoint file would run code when unpickled.
    """
    for folder in checkpoint_folders(Path(root)):
        try:
            check_checkpoint(folder, need_loss_state=need_loss_state)
        except IncompleteCheckpoint as exc:
            logger.warning(
                "skipping %s: incomplete (%s), probably killed while saving", folder.name, exc
            )
            continue
        return str(folder)
    return None


def run_finished(trainer: Trainer) -> bool:
    """Whether training ran to its end: the whole step budget, or early stopping's verdict.

    A run stopped otherwise (a time budget, a callback, Ctrl-C) may be resumed.
    """
    from transformers import EarlyStoppingCallback

    state = trainer.state
    if state.max_steps and state.global_step >= state.max_steps:
        return True
    return any(
        isinstance(cb, EarlyStoppingCallback)
        and cb.early_stopping_patience_counter >= cb.early_stopping_patience
        for cb in trainer.callback_handler.callbacks
    )


def remove_checkpoints(out: Path, checkpoint_dir: str, trainer: Trainer) -> bool:
    """After a finished run (:func:`run_finished`): remove ``out/checkpoint_dir``.

    The model is saved in ``model/`` by then; a run that did not finish keeps
    its checkpoints for ``--resume``. Returns whether a folder was removed.
    """
    import shutil

    folder = Path(out) / checkpoint_dir
    if not folder.is_dir() or not run_finished(trainer):
        return False
    shutil.rmtree(folder)
    return True

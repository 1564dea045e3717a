"""The run folder (``output.dir``): its layout, and whether a run may use it.

Layout::

    config.yaml          the resolved config (loadable with ``acsa train``)
    run.json             timings, versions, seed, best checkpoint (when checkpoints are kept)
    checkpoints/         Trainer checkpoints (checkpoint-<step>/), used to resume
    logs/                TensorBoard event files
    model/               the best model, save_pretrained format (acsa predict/evaluate)
    metrics.json         test metrics (GUIDE.md section 2) + best validation metrics
    predictions.csv      test predictions in the wide CSV format
    *.png                per-aspect F1, confusion matrices, training curves
    self_training/       training.self_training's second stage (a run folder of its own)
    supervised/          the supervised model and report, when the self-trained one replaced it
"""

from __future__ import annotations

import shutil
from pathlib import Path

from acsa.errors import ArgumentError
from acsa.files import check_writable_dir
from acsa.models.saved import RUN_MODEL_DIR as MODEL_DIR

CHECKPOINT_DIR = "checkpoints"
LOG_DIR = "logs"
CONFIG_KEY = "output.dir"
# where a Python caller of train() sets what the command line's options set
_NAMES = {"output_dir": CONFIG_KEY, "overwrite": "output.overwrite"}
SELF_TRAINING_DIR = "self_training"
SUPERVISED_DIR = "supervised"
_RUN_MARKERS = ("run.json", "config.yaml", CHECKPOINT_DIR, MODEL_DIR, "metrics.json")


def _looks_like_run(out: Path) -> bool:
    return any((out / name).exists() for name in _RUN_MARKERS)


def check_output_dir(out: Path, *, resume: bool, overwrite: bool) -> None:
    """Decide, without writing, whether a run may use ``out`` (one-line ConfigError if not)."""
    check_writable_dir(out, CONFIG_KEY)
    if not out.exists() or resume:
        return
    if not out.is_dir():
        raise ArgumentError(
            "output.dir: {out} is a file; choose another {output_dir}", python_names=_NAMES, out=out
        )
    if any(out.iterdir()):
        if not _looks_like_run(out):
            raise ArgumentError(
                "output.dir: {out} is a non-empty folder that is not an acsa run; "
                "choose another {output_dir}",
                python_names=_NAMES,
                out=out,
            )
        if not overwrite:
            raise ArgumentError(
                "output.dir: {out} already holds a run; pass {resume:True} to continue it, "
                "{overwrite:True} to replace it, or choose another {output_dir}",
                python_names=_NAMES,
                out=out,
            )


def clear_run(out: Path) -> None:
    """Remove a previous run's files (only names acsa writes)."""
    for child in out.iterdir():
        if child.is_dir() and child.name in (
            CHECKPOINT_DIR,
            MODEL_DIR,
            LOG_DIR,
            SELF_TRAINING_DIR,
            SUPERVISED_DIR,
        ):
            shutil.rmtree(child)
        elif child.is_file() and (
            child.suffix in (".png", ".json", ".jsonl", ".yaml", ".csv")
            or child.name.startswith("events.")
        ):
            child.unlink()


def relative_to_run(path: str | None, out: Path) -> str | None:
    """``path`` relative to the run folder (POSIX form) when inside it, for run.json."""
    if path is None:
        return None
    try:
        return Path(path).resolve().relative_to(out).as_posix()
    except ValueError:
        return str(path)

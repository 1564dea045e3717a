"""The run folder (``output.dir``): its layout, and whether a run may use it.

Layout::

    config.yaml          the resolved config (loadable with ``acsa train``)
    run.json             timings, versions, seed, best checkpoint
    checkpoints/         Trainer checkpoints (checkpoint-<step>/), used by --resume
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

from acsa.errors import ConfigError
from acsa.files import check_writable_dir
from acsa.models.saved import RUN_MODEL_DIR as MODEL_DIR

CHECKPOINT_DIR = "checkpoints"
LOG_DIR = "logs"
SELF_TRAINING_DIR = "self_training"
SUPERVISED_DIR = "supervised"
_RUN_MARKERS = ("run.json", "config.yaml", CHECKPOINT_DIR, MODEL_DIR, "metrics.json")


def _looks_like_run(out: Path) -> bool:
    return any((out / name).exists() for name in _RUN_MARKERS)


def check_output_dir(out: Path, *, resume: bool, overwrite: bool) -> None:
    """Decide, without writing, whether a run may use ``out`` (one-line ConfigError if not)."""
    check_writable_dir(out)
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

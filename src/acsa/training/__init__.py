"""Training: config schema, the Trainer subclass, callbacks and the run pipeline.

Using a saved model (load, predict, evaluate) is :mod:`acsa.api`.
``from acsa.training import train, load_config`` works; the heavy modules
(transformers) are imported on first use, so importing the config schema
stays cheap.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "AcsaConfig": "acsa.training.config",
    "load_config": "acsa.training.config",
    "config_from_dict": "acsa.training.config",
    "TrainResult": "acsa.training.run",
    "train": "acsa.training.run",
    "AcsaTrainer": "acsa.training.trainer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'acsa.training' has no attribute {name!r}")

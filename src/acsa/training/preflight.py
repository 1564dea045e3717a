"""Checks of a loaded config that must fail before anything is read or written.

Some problems are only visible once the config is combined with the machine
(fp16 without a GPU) or with the command (``acsa train`` needs a training
file); caught here, they name the config file and the key instead of
surfacing later, after the output folder has been created.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from acsa.errors import ConfigError

if TYPE_CHECKING:
    from acsa.training.config import AcsaConfig


def preflight(config_path: Path | str, config: AcsaConfig, *, training: bool) -> None:
    """Raise a one-line ConfigError naming ``config_path`` and the key, or return.

    Args:
        config_path: the YAML file the config came from (for the message).
        config: the validated :class:`acsa.training.config.AcsaConfig`.
        training: the command is about to train (checks the training section too).
    """
    name = Path(config_path).name
    if getattr(config.data, "train", None) is None:
        raise ConfigError(
            f"{name}: data.train: missing; set it to the training file (.csv or .jsonl)"
        )
    if not training:
        return
    precision = config.training.precision
    if precision == "fp16":
        import torch

        if not torch.cuda.is_available():
            raise ConfigError(
                f"{name}: training.precision: fp16 needs a CUDA GPU and none is visible; "
                "use bf16, fp32 or auto"
            )

"""A Ctrl-C that leaves the training loop still writes a checkpoint to resume from.

``acsa.training.run._save_interrupted`` calls ``Trainer._save_checkpoint``, a
private Transformers method (no public one writes optimizer, scheduler and RNG
state outside the training loop). It was checked on the range pinned here:
a Transformers outside it fails this test until someone checks it again.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKED_RANGE = ">=5.2,<6"


def test_the_private_checkpoint_method_is_on_a_checked_transformers() -> None:
    import transformers
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version
    from transformers import Trainer

    assert Version(transformers.__version__) in SpecifierSet(CHECKED_RANGE)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    # the declared range must be the checked one (widening it means checking again)
    assert re.findall(r'"transformers([^"]*)"', pyproject) == [CHECKED_RANGE]
    assert list(inspect.signature(Trainer._save_checkpoint).parameters)[:3] == [
        "self",
        "model",
        "trial",
    ]


def test_a_hard_interrupt_saves_a_checkpoint(tmp_path: Path) -> None:
    """A plain KeyboardInterrupt out of a step (not the graceful one) still leaves a
    checkpoint with the optimizer and trainer state, and is raised again."""
    from transformers import TrainerCallback

    from acsa.training.run import train
    from tests.test_training import small_config, write_synthetic_data

    class StopHard(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            if state.global_step == 2:
                raise KeyboardInterrupt
            return control

    data = write_synthetic_data(tmp_path / "data", sizes=(64, 16, 16))
    config = small_config(data, tmp_path / "run", epochs=1, baseline=False)
    with pytest.raises(KeyboardInterrupt):
        train(config, callbacks=[StopHard()], quiet=True)
    checkpoint = tmp_path / "run" / "checkpoints" / "checkpoint-2"
    assert (checkpoint / "trainer_state.json").is_file()
    assert (checkpoint / "optimizer.pt").is_file()
    assert not (tmp_path / "run" / "metrics.json").exists()

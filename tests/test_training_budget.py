"""The step budget: training.min_steps, max_steps and eval_every, through the real Trainer."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch

from acsa.training.budget import plan_budget, steps_per_epoch
from acsa.training.config import TrainingConfig
from tests.test_training import small_config, write_synthetic_data


def _budget(num_train: int, world: int = 1, **training: Any) -> Any:
    return plan_budget(TrainingConfig(**training), num_train, world)


def test_steps_per_epoch_matches_the_dataloader() -> None:
    from torch.utils.data import DataLoader

    for n, batch, accumulation in [(40, 16, 1), (41, 8, 2), (7, 32, 1), (100, 10, 3)]:
        batches = len(DataLoader(list(range(n)), batch_size=batch))
        assert steps_per_epoch(n, batch, accumulation) == math.ceil(batches / accumulation)
    # two processes share the global batch and pad the data to an even split
    assert steps_per_epoch(41, 16, 1, world=2) == math.ceil(21 / 8)


def test_min_steps_raises_whole_epochs_and_max_steps_caps() -> None:
    assert _budget(40, epochs=2, batch_size=16).total_steps == 6
    raised = _budget(40, epochs=2, batch_size=16, min_steps=20)
    assert (raised.epochs, raised.total_steps, raised.max_steps) == (7, 21, None)
    assert _budget(4000, epochs=2, batch_size=16, min_steps=20).epochs == 2  # already enough
    capped = _budget(40, epochs=2, batch_size=16, min_steps=20, max_steps=10)
    assert (capped.total_steps, capped.max_steps) == (10, 10)
    # a cap inside an epoch evaluates every epoch's worth of steps (and at the cap)
    assert capped.eval_steps == 3
    assert _budget(40, epochs=2, batch_size=16, max_steps=6).eval_steps is None


def test_eval_every_maps_to_trainer_arguments() -> None:
    assert _budget(40, batch_size=16).training_arguments()["eval_strategy"] == "epoch"
    steps = _budget(40, batch_size=16, eval_every=5).training_arguments()
    assert (steps["eval_strategy"], steps["eval_steps"], steps["save_steps"]) == ("steps", 5, 5)
    auto = _budget(40, epochs=10, batch_size=16, eval_every="auto")
    assert auto.total_steps == 30 and auto.eval_steps == 3  # about 10 evaluations


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_data(tmp_path_factory.mktemp("budget"), sizes=(40, 20, 20))


def _train(tiny_dir: Path, out: Path, **training: Any) -> Any:
    from acsa.training.run import train

    options = {"batch_size": 16, "baseline": False, **training}
    return train(small_config(tiny_dir, out, **options), quiet=True)


def test_forty_reviews_reach_min_steps(tiny_dir: Path, tmp_path: Path) -> None:
    result = _train(tiny_dir, tmp_path / "run", epochs=1, min_steps=20)
    assert result.global_step == 21  # 7 whole epochs of 3 steps
    assert [e["step"] for e in result.history] == [3 * k for k in range(1, 8)]
    run = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    assert run["budget"]["epochs"] == 7 and run["budget"]["steps_per_epoch"] == 3


def test_max_steps_cap_evaluates_at_the_cap(tiny_dir: Path, tmp_path: Path) -> None:
    result = _train(tiny_dir, tmp_path / "run", epochs=1, min_steps=20, max_steps=10)
    assert result.global_step == 10
    assert [e["step"] for e in result.history] == [3, 6, 9, 10]


def test_early_stopping_and_best_restore_at_step_granularity(
    tiny_dir: Path, tmp_path: Path
) -> None:
    # learning rate 0: no evaluation improves on the first, so patience 1 stops at the second
    result = _train(
        tiny_dir,
        tmp_path / "run",
        epochs=5,
        eval_every=2,
        early_stopping_patience=1,
        learning_rate=1e-12,
        save_total_limit=1,
        keep_checkpoints=True,
    )
    assert [e["step"] for e in result.history] == [2, 4]
    assert result.global_step == 4
    assert result.best_checkpoint is not None and result.best_checkpoint.endswith("checkpoint-2")
    # checkpoints stay bounded: the best one, plus the newest within save_total_limit
    kept = sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir())
    assert kept and len(kept) <= 2 and "checkpoint-2" in kept


def _stop_at(step: int) -> Any:
    from transformers import TrainerCallback

    class Stop(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if state.global_step == step:
                control.should_training_stop = True

    return Stop()


def test_resume_inside_an_epoch_is_exact(tiny_dir: Path, tmp_path: Path) -> None:
    from safetensors.torch import load_file

    from acsa.training.run import train

    options = {"epochs": 4, "eval_every": 4, "batch_size": 16, "baseline": False}
    full = train(small_config(tiny_dir, tmp_path / "full", **options), quiet=True)
    assert full.global_step == 12
    cut_config = small_config(tiny_dir, tmp_path / "cut", **options)
    first = train(cut_config, quiet=True, callbacks=[_stop_at(4)])
    assert first.global_step == 4  # step 4 is inside the second epoch (3 steps per epoch)
    resumed = train(cut_config, resume=True, quiet=True)
    assert resumed.global_step == 12
    run = json.loads((tmp_path / "cut" / "run.json").read_text(encoding="utf-8"))
    assert run["resumed_from"] == "checkpoints/checkpoint-4"
    a = load_file(str(full.model_dir / "model.safetensors"))
    b = load_file(str(resumed.model_dir / "model.safetensors"))
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6)
    assert [e["step"] for e in resumed.history][-2:] == [8, 12]


def test_progress_line_names_the_step_when_evaluating_by_steps() -> None:
    from types import SimpleNamespace

    from transformers.trainer_utils import IntervalStrategy

    from acsa.training.callbacks import EpochSummaryCallback

    lines: list[str] = []
    callback = EpochSummaryCallback()
    callback.training_bar = SimpleNamespace(write=lines.append)
    state = SimpleNamespace(is_world_process_zero=True, epoch=1.5, global_step=30)
    logs = {"eval_pair_f1": 0.5, "epoch": 1.5}
    for strategy in (IntervalStrategy.STEPS, IntervalStrategy.EPOCH):
        callback.on_log(SimpleNamespace(eval_strategy=strategy), state, None, logs=logs)
    assert lines[0].startswith("step 30 (epoch 1.50)")
    assert lines[1].startswith("epoch 2")


def test_an_explicit_epoch_count_is_the_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``acsa train --epochs N`` and a comparison's epochs turn ``min_steps`` off;
    without them the config's ``min_steps`` stands (the quickstart's 1,000)."""
    import acsa.training.run as run_module
    from acsa.cli import main
    from acsa.compare.variants import Variant, variant_config

    root = Path(__file__).resolve().parents[1]
    data = tmp_path / "data"
    write_synthetic_data(data)
    seen: list[Any] = []

    def fake_train(config: Any, **_: Any) -> Any:
        seen.append(config)
        raise SystemExit(0)

    monkeypatch.setattr(run_module, "train", fake_train)
    quickstart = root / "configs" / "quickstart.yaml"
    for extra in (["--epochs", "2"], []):
        with pytest.raises(SystemExit):
            main(
                [
                    "train",
                    str(quickstart),
                    "--data-dir",
                    str(data),
                    "-o",
                    str(tmp_path / "r"),
                    *extra,
                ]
            )
    explicit, default = seen
    assert (explicit.training.epochs, explicit.training.min_steps) == (2, 0)
    assert (default.training.epochs, default.training.min_steps) == (6, 1000)
    assert plan_budget(explicit.training, 100).total_steps == 2 * steps_per_epoch(100, 64, 1)

    ce = Variant(name="ce", loss={"type": "cross_entropy"})
    compared = variant_config(quickstart, ce, seed=0, epochs=3, data_dir=data)
    assert (compared.training.epochs, compared.training.min_steps) == (3, 0)
    assert variant_config(quickstart, ce, seed=0, data_dir=data).training.min_steps == 1000

"""Gradient-norm tracking, its TensorBoard/JSONL logging and the plot."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn
from transformers import TrainerControl, TrainerState

from acsa.errors import DataError
from acsa.evaluation.plots import GRADIENT_STATS_PLOT, plot_gradient_stats
from acsa.losses import GHMCLoss
from acsa.losses.compat import MultiLabelGHM_Loss
from acsa.training.gradient_stats import (
    STATS_FILE,
    GradientNormTracker,
    GradientStatsCallback,
    find_ghm_module,
    read_gradient_stats,
)


def _ghm_with_state(bins: int = 5, per_aspect: bool = False) -> GHMCLoss:
    """A GHM-C loss whose statistics have seen a few training batches."""
    loss = GHMCLoss(bins=bins, momentum=0.75, per_aspect=per_aspect, num_aspects=3).train()
    for seed in range(3):
        loss(*_batch(100 + seed, b=16))
    return loss


class Combined(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.classification = _ghm_with_state()


def _batch(seed: int = 0, b: int = 8, a: int = 3, c: int = 4) -> tuple:
    gen = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, a, c, generator=gen) * 2
    targets = torch.randint(0, c, (b, a), generator=gen)
    mask = torch.rand(b, a, generator=gen) > 0.2
    return logits, targets, mask


def test_tracker_histogram_matches_a_loop() -> None:
    tracker = GradientNormTracker(bins=10)
    batches = [_batch(0), _batch(1)]
    for logits, targets, mask in batches:
        tracker.update(logits, targets, mask)
    summary = tracker.summary()
    assert summary is not None
    expected = np.zeros((4, 10), dtype=int)
    for logits, targets, mask in batches:
        p = torch.softmax(logits, -1)
        for i in range(logits.shape[0]):
            for j in range(logits.shape[1]):
                if mask[i, j]:
                    g = 1 - p[i, j, targets[i, j]].item()
                    expected[targets[i, j], min(int(g * 10), 9)] += 1
    got = np.array([summary["counts"][n] for n in summary["classes"]])
    np.testing.assert_array_equal(got, expected)
    assert summary["num_cells"] == int(sum(m.sum() for _, _, m in batches))
    assert summary["ghm"] is None
    tracker.reset()
    assert tracker.summary() is None


def test_tracker_ignores_out_of_range_targets_and_half_precision() -> None:
    logits, targets, _ = _batch(2)
    targets[0, 0] = -100
    tracker = GradientNormTracker(bins=4)
    tracker.update(logits.to(torch.bfloat16), targets)
    summary = tracker.summary()
    assert summary is not None and summary["num_cells"] == targets.numel() - 1


def test_find_ghm_module_inside_a_combined_loss() -> None:
    combined = Combined()
    assert find_ghm_module(combined) is combined.classification
    compat = MultiLabelGHM_Loss(3, 4)
    assert find_ghm_module(compat) is compat.ghm
    assert find_ghm_module(nn.CrossEntropyLoss()) is None
    assert find_ghm_module(lambda x: x) is None


def _run_epochs(tmp_path: Path, loss_fn: nn.Module | None, epochs: int = 3) -> Path:
    tracker = GradientNormTracker(bins=8)
    callback = GradientStatsCallback(tracker, output_dir=tmp_path, log_dir=tmp_path / "tb")
    args = SimpleNamespace(output_dir=str(tmp_path))
    state, control = TrainerState(), TrainerControl()
    callback.on_train_begin(args, state, control)
    for epoch in range(1, epochs + 1):
        for step in range(3):
            logits, targets, mask = _batch(10 * epoch + step)
            tracker.update(logits * epoch, targets, mask, loss_fn)
            if loss_fn is not None:
                loss_fn.classification(logits * epoch, targets, mask)
            state.global_step += 1
        state.epoch = float(epoch)
        callback.on_epoch_end(args, state, control)
    callback.on_train_end(args, state, control)
    return tmp_path


def test_callback_writes_jsonl_tensorboard_and_plot(tmp_path: Path) -> None:
    loss = Combined()
    run = _run_epochs(tmp_path, loss)
    records = read_gradient_stats(run)
    assert [r["epoch"] for r in records] == [1, 2, 3]
    ema = loss.classification.ema_counts
    assert records[-1]["ghm"]["ema_counts"] == ema.numpy().round(4).tolist()
    assert records[-1]["ghm"]["bin_edges"] == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    weights = records[0]["ghm"]["mean_weight"]
    assert set(weights) == {"none", "negative", "neutral", "positive"}
    assert all(v is None or v > 0 for v in weights.values())
    assert list((tmp_path / "tb").glob("events.out.tfevents.*"))
    png = plot_gradient_stats(records, run / GRADIENT_STATS_PLOT)
    assert png.is_file() and png.stat().st_size > 10_000


def test_plot_without_ghm_and_resumed_duplicates(tmp_path: Path) -> None:
    run = _run_epochs(tmp_path, None, epochs=2)
    lines = (run / STATS_FILE).read_text(encoding="utf-8").splitlines()
    # a resumed run logs epoch 2 again: the later record wins
    again = json.loads(lines[1])
    again["global_step"] = 999
    with (run / STATS_FILE).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(again) + "\n")
    records = read_gradient_stats(run)
    assert len(records) == 2 and records[1]["global_step"] == 999
    assert plot_gradient_stats(records, tmp_path / "out" / "h.png").is_file()


def test_plot_ghm_missing_file_is_a_data_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(DataError, match="gradient_stats.jsonl"):
        read_gradient_stats(tmp_path)
    from acsa.cli import main

    with pytest.raises(SystemExit) as info:
        main(["plot-ghm", str(tmp_path)])
    assert info.value.code == 2
    assert "gradient_stats.jsonl" in capsys.readouterr().err


def test_plot_ghm_command_writes_the_png(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = _run_epochs(tmp_path, Combined())
    from acsa.cli import main

    with pytest.raises(SystemExit) as info:
        main(["plot-ghm", str(run)])
    assert info.value.code in (0, None)
    png = run / GRADIENT_STATS_PLOT
    assert capsys.readouterr().out.strip() == str(png)
    assert png.stat().st_size > 10_000


@pytest.mark.parametrize("per_aspect", [False, True])
def test_mean_weights_are_the_weights_the_loss_applied(per_aspect: bool) -> None:
    ghm = GHMCLoss(bins=10, momentum=0.75, per_aspect=per_aspect, num_aspects=3)
    ghm = ghm.train()
    tracker = GradientNormTracker(bins=10)
    sums, nums = torch.zeros(4, dtype=torch.float64), torch.zeros(4, dtype=torch.float64)
    for seed in range(3):
        logits, targets, mask = _batch(seed, b=16)
        tracker.update(logits, targets, mask, ghm)  # as the trainer: before the loss
        ghm.reduction = "none"
        per_cell = ghm(logits, targets, mask)
        ce = torch.nn.functional.cross_entropy(logits.permute(0, 2, 1), targets, reduction="none")
        beta = (per_cell / ce)[mask]
        sums.index_add_(0, targets[mask], beta.double())
        nums += torch.bincount(targets[mask], minlength=4).double()
    summary = tracker.summary()
    assert summary is not None
    got = [summary["ghm"]["mean_weight"][n] for n in summary["classes"]]
    np.testing.assert_allclose(got, (sums / nums).numpy(), rtol=1e-5)
    assert np.asarray(summary["ghm"]["ema_counts"]).shape == ((3, 10) if per_aspect else (10,))


def test_make_tracker_uses_the_ghm_bins_and_run_folder(tmp_path: Path) -> None:
    from acsa.losses import build_loss
    from acsa.training.gradient_stats import make_tracker

    loss = build_loss({"type": "combined", "classification": {"type": "ghm", "bins": 7}})
    classes = ("none", "neg", "neu", "pos")
    tracker, callbacks = make_tracker(classes, tmp_path / "run", loss, tmp_path / "run" / "logs")
    assert tracker.bins == 7 and tracker.class_names == ("none", "neg", "neu", "pos")
    assert callbacks[0].output_dir == (tmp_path / "run").resolve()


def test_training_logs_the_label_schemes_class_names(tmp_path: Path) -> None:
    """Under ``label_scheme: seed`` the statistics name positive/negative/neutral."""
    from acsa.training.config import config_from_dict
    from acsa.training.run import train
    from tests.test_training import small_config, write_synthetic_data

    data = write_synthetic_data(tmp_path / "data", sizes=(96, 32, 32))
    config = small_config(data, tmp_path / "run", epochs=1, log_gradient_stats=True)
    raw = config.to_yaml_dict()
    raw["data"]["label_scheme"] = "seed"
    raw["loss"] = {"type": "ghm", "bins": 5}
    result = train(config_from_dict(raw), quiet=True)
    (record,) = read_gradient_stats(result.output_dir)
    assert record["classes"] == ["positive", "negative", "neutral"]
    assert set(record["ghm"]["mean_weight"]) == {"positive", "negative", "neutral"}
    assert record["bins"] == 5

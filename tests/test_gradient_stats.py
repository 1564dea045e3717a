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
from acsa.training.gradient_stats import (
    STATS_FILE,
    GradientNormTracker,
    GradientStatsCallback,
    find_ghm_module,
    ghm_cell_weights,
    read_gradient_stats,
)


class StubGHM(nn.Module):
    """Stands in for the GHM-C loss: same buffers, a fixed EMA histogram."""

    def __init__(self, bins: int = 5, per_aspect: int | None = None) -> None:
        super().__init__()
        shape = (per_aspect, bins) if per_aspect else (bins,)
        self.register_buffer("bin_edges", torch.linspace(0, 1, bins + 1))
        self.register_buffer(
            "ema_counts", torch.arange(1, bins + 1, dtype=torch.float32).expand(shape).clone()
        )
        self.register_buffer("last_counts", torch.zeros(shape), persistent=False)


class StubCombined(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.classification = StubGHM()


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
    combined = StubCombined()
    assert find_ghm_module(combined) is combined.classification
    assert find_ghm_module(nn.CrossEntropyLoss()) is None
    assert find_ghm_module(lambda x: x) is None


def test_ghm_weights_follow_the_formula() -> None:
    ghm = StubGHM(bins=5)
    g = torch.tensor([[0.05, 0.95], [0.5, 0.55]])
    valid = torch.tensor([[True, True], [True, False]])
    w, defined = ghm_cell_weights(g, valid, ghm.ema_counts, ghm.bin_edges)
    # bins 0, 4, 2 are occupied (3 valid bins); N = 3; R = 1, 5, 3
    expected = torch.tensor([[3 / (1 * 3), 3 / (5 * 3)], [3 / (3 * 3), 0.0]])
    torch.testing.assert_close(w, expected)
    assert defined.tolist() == [[True, True], [True, False]]
    per_aspect = StubGHM(bins=5, per_aspect=2)
    w2, _ = ghm_cell_weights(g, valid, per_aspect.ema_counts, per_aspect.bin_edges)
    # aspect 0: cells g=0.05 and 0.5, N = 2, 2 bins; aspect 1: g=0.95, N = 1, 1 bin
    torch.testing.assert_close(w2, torch.tensor([[2 / (1 * 2), 1 / 5], [2 / (3 * 2), 0.0]]))


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
            state.global_step += 1
        state.epoch = float(epoch)
        callback.on_epoch_end(args, state, control)
    callback.on_train_end(args, state, control)
    return tmp_path


def test_callback_writes_jsonl_tensorboard_and_plot(tmp_path: Path) -> None:
    run = _run_epochs(tmp_path, StubCombined())
    records = read_gradient_stats(run)
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert records[0]["ghm"]["ema_counts"] == [1.0, 2.0, 3.0, 4.0, 5.0]
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
    run = _run_epochs(tmp_path, StubCombined())
    from acsa.cli import main

    with pytest.raises(SystemExit) as info:
        main(["plot-ghm", str(run)])
    assert info.value.code in (0, None)
    png = run / GRADIENT_STATS_PLOT
    assert capsys.readouterr().out.strip() == str(png)
    assert png.stat().st_size > 10_000


@pytest.mark.parametrize("per_aspect", [False, True])
def test_mean_weights_reproduce_the_real_ghm_loss(per_aspect: bool) -> None:
    from acsa.losses import build_loss

    cfg = {"type": "ghm", "bins": 10, "momentum": 0.75, "reduction": "none"}
    if per_aspect:
        cfg.update(per_aspect=True, num_aspects=3)
    ghm = build_loss(cfg).train()
    tracker = GradientNormTracker(bins=10)
    for seed in range(3):
        logits, targets, mask = _batch(seed, b=16)
        per_cell = ghm(logits, targets, mask)
        ce = torch.nn.functional.cross_entropy(logits.permute(0, 2, 1), targets, reduction="none")
        beta = per_cell / ce
        w, defined = ghm_cell_weights(
            1 - torch.softmax(logits, -1).gather(-1, targets[..., None]).squeeze(-1),
            mask,
            ghm.ema_counts,
            ghm.bin_edges,
            ghm.last_counts,
        )
        torch.testing.assert_close(w[mask], beta[mask], rtol=1e-4, atol=1e-5)
        assert bool(defined[mask].all())
        tracker.update(logits, targets, mask, ghm)
    summary = tracker.summary()
    assert summary is not None and summary["ghm"]["mean_weight"] is not None
    assert np.asarray(summary["ghm"]["ema_counts"]).shape == ((3, 10) if per_aspect else (10,))


def test_make_tracker_uses_the_ghm_bins_and_run_folder(tmp_path: Path) -> None:
    from acsa.losses import build_loss
    from acsa.training.gradient_stats import make_tracker

    loss = build_loss({"type": "combined", "classification": {"type": "ghm", "bins": 7}})
    config = SimpleNamespace(
        data=SimpleNamespace(label_space=SimpleNamespace(classes=("none", "neg", "neu", "pos"))),
        output=SimpleNamespace(dir=tmp_path / "run"),
    )
    tracker, callbacks = make_tracker(config, loss, tmp_path / "run" / "logs")
    assert tracker.bins == 7 and tracker.class_names == ("none", "neg", "neu", "pos")
    assert callbacks[0].output_dir == (tmp_path / "run").resolve()

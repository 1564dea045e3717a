"""Interrupted training, half-written checkpoints, unsafe pickles and numerical faults.

Fast tests run ``acsa.training.run.train`` in this process on tiny data; the
two marked slow start ``python -m acsa train`` as a real process and kill it
(SIGKILL) or interrupt it (SIGINT), then resume and compare with an
uninterrupted run bit for bit.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

from acsa.errors import CheckpointError, TrainingError
from acsa.training.checkpoints import check_weights_only_pickle, find_resumable_checkpoint
from tests.test_reliability_corpus import MARKER, write_code_pickle
from tests.test_training import ASPECTS, TINY_OFFLINE, small_config, write_synthetic_data

# ---------------------------------------------------------------------------- helpers


def weights(model_dir: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(Path(model_dir) / "model.safetensors"))


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert set(wa) == set(wb)
    for key in wa:
        assert torch.equal(wa[key], wb[key]), f"{key} differs: {(wa[key] - wb[key]).abs().max()}"


def read_metrics(run: Path) -> dict[str, Any]:
    """metrics.json without timings (eval_runtime, ..._per_second, baseline fit_seconds)."""

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: strip(v)
                for k, v in node.items()
                if not k.endswith(("_runtime", "_per_second", "_seconds"))
            }
        return node

    return strip(json.loads((run / "metrics.json").read_text(encoding="utf-8")))


def make_partial(complete: Path, step: int) -> Path:
    """What a kill during saving leaves: the next step's folder, half written."""
    partial = complete.parent / f"checkpoint-{step}"
    shutil.copytree(complete, partial)
    (partial / "trainer_state.json").unlink()
    raw = (partial / "model.safetensors").read_bytes()
    (partial / "model.safetensors").write_bytes(raw[: len(raw) // 3])
    raw = (partial / "optimizer.pt").read_bytes()
    (partial / "optimizer.pt").write_bytes(raw[: len(raw) // 2])
    return partial


class SigintAtStep:
    """A callback that sends this process a real SIGINT at the end of a given step."""

    def __init__(self, step: int) -> None:
        from transformers import TrainerCallback

        outer = self

        class _Callback(TrainerCallback):
            def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                if state.global_step == outer.step:
                    os.kill(os.getpid(), signal.SIGINT)

        self.step = step
        self.callback = _Callback()


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_data(tmp_path_factory.mktemp("tiny"), sizes=(64, 20, 20))


# 64 reviews in batches of 8: 8 steps per epoch; stop in the middle of the second,
# where the batch order is not the one a fresh process would draw
STOP_STEP = 11


def tiny_config(data: Path, out: Path, **training: Any) -> Any:
    base = {"epochs": 2, "batch_size": 8, "learning_rate": 0.02}
    return small_config(data, out, **{**base, **training})


@pytest.fixture(scope="module")
def uninterrupted(tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from acsa.training.run import train

    out = tmp_path_factory.mktemp("full") / "run"
    return train(tiny_config(tiny_data, out), quiet=True, write_plots=False)


@pytest.fixture(scope="module")
def interrupted(tiny_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A run stopped by SIGINT at step 11 (mid second epoch), plus a pristine copy of its folder."""
    from acsa.training.interrupt import TrainingInterrupted
    from acsa.training.run import train

    root = tmp_path_factory.mktemp("cut")
    out = root / "run"
    with pytest.raises(TrainingInterrupted) as info:
        train(
            tiny_config(tiny_data, out),
            quiet=True,
            write_plots=False,
            callbacks=[SigintAtStep(STOP_STEP).callback],
        )
    pristine = root / "pristine"
    shutil.copytree(out, pristine)
    from acsa.cli._flags import option

    return {
        "out": out,
        "pristine": pristine,
        "message": str(info.value),
        "cli_message": info.value.spelled(option),
    }


# ---------------------------------------------------------------------------- Ctrl-C


def test_ctrl_c_saves_a_checkpoint_and_says_how_to_resume(interrupted: dict[str, Any]) -> None:
    message = interrupted["message"]
    assert "\n" not in message
    assert message.startswith(f"interrupted at step {STOP_STEP}: checkpoint saved in ")
    # a Python caller reads the keyword, the command line's user the option
    assert "resume=True" in message and "--" not in message
    assert "with --resume (same output folder" in interrupted["cli_message"]
    checkpoints = interrupted["out"] / "checkpoints"
    # the first epoch's checkpoint (8 steps) and the one Ctrl-C wrote
    assert sorted(p.name for p in checkpoints.iterdir()) == ["checkpoint-11", "checkpoint-8"]
    folder = checkpoints / f"checkpoint-{STOP_STEP}"
    state = json.loads((folder / "trainer_state.json").read_text(encoding="utf-8"))
    assert state["global_step"] == STOP_STEP
    # the run stopped: no final model, no test report
    assert not (interrupted["out"] / "model").exists()
    assert not (interrupted["out"] / "metrics.json").exists()


def test_resume_after_ctrl_c_and_a_half_written_checkpoint_is_exact(
    interrupted: dict[str, Any], uninterrupted: Any, tiny_data: Path
) -> None:
    from acsa.training.run import train

    out = interrupted["out"]
    make_partial(out / "checkpoints" / f"checkpoint-{STOP_STEP}", step=STOP_STEP + 1)
    resumed = train(tiny_config(tiny_data, out), resume=True, quiet=True, write_plots=False)
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["resumed_from"] == f"checkpoints/checkpoint-{STOP_STEP}"
    assert resumed.global_step == uninterrupted.global_step
    # same seed, data order, optimizer and RNG state: bit-identical on CPU
    assert_same_weights(uninterrupted.model_dir, resumed.model_dir)
    assert read_metrics(out) == read_metrics(uninterrupted.output_dir)


def test_transformers_itself_loads_the_optimizer_weights_only(
    interrupted: dict[str, Any], tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With acsa's own check switched off, the Trainer still refuses a code-running optimizer.pt."""
    from acsa.training import checkpoints
    from acsa.training.run import train

    out = tmp_path / "run"
    shutil.copytree(interrupted["pristine"], out)
    folder = out / "checkpoints" / f"checkpoint-{STOP_STEP}"
    write_code_pickle(folder / "optimizer.pt", tmp_path / MARKER)
    monkeypatch.setattr(checkpoints, "check_weights_only_pickle", lambda path: None)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        train(tiny_config(tiny_data, out), resume=True, quiet=True)
    assert not (tmp_path / MARKER).exists()


def test_resume_refuses_code_running_optimizer_with_one_line(
    interrupted: dict[str, Any], tiny_data: Path, tmp_path: Path
) -> None:
    from acsa.training.run import train

    out = tmp_path / "run"
    shutil.copytree(interrupted["pristine"], out)
    target = out / "checkpoints" / f"checkpoint-{STOP_STEP}" / "optimizer.pt"
    write_code_pickle(target, tmp_path / MARKER)
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    with pytest.raises(CheckpointError) as info:
        train(tiny_config(tiny_data, out), resume=True, quiet=True)
    message = str(info.value)
    assert "\n" not in message and str(target) in message and "refused to load" in message
    assert not (tmp_path / MARKER).exists()
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


# ---------------------------------------------------------------------------- checkpoint choice


def _checkpoint(root: Path, step: int, model_file: Path, *, loss_state: bool = False) -> Path:
    folder = root / f"checkpoint-{step}"
    folder.mkdir(parents=True)
    shutil.copy(model_file, folder / "model.safetensors")
    if loss_state:
        shutil.copy(model_file, folder / "loss_state.safetensors")
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}), encoding="utf-8")
    torch.save({"state": {}, "param_groups": []}, folder / "optimizer.pt")
    # the Trainer's RNG file holds numpy state: allowed by the weights-only allowlist
    torch.save({"numpy": np.random.get_state(), "cpu": torch.get_rng_state()}, folder / "rng.pth")
    return folder


@pytest.fixture()
def safetensors_file(tmp_path: Path) -> Path:
    from safetensors.torch import save_file

    path = tmp_path / "w.safetensors"
    save_file({"w": torch.arange(64, dtype=torch.float32)}, str(path))
    return path


def test_newest_complete_checkpoint_is_chosen(tmp_path: Path, safetensors_file: Path) -> None:
    root = tmp_path / "checkpoints"
    _checkpoint(root, 10, safetensors_file)
    assert find_resumable_checkpoint(root) == str(root / "checkpoint-10")
    assert find_resumable_checkpoint(tmp_path / "absent") is None
    newer = _checkpoint(root, 20, safetensors_file)
    assert find_resumable_checkpoint(root) == str(newer)


@pytest.mark.parametrize(
    "damage",
    [
        "no_trainer_state",
        "truncated_trainer_state",
        "no_weights",
        "truncated_weights",
        "weights_header_only",
        "truncated_optimizer",
        "missing_loss_state",
    ],
)
def test_half_written_checkpoint_is_skipped(
    tmp_path: Path, safetensors_file: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    root = tmp_path / "checkpoints"
    good = _checkpoint(root, 10, safetensors_file, loss_state=True)
    bad = _checkpoint(root, 20, safetensors_file, loss_state=damage != "missing_loss_state")
    if damage == "no_trainer_state":
        (bad / "trainer_state.json").unlink()
    elif damage == "truncated_trainer_state":
        (bad / "trainer_state.json").write_text('{"global_st', encoding="utf-8")
    elif damage == "no_weights":
        (bad / "model.safetensors").unlink()
    elif damage == "truncated_weights":
        raw = (bad / "model.safetensors").read_bytes()
        (bad / "model.safetensors").write_bytes(raw[:-10])
    elif damage == "weights_header_only":
        raw = (bad / "model.safetensors").read_bytes()
        (bad / "model.safetensors").write_bytes(raw[:7])
    elif damage == "truncated_optimizer":
        raw = (bad / "optimizer.pt").read_bytes()
        (bad / "optimizer.pt").write_bytes(raw[: len(raw) // 2])
    with caplog.at_level("WARNING", logger="acsa.training.checkpoints"):
        chosen = find_resumable_checkpoint(root, need_loss_state=True)
    assert chosen == str(good)
    assert "skipping checkpoint-20" in caplog.text


def test_code_running_pickle_is_refused_not_skipped(tmp_path: Path, safetensors_file: Path) -> None:
    root = tmp_path / "checkpoints"
    _checkpoint(root, 10, safetensors_file)
    bad = _checkpoint(root, 20, safetensors_file)
    write_code_pickle(bad / "scheduler.pt", tmp_path / MARKER)
    with pytest.raises(CheckpointError) as info:
        find_resumable_checkpoint(root)
    message = str(info.value)
    assert "\n" not in message
    assert "scheduler.pt" in message and "posix.system" in message
    assert not (tmp_path / MARKER).exists()


def test_plain_pickle_protocol_payload_is_refused(tmp_path: Path) -> None:
    """A hand-written pickle (not torch.save's zip format) is refused as well."""

    class Payload:
        def __reduce__(self) -> Any:
            return (os.system, (f"touch '{tmp_path / MARKER}'",))

    target = tmp_path / "optimizer.pt"
    target.write_bytes(pickle.dumps({"state": Payload()}, protocol=2))
    with pytest.raises(CheckpointError, match="refused to load"):
        check_weights_only_pickle(target)
    assert not (tmp_path / MARKER).exists()


def test_no_unsafe_loading_in_the_source() -> None:
    """Every torch.load in acsa passes weights_only=True, and nothing calls pickle.load."""
    import re

    root = Path(__file__).resolve().parents[1] / "src" / "acsa"
    # Process-to-process hand-over, not a file anyone else wrote: the baseline's worker
    # reads its job and the run reads its result from a folder made by mkdtemp (mode
    # 0700, removed afterwards), as multiprocessing would pass them through a pipe.
    # tests/test_background_baseline.py checks the folder is private.
    ipc = {root / "training" / "background_baseline.py"}
    for path in root.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"torch\.load\(([^)]*)\)", text):
            assert "weights_only=True" in match.group(1), f"{path}: {match.group(0)}"
        if path in ipc:
            continue
        assert not re.search(r"\bpickle\.loads?\(", text), f"{path} unpickles"
        assert not re.search(r"\bjoblib\.load\(|\bdill\.load", text), f"{path} unpickles"


# ---------------------------------------------------------------------------- numerical faults


@pytest.mark.parametrize(
    "classification",
    [
        {"type": "ghm", "bins": 10, "momentum": 0.75},
        {"type": "ghm", "bins": 10, "momentum": 0.0, "use_sigmoid": True, "per_aspect": True},
        {"type": "focal", "gamma": 2.0, "alpha": "auto"},
        {"type": "focal", "gamma": 2.0, "use_sigmoid": True},
    ],
    ids=["ghm_softmax", "ghm_sigmoid_per_aspect", "focal_softmax", "focal_sigmoid"],
)
def test_extreme_logits_and_fully_masked_batches_stay_finite(classification: dict) -> None:
    """+-1e4 logits (confidently right and confidently wrong) and batches with no valid cell,
    through the combined objective with the contrastive part, several training updates."""
    from acsa.losses import build_loss

    loss = build_loss(
        {
            "type": "combined",
            "classification": classification,
            "contrastive": {"type": "soft_contrastive", "temperature": 0.1},
            "classification_weight": 0.9,
            "contrastive_weight": 0.1,
        },
        class_counts=torch.tensor([[30, 5, 5, 10]] * 3),
    ).train()
    generator = torch.Generator().manual_seed(0)
    targets = torch.randint(0, 4, (8, 3), generator=generator)
    signs = torch.randint(0, 2, (8, 3, 4), generator=generator) * 2 - 1
    cases = {
        "right": torch.nn.functional.one_hot(targets, 4).float() * 2e4 - 1e4,
        "wrong": 1e4 - torch.nn.functional.one_hot(targets, 4).float() * 2e4,
        "random_sign": signs.float() * 1e4,
    }
    full = torch.ones(8, 3, dtype=torch.bool)
    none = torch.zeros(8, 3, dtype=torch.bool)
    for name, raw in cases.items():
        for mask in (full, none, full):
            logits = raw.clone().requires_grad_()
            embeddings = (torch.randn(8, 16, generator=generator) * 1e4).requires_grad_()
            out = loss(logits, targets, mask, embeddings=embeddings)
            out.total.backward()
            assert torch.isfinite(out.total), (name, out.parts)
            assert all(torch.isfinite(v) for v in out.parts.values()), (name, out.parts)
            assert torch.isfinite(logits.grad).all() and torch.isfinite(embeddings.grad).all()
            if not mask.any():
                assert out.parts["classification"].item() == 0.0
    for buffer_name, buffer in loss.named_buffers():
        if buffer.is_floating_point():
            assert torch.isfinite(buffer).all(), buffer_name


def test_inf_in_one_loss_part_stops_with_step_and_part(
    tiny_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An inf (not only NaN) stops the run; the message names the step and the loss part."""
    from acsa.losses import combined
    from acsa.training.run import train

    original = combined.CombinedLoss.forward
    calls = {"n": 0}

    def forward(self: Any, *args: Any, **kwargs: Any) -> Any:
        out = original(self, *args, **kwargs)
        if self.training:
            calls["n"] += 1
            if calls["n"] == 3:
                parts = dict(out.parts)
                parts["contrastive"] = out.total * float("inf")
                return combined.LossOutput(total=out.total + parts["contrastive"], parts=parts)
        return out

    monkeypatch.setattr(combined.CombinedLoss, "forward", forward)
    with pytest.raises(TrainingError) as info:
        train(tiny_config(tiny_data, tmp_path / "run", epochs=1), quiet=True)
    message = str(info.value)
    assert "\n" not in message
    assert "step 3" in message and "'contrastive'" in message and "inf" in message
    assert "nan_policy: skip" in message


# ---------------------------------------------------------------------------- real processes


def _yaml_config(folder: Path, data: Path, epochs: int) -> Path:
    path = folder / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "data": {
                    "dir": str(data),
                    "train": "train.csv",
                    "validation": "validation.csv",
                    "test": "test.csv",
                    "aspects": ASPECTS,
                },
                "model": TINY_OFFLINE,
                "training": {
                    "epochs": epochs,
                    "batch_size": 8,
                    "learning_rate": 0.005,
                    "early_stopping_patience": 0,
                    "save_total_limit": 2,
                    "progress_bar": False,
                    "log_gradient_stats": False,
                },
            },
            sort_keys=False,
        ),
        encoding="utf-8",
    )
    return path


def _acsa(*args: str) -> list[str]:
    return [sys.executable, "-m", "acsa", *args]


def _first_checkpoint(out: Path) -> Path | None:
    found = sorted((out / "checkpoints").glob("checkpoint-*/trainer_state.json"))
    return found[0].parent if found else None


def _wait_for_checkpoint(proc: subprocess.Popen, out: Path, timeout: float = 240.0) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _first_checkpoint(out)
        if found is not None:
            return found
        if proc.poll() is not None:
            pytest.fail(f"training ended (code {proc.returncode}) before its first checkpoint")
        time.sleep(0.02)
    proc.kill()
    pytest.fail("no checkpoint within the time limit")


@pytest.fixture(scope="module")
def process_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Data, config, and an uninterrupted ``python -m acsa train`` run, started in background."""
    root = tmp_path_factory.mktemp("process")
    data = write_synthetic_data(root / "data", sizes=(160, 40, 40))
    config = _yaml_config(root, data, epochs=5)
    full = root / "full"
    proc = subprocess.Popen(
        _acsa("train", str(config), "--output", str(full)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    return {"root": root, "config": config, "full": full, "proc": proc}


def _finished_full(runs: dict[str, Any]) -> Path:
    if "stderr" not in runs:
        _, runs["stderr"] = runs["proc"].communicate(timeout=600)
    assert runs["proc"].returncode == 0, runs["stderr"]
    return runs["full"]


@pytest.mark.slow
def test_sigkill_after_first_checkpoint_then_resume_is_exact(process_runs: dict[str, Any]) -> None:
    config, cut = process_runs["config"], process_runs["root"] / "killed"
    proc = subprocess.Popen(
        _acsa("train", str(config), "--output", str(cut)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    checkpoint = _wait_for_checkpoint(proc, cut)
    assert proc.poll() is None, "training finished before the kill"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (cut / "model").exists(), "the kill came after training finished"

    resumed = subprocess.run(
        _acsa("train", str(config), "--output", str(cut), "--resume"),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr
    run = json.loads((cut / "run.json").read_text(encoding="utf-8"))
    # the newest complete checkpoint at kill time (the kill may land during a later save)
    step = int(run["resumed_from"].rsplit("-", 1)[1])
    assert step >= int(checkpoint.name.rsplit("-", 1)[1])
    full = _finished_full(process_runs)
    assert_same_weights(full / "model", cut / "model")
    assert read_metrics(cut) == read_metrics(full)


@pytest.mark.slow
def test_sigint_saves_exits_130_and_resume_is_exact(process_runs: dict[str, Any]) -> None:
    config, cut = process_runs["config"], process_runs["root"] / "ctrl_c"
    proc = subprocess.Popen(
        _acsa("train", str(config), "--output", str(cut)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )
    _wait_for_checkpoint(proc, cut)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert lines[-1].startswith("interrupted at step "), err
    assert "--resume" in lines[-1]
    step = int(lines[-1].split()[3].rstrip(":"))
    assert (cut / "checkpoints" / f"checkpoint-{step}" / "trainer_state.json").is_file()
    assert not (cut / "model").exists()

    resumed = subprocess.run(
        _acsa("train", str(config), "--output", str(cut), "--resume"),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stderr
    run = json.loads((cut / "run.json").read_text(encoding="utf-8"))
    assert run["resumed_from"] == f"checkpoints/checkpoint-{step}"
    full = _finished_full(process_runs)
    assert_same_weights(full / "model", cut / "model")
    assert read_metrics(cut) == read_metrics(full)

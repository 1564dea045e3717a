"""What a new user meets right after the first run (issue 20): validate-data's warnings
once each with plurals right, file modes that follow the umask, and every shipped config
valid on the shipped data named in its header (the older shape with label aliases)."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest

from acsa.files import atomic_write, write_json
from tests.conftest import PROJECT_ROOT, SHARED_DATA
from tests.test_cli import run_cli, write_config
from tests.test_training import ASPECTS, synthetic_rows, write_csv, write_synthetic_data


def test_validate_data_says_each_warning_once_in_good_english(tmp_path: Path, capsys: Any) -> None:
    folder = write_synthetic_data(tmp_path / "data", sizes=(12, 5, 5))
    rows = synthetic_rows(12, 0)
    rows[7]["data"] = rows[2]["data"]  # one text twice
    write_csv(folder / "train.csv", rows, ["data", *ASPECTS])
    config = write_config(tmp_path, folder)
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            "test: test.csv,", "test: test.csv, duplicates: warn,"
        ),
        encoding="utf-8",
    )
    code, out, err = run_cli(["validate-data", str(config)], capsys)
    assert code == 0, err
    both = " ".join((out + err).split())
    assert "1 text occurs more than once (1 exact copy)" in both
    assert both.count("more than once") == 1, both
    assert "1 texts" not in both and "1 exact copies" not in both
    assert re.search(r"; \d+ warnings?$", out.strip().splitlines()[-1])


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_written_files_follow_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        written = write_json(tmp_path / "metrics.json", {"a": 1})
        other = atomic_write(tmp_path / "predictions.csv", lambda p: p.write_text("x\n"))
        plain = tmp_path / "plain.txt"
        plain.write_text("x", encoding="utf-8")
    finally:
        os.umask(old)
    expected = stat.S_IMODE(plain.stat().st_mode)
    assert expected == 0o666 & ~umask
    assert stat.S_IMODE(written.stat().st_mode) == expected
    assert stat.S_IMODE(other.stat().st_mode) == expected


def test_older_config_shape_takes_label_aliases() -> None:
    from acsa.training.legacy import map_legacy_config

    raw = {
        "multi_label": {"loss_type": "ghm"},
        "valid_aspects": ["Battery"],
        "label_aliases": {"Posititve": "Positive"},
    }
    mapped, notice = map_legacy_config(raw)
    assert mapped["data"]["label_aliases"] == {"Posititve": "Positive"}
    assert "label_aliases" not in notice  # accepted, not listed as ignored


def _header_data_dir(config: Path) -> Path | None:
    """The shared data folder the header's command names (``--data-dir ../shared/data/X``)."""
    for line in config.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        found = re.search(r"--data-dir\s+\S*shared/data/([\w-]+)", line)
        if found:
            return SHARED_DATA.parent / found.group(1)
    return None


SHIPPED = sorted((PROJECT_ROOT / "configs").glob("*.yaml"))


@pytest.mark.slow
@pytest.mark.parametrize("config", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_shipped_config_validates_on_its_data(config: Path, shared_data_dir: Path) -> None:
    """What `acsa validate-data CONFIG --data-dir ...` runs, for each header's command."""
    from acsa.data import load_and_validate
    from acsa.training.config import load_config

    data_dir = _header_data_dir(config)
    assert data_dir is not None, f"{config.name}: no --data-dir ../shared/data/... in its header"
    assert (data_dir / "train.csv").is_file(), f"{config.name}: {data_dir} not found"
    base = re.search(r"acsa compare (configs/\S+\.yaml)", config.read_text(encoding="utf-8"))
    target = PROJECT_ROOT / base.group(1) if base else config  # a variant list: its base
    cfg = load_config(target, {"data.dir": str(data_dir)})
    splits, report = load_and_validate(cfg.data, Path.cwd())
    assert len(splits["train"]) > 1000 and "test" in splits


def _tiny_train_config(tmp_path: Path) -> Path:
    import yaml

    from tests.test_training import TINY_OFFLINE

    data = write_synthetic_data(tmp_path / "data", sizes=(60, 20, 20))
    raw = {
        "data": {
            "dir": str(data),
            "train": "train.csv",
            "validation": "validation.csv",
            "test": "test.csv",
            "aspects": ASPECTS,
        },
        "model": dict(TINY_OFFLINE),
        "loss": {"type": "cross_entropy"},
        "training": {"epochs": 2, "batch_size": 16, "learning_rate": 0.01, "min_steps": 0},
        "output": {"dir": str(tmp_path / "run")},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_finished_train_leaves_a_tidy_readable_run_folder(tmp_path: Path, capsys: Any) -> None:
    """Not a terminal: plain progress lines, full-width tables, summary.txt, no checkpoints."""
    config = _tiny_train_config(tmp_path)
    code, out, err = run_cli(["train", str(config), "--no-baseline"], capsys)
    assert code == 0, err
    run = tmp_path / "run"
    assert not (run / "checkpoints").exists()
    assert "\x1b[" not in err and "\r" not in err and "\x1b[" not in out
    assert re.search(r"step \d+/\d+ \(\d+%\)", err) and "val pair-F1" in err
    assert "…" not in out  # no cell cut at 80 columns
    summary = (run / "summary.txt").read_text(encoding="utf-8")
    assert "Test metrics (best model)" in summary and "…" not in summary
    assert summary.splitlines()[0].strip() == out.splitlines()[0].strip()
    kept = tmp_path / "kept"
    code, _, err = run_cli(
        ["train", str(config), "--no-baseline", "--output", str(kept), "--keep-checkpoints"],
        capsys,
    )
    assert code == 0, err
    assert list((kept / "checkpoints").glob("checkpoint-*"))
    # run.json names the best checkpoint only where it is still there
    assert json.loads((run / "run.json").read_text(encoding="utf-8"))["best_checkpoint"] is None
    best = json.loads((kept / "run.json").read_text(encoding="utf-8"))["best_checkpoint"]
    assert best.startswith("checkpoints/checkpoint-") and (kept / best).is_dir()

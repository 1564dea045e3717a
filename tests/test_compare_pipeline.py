"""``acsa compare`` end to end with the real training pipeline on a 300-review sample."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ASPECTS = ["Battery", "Camera", "Price"]
WORDS = {
    "Battery": ("pin", {"Positive": "trâu lắm", "Negative": "tụt nhanh", "Neutral": "bình thường"}),
    "Camera": ("camera", {"Positive": "chụp đẹp", "Negative": "mờ quá", "Neutral": "tạm được"}),
    "Price": ("giá", {"Positive": "rẻ hợp lý", "Negative": "đắt quá", "Neutral": "vừa phải"}),
}
FILLERS = ["máy dùng ổn", "giao hàng nhanh", "shop tư vấn nhiệt tình", "mình mua cho mẹ"]


def _write_split(path: Path, n: int, rng: np.random.Generator) -> None:
    rows = []
    for _ in range(n):
        parts, row = [], {}
        for aspect in ASPECTS:
            label = rng.choice(["", "Positive", "Negative", "Neutral"], p=[0.6, 0.2, 0.15, 0.05])
            row[aspect] = label
            if label:
                noun, phrases = WORDS[aspect]
                parts.append(f"{noun} {phrases[label]}")
        parts.append(str(rng.choice(FILLERS)))
        rng.shuffle(parts)
        rows.append({"data": ", ".join(parts), **row})
    pd.DataFrame(rows).to_csv(path, index=False, encoding="utf-8-sig")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("compare_e2e")
    rng = np.random.default_rng(0)
    data = root / "data"
    data.mkdir()
    # unequal validation and test sizes: a test evaluation that looked rows up in
    # the validation split once passed only when both had the same length
    for name, n in (("train.csv", 200), ("validation.csv", 60), ("test.csv", 40)):
        _write_split(data / name, n, rng)
    (root / "config.yaml").write_text(
        f"""
data:
  dir: {data.as_posix()}
  train: train.csv
  validation: validation.csv
  test: test.csv
  aspects: [{", ".join(ASPECTS)}]
model:
  encoder: offline
loss:
  type: cross_entropy
training:
  epochs: 2
  batch_size: 32
  learning_rate: 0.005
  early_stopping_patience: 0
  logging_steps: 5
output:
  dir: {(root / "unused").as_posix()}
""",
        encoding="utf-8",
    )
    (root / "variants.yaml").write_text(
        """
variants:
  - name: focal
    loss: {type: focal, gamma: 2.0}
  - name: ghm_contrastive
    loss:
      type: ghm
      bins: 10
      momentum: 0.75
      contrastive: {type: soft_contrastive}
      contrastive_weight: 0.1
""",
        encoding="utf-8",
    )
    return root


def _cli(argv: list[str]) -> None:
    from acsa.cli import main

    try:
        main(argv)
    except SystemExit as exc:  # typer's standalone mode exits with 0 on success
        assert exc.code in (0, None), exc.code


def test_compare_command_on_a_300_review_sample(sample: Path) -> None:
    out = sample / "out"
    argv = [
        "compare",
        str(sample / "config.yaml"),
        "--variants",
        str(sample / "variants.yaml"),
        "--seeds",
        "2",
        "--output",
        str(out),
        "--bootstrap",
        "200",
        # one thread: two-thread kernels stall when the test machine is busy
        "--threads",
        "1",
    ]
    _cli(argv)
    report = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    assert report["failed"] == [], report["failed"]
    assert [(r["variant"], r["seed"]) for r in report["runs"]] == [
        ("focal", 0),
        ("ghm_contrastive", 0),
        ("focal", 1),
        ("ghm_contrastive", 1),
    ]
    entry = report["vs_baseline"]["ghm_contrastive"]["metrics"]["pair_f1"]
    # two seeds support no two-level verdict; the extra columns are still there
    assert entry["verdict"] == "too few seeds: 2; need >= 3"
    assert entry["two_level"]["low"] is None and entry["p_adjusted"] is None
    review = entry["review_bootstrap"]
    assert review["low"] <= entry["mean_difference"] <= review["high"]
    assert entry["t_test"]["mean"] == pytest.approx(entry["mean_difference"])
    for name in ("focal", "ghm_contrastive"):
        curves = report["variants"][name]["val_pair_f1"]
        assert [len(c) for c in curves.values()] == [2, 2]
        assert report["variants"][name]["metrics"]["pair_f1"]["n"] == 2
    for png in ("metrics_by_variant.png", "per_aspect_diff.png", "validation_curves.png"):
        assert (out / png).is_file()

    # per-aspect differences: F1 of each aspect from the runs' predictions.csv and the gold file
    from sklearn.metrics import f1_score

    codes = {"": 0, "Negative": 1, "Neutral": 2, "Positive": 3}

    def labels(path: Path) -> np.ndarray:
        frame = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False, dtype=str)
        return np.array([[codes[v] for v in frame[a]] for a in ASPECTS]).T

    gold = labels(sample / "data" / "test.csv")
    for j, aspect in enumerate(ASPECTS):
        diffs = []
        for seed in (0, 1):
            f1s = []
            for name in ("ghm_contrastive", "focal"):
                pred = labels(out / "runs" / name / f"seed{seed}" / "predictions.csv")
                f1s.append(f1_score(gold[:, j], pred[:, j], labels=[1, 2, 3], average="micro"))
            diffs.append(f1s[0] - f1s[1])
        got = report["per_aspect"]["ghm_contrastive"][aspect]["pair_f1"]["mean"]
        assert got == pytest.approx(np.mean(diffs), abs=1e-12), aspect

    run = out / "runs" / "ghm_contrastive" / "seed1"
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["pair_f1"] == pytest.approx(
        report["variants"]["ghm_contrastive"]["metrics"]["pair_f1"]["values"][1]
    )
    from acsa.evaluation.plots import plot_gradient_stats
    from acsa.training.gradient_stats import read_gradient_stats

    records = read_gradient_stats(run)
    assert [r["epoch"] for r in records] == [1, 2]
    assert records[-1]["ghm"] is not None and records[-1]["ghm"]["mean_weight"] is not None
    assert records[-1]["num_cells"] == 200 * len(ASPECTS)
    assert plot_gradient_stats(records, run / "ghm.png").is_file()
    focal_stats = read_gradient_stats(out / "runs" / "focal" / "seed0")
    assert focal_stats[-1]["ghm"] is None

    # a second call trains nothing and reproduces the same report
    before = {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("metrics.json")}
    _cli(argv)
    after = {p: p.stat().st_mtime_ns for p in (out / "runs").rglob("metrics.json")}
    assert before == after
    again = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    assert again["vs_baseline"] == report["vs_baseline"]

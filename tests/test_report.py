"""Report files (predictions.csv, metrics.json), console output and PNG plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from acsa.evaluation import (
    compute_metrics,
    format_metrics_table,
    format_prediction_line,
    plot_confusion_matrices,
    plot_per_aspect_f1,
    plot_training_curves,
    prediction_record,
    write_metrics_json,
    write_predictions_csv,
    write_report,
)

ASPECTS = ["Battery", "Camera", "Price"]
TEXTS = [
    "Pin trâu, camera chụp đẹp, giá hơi cao",
    'máy "ngon", nhưng\ngiao hàng chậm',
    "",
]
GOLD = np.array([[3, 3, 1], [0, 0, 0], [0, 2, 0]])
PRED = np.array([[3, 1, 0], [0, 0, 3], [0, 2, 0]])
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture()
def metrics() -> dict:
    return compute_metrics(GOLD, PRED, ASPECTS)


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False, dtype=str)


def test_predictions_csv_round_trip(tmp_path: Path) -> None:
    path = write_predictions_csv(tmp_path / "predictions.csv", TEXTS, PRED, ASPECTS)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # BOM, for Excel
    frame = _read(path)
    assert list(frame.columns) == ["data", *ASPECTS]
    assert frame["data"].tolist() == TEXTS
    assert frame["Battery"].tolist() == ["Positive", "", ""]
    assert frame["Camera"].tolist() == ["Negative", "", "Neutral"]
    assert frame["Price"].tolist() == ["", "Positive", ""]


def test_predictions_csv_gold_and_probabilities(tmp_path: Path) -> None:
    mask = np.ones(GOLD.shape, dtype=bool)
    mask[1, 2] = False
    probs = np.full((3, 3, 4), 0.25)
    path = write_predictions_csv(
        tmp_path / "p.csv", TEXTS, PRED, ASPECTS, gold=GOLD, probabilities=probs, gold_mask=mask
    )
    frame = _read(path)
    assert frame["gold_Battery"].tolist() == ["Positive", "", ""]
    assert frame["gold_Price"].tolist() == ["Negative", "unknown", ""]
    assert frame["prob_Camera_neutral"].astype(float).tolist() == [0.25] * 3
    with pytest.raises(ValueError, match="shape"):
        write_predictions_csv(tmp_path / "bad.csv", TEXTS[:2], PRED, ASPECTS)


def test_metrics_json_atomic_and_loadable(tmp_path: Path, metrics: dict) -> None:
    path = tmp_path / "out" / "metrics.json"
    write_metrics_json(path, metrics)
    assert json.loads(path.read_text(encoding="utf-8")) == metrics
    write_metrics_json(path, {"pair_f1": np.float32(0.5), "n": np.int64(3)})
    assert json.loads(path.read_text(encoding="utf-8")) == {"pair_f1": 0.5, "n": 3}
    # an invalid value fails before touching the existing file, and leaves no temp file
    with pytest.raises(ValueError):
        write_metrics_json(path, {"pair_f1": float("nan")})
    assert json.loads(path.read_text(encoding="utf-8"))["n"] == 3
    assert [p.name for p in path.parent.iterdir()] == ["metrics.json"]


def test_metrics_table_renders(metrics: dict) -> None:
    console = Console(record=True, width=200)
    console.print(format_metrics_table(metrics))
    text = console.export_text()
    for name in (*ASPECTS, "overall", "pair F1", "seed-style"):
        assert name in text
    assert f"{metrics['pair_f1']:.4f}" in text


def test_prediction_line_and_record() -> None:
    assert format_prediction_line("x", [3, 0, 1], ASPECTS) == "Battery: positive; Price: negative"
    assert format_prediction_line("x", [0, 0, 0], ASPECTS) == "(no aspect mentioned)"
    line = format_prediction_line("a\nb  c", np.array([0, 2, 0]), ASPECTS, max_text_chars=None)
    assert line == "a b c\tCamera: neutral"
    assert format_prediction_line("abcdefghij", [0, 0, 0], ASPECTS, max_text_chars=6).startswith(
        "abc...\t"
    )
    probs = np.tile([0.1, 0.2, 0.3, 0.4], (3, 1))
    record = prediction_record("t", [3, 0, 1], ASPECTS, probabilities=probs)
    assert record == {
        "text": "t",
        "aspects": {"Battery": "positive", "Price": "negative"},
        "confidence": {"Battery": 0.4, "Price": 0.2},
    }
    assert json.loads(json.dumps(record)) == record
    with pytest.raises(ValueError):
        format_prediction_line("x", [0, 0], ASPECTS)


def _is_png(path: Path) -> bool:
    return path.stat().st_size > 1000 and path.read_bytes()[:8] == PNG_MAGIC


def test_plots_write_png(tmp_path: Path, metrics: dict) -> None:
    import matplotlib.pyplot as plt

    assert _is_png(plot_per_aspect_f1(metrics, tmp_path / "f1.png"))
    assert _is_png(plot_confusion_matrices(metrics, tmp_path / "cm.png"))
    history = [
        {
            "loss": 1.2,
            "classification_loss": 1.0,
            "contrastive_loss": 0.2,
            "learning_rate": 1e-3,
            "grad_norm": 2.0,
            "epoch": 0.5,
            "step": 10,
        },
        {
            "loss": 0.9,
            "classification_loss": 0.8,
            "contrastive_loss": 0.1,
            "learning_rate": 8e-4,
            "epoch": 1.0,
            "step": 20,
        },
        {
            "eval_loss": 0.95,
            "eval_pair_f1": 0.6,
            "eval_aspect_f1": 0.7,
            "eval_runtime": 1.0,
            "epoch": 1.0,
            "step": 20,
        },
        {"loss": 0.7, "learning_rate": 5e-4, "epoch": 1.5, "step": 30},
        {"eval_loss": 0.8, "eval_pair_f1": 0.7, "eval_aspect_f1": 0.75, "epoch": 2.0, "step": 40},
        {"train_runtime": 12.0, "train_loss": 0.9, "epoch": 2.0, "step": 40},
    ]
    assert _is_png(plot_training_curves(history, tmp_path / "curves.png"))
    # missing keys, empty history and odd entries still give a picture
    assert _is_png(plot_training_curves([], tmp_path / "empty.png"))
    assert _is_png(
        plot_training_curves([{"epoch": 1.0, "eval_pair_f1": None}], tmp_path / "sparse.png")
    )
    assert plt.get_fignums() == []  # nothing left open in pyplot


def test_write_report(tmp_path: Path, metrics: dict) -> None:
    written = write_report(
        tmp_path / "run",
        metrics,
        texts=TEXTS,
        pred=PRED,
        gold=GOLD,
        log_history=[{"loss": 1.0, "step": 1}, {"loss": 0.5, "step": 2}],
    )
    assert set(written) == {
        "metrics",
        "predictions",
        "per_aspect_f1",
        "confusion_matrices",
        "training_curves",
    }
    assert all(p.is_file() and p.parent == tmp_path / "run" for p in written.values())
    assert json.loads(written["metrics"].read_text(encoding="utf-8"))["pair_f1"] == pytest.approx(
        metrics["pair_f1"]
    )
    assert list(_read(written["predictions"]).columns)[:4] == ["data", *ASPECTS]

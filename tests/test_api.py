"""The public API for saved models (``acsa.api``) on a tiny model trained here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.special import softmax

from acsa import api
from acsa.data import LabelSpace
from acsa.data.label_space import CANONICAL_CLASSES
from tests.test_training import (
    ASPECTS,
    TINY_OFFLINE,
    small_config,
    synthetic_rows,
    write_synthetic_data,
)

TEXTS = ["pin tốt, giá kém", "camera bình thường", "giao hàng tuyệt vời", "mình mua hôm qua"]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A 3-epoch run on synthetic data: run folder, saved model, test predictions."""
    from acsa.training.run import train

    root = tmp_path_factory.mktemp("api")
    data = write_synthetic_data(root / "data", sizes=(200, 60, 80))
    return train(small_config(data, root / "run", epochs=3), quiet=True)


@pytest.fixture(scope="module")
def predictor(run: Any) -> api.Predictor:
    return api.load(run.model_dir)


def test_load_reads_the_model_and_its_run(run: Any, predictor: api.Predictor) -> None:
    assert predictor.aspects == tuple(ASPECTS)
    assert predictor.label_space == LabelSpace(tuple(ASPECTS), "with_none")
    info = predictor.info
    assert info["encoder"] == "offline"
    assert info["aspects"] == ASPECTS and info["label_scheme"] == "with_none"
    assert info["loss"]["type"] == "cross_entropy"
    metrics = json.loads((run.output_dir / "metrics.json").read_text(encoding="utf-8"))
    assert info["test_metrics"]["pair_f1"] == metrics["pair_f1"]
    assert "per_aspect" not in info["test_metrics"]
    # a run folder resolves to its model/ folder
    assert api.load(run.output_dir).model_dir == run.model_dir


def test_predict_proba_is_the_softmax_of_the_backend_logits(predictor: api.Predictor) -> None:
    probs = predictor.predict_proba(TEXTS, batch_size=2)
    assert probs.shape == (len(TEXTS), len(ASPECTS), 4)
    logits = predictor.backend.predict_logits(TEXTS)
    np.testing.assert_allclose(probs, softmax(logits.astype(np.float64), axis=-1), atol=1e-6)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-6)
    assert predictor.predict_proba([]).shape == (0, len(ASPECTS), 4)


def test_decide_is_the_most_probable_class(predictor: api.Predictor) -> None:
    probs = predictor.predict_proba(TEXTS)
    np.testing.assert_array_equal(predictor.decide(probs), probs.argmax(-1))
    with pytest.raises(ValueError, match="canonical order"):
        predictor.decide(probs[..., :3])


def test_predictions_reproduce_the_training_run(run: Any, predictor: api.Predictor) -> None:
    """The reloaded model gives the labels the trainer wrote and returned for the test split."""
    frame = pd.read_csv(
        run.output_dir / "predictions.csv", encoding="utf-8-sig", keep_default_na=False
    )
    predictions = predictor.predict(frame["data"].tolist())
    scored = run.test_predictions
    np.testing.assert_array_equal(np.stack([p.labels for p in predictions]), scored.pred)
    np.testing.assert_allclose(
        np.stack([p.probabilities for p in predictions]), scored.probabilities, atol=1e-6
    )
    for aspect in ASPECTS:
        assert [p.aspects.get(aspect, "") for p in predictions] == [
            str(v).lower() for v in frame[aspect]
        ]


def test_to_record_is_the_predict_json_line(
    run: Any, predictor: api.Predictor, capsys: pytest.CaptureFixture[str]
) -> None:
    from acsa.cli import main

    argv = ["predict", str(run.output_dir), "--json"]
    for text in TEXTS:
        argv += ["--text", text]
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code in (0, None)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    predictions = api.predict(predictor, TEXTS)
    assert [p.to_record() for p in predictions] == lines
    for p, record in zip(predictions, lines, strict=True):
        assert set(record) == {"text", "aspects", "confidence", "empty"}
        assert record["aspects"] == p.aspects
        for aspect, sentiment in record["aspects"].items():
            j, k = ASPECTS.index(aspect), CANONICAL_CLASSES.index(sentiment)
            assert record["confidence"][aspect] == round(float(p.probabilities[j, k]), 4)


def test_evaluate_matches_the_training_report(run: Any, tmp_path: Path) -> None:
    data = Path(run.output_dir).parent / "data" / "test.csv"
    metrics = api.evaluate(run.model_dir, data, tmp_path / "report", plots=False)
    assert metrics["pair_f1"] == pytest.approx(run.metrics["test"]["pair_f1"], abs=1e-12)
    assert metrics["aspect_f1"] == pytest.approx(run.metrics["test"]["aspect_f1"], abs=1e-12)
    written = json.loads((tmp_path / "report" / "metrics.json").read_text(encoding="utf-8"))
    assert written["pair_f1"] == metrics["pair_f1"]
    assert (tmp_path / "report" / "predictions.csv").is_file()


def test_seed_scheme_probabilities_fold_into_canonical_order(tmp_path: Path) -> None:
    """Seed classes (positive, negative, neutral): neutral reads as none; canonical neutral is 0."""
    import torch

    from acsa.models import build_model

    torch.manual_seed(0)
    space = LabelSpace(tuple(ASPECTS), "seed")
    model, _ = build_model(TINY_OFFLINE, space, [r["data"] for r in synthetic_rows(50, 1)])
    predictor = api.load(model.save_pretrained(tmp_path / "seed_model"))
    probs = predictor.predict_proba(TEXTS)
    scheme = softmax(predictor.backend.predict_logits(TEXTS).astype(np.float64), axis=-1)
    np.testing.assert_allclose(probs[..., 0], scheme[..., 2], atol=1e-6)  # none <- neutral
    np.testing.assert_allclose(probs[..., 1], scheme[..., 1], atol=1e-6)  # negative
    np.testing.assert_array_equal(probs[..., 2], 0.0)  # canonical neutral
    np.testing.assert_allclose(probs[..., 3], scheme[..., 0], atol=1e-6)  # positive
    labels = predictor.decide(probs)
    np.testing.assert_array_equal(labels, space.to_canonical(scheme.argmax(-1)))
    assert predictor.info["loss"] is None and predictor.info["test_metrics"] is None


class FixedBackend:
    """A backend with fixed logits: the Predictor needs nothing but these three members."""

    kind = "fixed"

    def __init__(self, logits: np.ndarray, aspects: tuple[str, ...]) -> None:
        self.logits = logits
        self.label_space = LabelSpace(aspects)

    def predict_logits(self, texts: list[str], batch_size: int = 256) -> np.ndarray:
        return self.logits[: len(texts)]


def test_another_backend_plugs_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from acsa.models import backend

    logits = np.full((2, 2, 4), -5.0, dtype=np.float32)
    logits[0, 0, 3] = logits[0, 1, 0] = 5.0  # review 0: A positive, B not mentioned
    logits[1, 0, 0] = logits[1, 1, 1] = 5.0  # review 1: B negative
    fixed = FixedBackend(logits, ("A", "B"))
    folder = tmp_path / "fixed_model"
    folder.mkdir()
    (folder / "acsa_model.json").write_text(
        json.dumps({"model_config": {"encoder": "fixed"}}), encoding="utf-8"
    )
    monkeypatch.setitem(backend.BACKENDS, "fixed", lambda path: fixed)
    predictor = api.load(folder)
    assert predictor.backend is fixed and predictor.info["encoder"] == "fixed"
    assert [p.aspects for p in predictor.predict(["x", "y"])] == [
        {"A": "positive"},
        {"B": "negative"},
    ]


def test_missing_model_is_a_checkpoint_error(tmp_path: Path) -> None:
    from acsa.errors import CheckpointError

    with pytest.raises(CheckpointError, match="not found"):
        api.load(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="acsa_model.json"):
        api.load(tmp_path / "empty")

"""``model.encoder: tfidf`` through train, evaluate, predict, compare; the baseline beside a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from acsa.errors import ConfigError
from tests.test_training import ASPECTS, small_config, write_synthetic_data

TFIDF = {"encoder": "tfidf", "min_df": 1}


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    from acsa.cli import main

    with pytest.raises(SystemExit) as info:
        main(argv)
    out, err = capsys.readouterr()
    assert info.value.code in (0, None), err
    return out


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_data(tmp_path_factory.mktemp("tfidf_data"), sizes=(240, 80, 90))


@pytest.fixture(scope="module")
def tfidf_run(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    from acsa.training.run import train

    out = tmp_path_factory.mktemp("tfidf_runs") / "run"
    # no held-out check: the thresholds fitted on validation are used, whatever they gain
    config = small_config(data_dir, out, model=TFIDF, threshold_cv_folds=0)
    return train(config, quiet=True)


def test_train_fits_it_and_writes_a_full_run_folder(tfidf_run: Any) -> None:
    out = tfidf_run.output_dir
    for name in ("config.yaml", "run.json", "metrics.json", "predictions.csv", "per_aspect_f1.png"):
        assert (out / name).is_file(), name
    model = out / "model"
    for name in ("acsa_model.json", "tfidf_features.json", "model.safetensors", "decision.json"):
        assert (model / name).is_file(), name
    assert not (out / "checkpoints").exists()
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["encoder"] == "tfidf" and run["global_step"] == 0
    assert run["train_reviews"] == 240 and sum(run["num_features"].values()) > 0
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["decision"]["rule"] == "mention_threshold"
    assert "baseline" not in metrics  # the model is the baseline
    assert set(metrics["argmax"]) >= {"pair_f1", "aspect_f1"}
    assert metrics["pair_f1"] > 0.5  # keyword + polarity word data is easy for n-grams
    reloaded = yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8"))
    assert reloaded["model"]["encoder"] == "tfidf"


def test_scores_match_the_model_fitted_by_hand(tfidf_run: Any, data_dir: Path) -> None:
    """Independent path: TfidfAspectModel + fit_thresholds + compute_metrics, no pipeline."""
    from acsa.data import DataConfig, load_split
    from acsa.evaluation import compute_metrics
    from acsa.evaluation.decision import decide, fit_thresholds
    from acsa.models.tfidf import TfidfAspectModel, TfidfModelConfig

    config = DataConfig(aspects=ASPECTS)
    train, val, test = (
        load_split(data_dir / f"{n}.csv", config) for n in ("train", "validation", "test")
    )
    model = TfidfAspectModel.from_config(TfidfModelConfig(min_df=1)).fit_reviews(train)
    val_probs = model.predict_proba(val.texts)
    thresholds = fit_thresholds(val_probs, val.labels, val.mask)
    probs = model.predict_proba(test.texts)
    with_rule = compute_metrics(test.labels, decide(probs, thresholds), ASPECTS, test.mask)
    argmax = compute_metrics(test.labels, probs.argmax(-1), ASPECTS, test.mask)
    test_metrics = tfidf_run.metrics["test"]
    assert test_metrics["pair_f1"] == pytest.approx(with_rule["pair_f1"])
    assert test_metrics["argmax"]["pair_f1"] == pytest.approx(argmax["pair_f1"])


def test_evaluate_and_predict_use_the_saved_model_and_rule(
    tfidf_run: Any, data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from acsa import api
    from acsa.evaluation.decision import decide

    predictor = api.load(tfidf_run.output_dir)
    assert predictor.backend.kind == "tfidf" and predictor.decision is not None
    assert predictor.info["decision"] == "mention_threshold"
    saved = json.loads((tfidf_run.model_dir / "decision.json").read_text(encoding="utf-8"))
    thresholds = np.array([np.nan if v is None else v for v in saved["thresholds"].values()])
    probs = predictor.predict_proba([r for r in pd.read_csv(data_dir / "test.csv")["data"]])
    labels = predictor.decide(probs)
    np.testing.assert_array_equal(labels, decide(probs, thresholds))
    # the thresholds change some decisions on this data, so the test above can fail
    assert (labels != probs.argmax(-1)).any()
    metrics = api.evaluate(tfidf_run.output_dir, data_dir / "test.csv")
    assert metrics["pair_f1"] == pytest.approx(tfidf_run.metrics["test"]["pair_f1"])
    trained = tfidf_run.metrics["test"]
    assert metrics["argmax"]["pair_f1"] == pytest.approx(trained["argmax"]["pair_f1"])
    assert metrics["decision"] == trained["decision"]

    frame = pd.read_csv(
        tfidf_run.output_dir / "predictions.csv", encoding="utf-8-sig", keep_default_na=False
    )
    texts = frame["data"].tolist()[:25]
    inputs = tmp_path / "reviews.txt"
    inputs.write_text("\n".join(texts) + "\n", encoding="utf-8")
    out = _cli(["predict", str(tfidf_run.model_dir), "--input", str(inputs), "--json"], capsys)
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == len(texts)
    for record, (_, row) in zip(records, frame.head(25).iterrows(), strict=True):
        expected = {a: row[a].lower() for a in ASPECTS if row[a]}
        assert record["aspects"] == expected

    _cli(
        [
            "evaluate",
            str(tfidf_run.output_dir),
            str(data_dir / "test.csv"),
            "-o",
            str(tmp_path / "ev"),
        ],
        capsys,
    )
    written = json.loads((tmp_path / "ev" / "metrics.json").read_text(encoding="utf-8"))
    assert written["pair_f1"] == pytest.approx(tfidf_run.metrics["test"]["pair_f1"])


def test_cli_train_tfidf_prints_the_score(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "tfidf.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "data": {
                    "dir": str(data_dir),
                    "train": "train.csv",
                    "validation": "validation.csv",
                    "test": "test.csv",
                },
                "model": {"encoder": "tfidf", "min_df": 1},
                "training": {"decision_thresholds": False},
                "output": {"dir": str(tmp_path / "run")},
            }
        ),
        encoding="utf-8",
    )
    out = _cli(["train", str(config)], capsys)
    assert "pair-F1" in out and "decision rule: argmax (training.decision_thresholds: false)" in out
    assert not (tmp_path / "run" / "model" / "decision.json").exists()
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["decision"] == {"rule": "argmax", "thresholds": None}
    assert metrics["pair_f1"] == pytest.approx(metrics["argmax"]["pair_f1"])


def test_tfidf_refuses_the_seed_scheme(data_dir: Path, tmp_path: Path) -> None:
    from acsa.training.config import config_from_dict

    raw = small_config(data_dir, tmp_path / "x", model=TFIDF).model_dump(mode="python")
    raw["data"]["label_scheme"] = "seed"
    with pytest.raises(ConfigError, match="data.label_scheme: encoder tfidf"):
        config_from_dict(raw)


def test_neural_run_fits_the_baseline_beside_it(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "offline.yaml"
    config.write_text(
        yaml.safe_dump(small_config(data_dir, tmp_path / "run", epochs=2).model_dump(mode="json")),
        encoding="utf-8",
    )
    out = _cli(["train", str(config)], capsys)
    assert "TF-IDF baseline" in out and "points)" in out
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text(encoding="utf-8"))
    baseline = metrics["baseline"]
    assert baseline["decision"] in ("mention_threshold", "argmax")
    assert baseline["fit_seconds"] >= 0 and baseline["fit_cpu_seconds"] >= 0
    assert set(baseline["test"]) >= {"pair_f1", "aspect_f1"}
    assert set(baseline["argmax"]["test"]) >= {"pair_f1"}
    run = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    assert "baseline" in run["timings_s"]

    again = tmp_path / "again.yaml"
    again.write_text(config.read_text(encoding="utf-8"), encoding="utf-8")
    _cli(["train", str(again), "--no-baseline", "-o", str(tmp_path / "no_baseline")], capsys)
    metrics = json.loads((tmp_path / "no_baseline" / "metrics.json").read_text(encoding="utf-8"))
    assert "baseline" not in metrics


def test_compare_with_a_tfidf_variant(data_dir: Path, tmp_path: Path) -> None:
    from acsa.compare import compare

    config = tmp_path / "base.yaml"
    config.write_text(
        yaml.safe_dump(
            small_config(data_dir, tmp_path / "unused", epochs=1).model_dump(mode="json")
        ),
        encoding="utf-8",
    )
    variants = tmp_path / "variants.yaml"
    variants.write_text(
        "variants:\n"
        "  - name: ce\n    loss: {type: cross_entropy}\n"
        "  - name: tfidf\n    overrides: {model.encoder: tfidf, model.min_df: 1}\n",
        encoding="utf-8",
    )
    result = compare(
        config, variants, seeds=1, output_dir=tmp_path / "cmp", baseline="ce", plots=False
    )
    assert not result.failed
    names = {r.variant for r in result.records}
    assert names == {"ce", "tfidf"}
    tfidf_dir = tmp_path / "cmp" / "runs" / "tfidf" / "seed0"
    meta = json.loads((tfidf_dir / "model" / "acsa_model.json").read_text(encoding="utf-8"))
    assert meta["model_config"]["encoder"] == "tfidf"
    # comparison runs fit no baseline beside each run
    ce_metrics = json.loads(
        (tmp_path / "cmp" / "runs" / "ce" / "seed0" / "metrics.json").read_text(encoding="utf-8")
    )
    assert "baseline" not in ce_metrics
    record = next(r for r in result.records if r.variant == "tfidf")
    tfidf_metrics = json.loads((tfidf_dir / "metrics.json").read_text(encoding="utf-8"))
    assert record.metrics["pair_f1"] == pytest.approx(tfidf_metrics["pair_f1"])
    assert np.array_equal(record.pred.shape, record.gold.shape)


def test_variant_overrides_are_validated(data_dir: Path, tmp_path: Path) -> None:
    from acsa.compare.variants import load_variants, validate_variants

    config = tmp_path / "base.yaml"
    config.write_text(
        yaml.safe_dump(small_config(data_dir, tmp_path / "unused").model_dump(mode="json")),
        encoding="utf-8",
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "variants:\n  - name: x\n    overrides: {model.encoder: tfidf, model.C: -1}\n",
        encoding="utf-8",
    )
    spec = load_variants(bad)
    with pytest.raises(ConfigError, match=r"variant 'x'.*model.C"):
        validate_variants(config, spec.variants, None, None)
    reserved = tmp_path / "reserved.yaml"
    reserved.write_text(
        "variants:\n  - name: x\n    overrides: {training.seed: 3}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"variants\[0\].overrides.training.seed"):
        load_variants(reserved)


def test_the_baseline_fitted_beside_the_training_equals_the_one_fitted_after(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from acsa.training import run as run_module
    from acsa.training.background_baseline import BackgroundBaseline
    from acsa.training.run import train

    started: list[BackgroundBaseline] = []
    original = BackgroundBaseline.__init__

    def spy(self: BackgroundBaseline, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        started.append(self)

    monkeypatch.setattr(BackgroundBaseline, "__init__", spy)
    metrics = {}
    for name, min_reviews in (("after", 10**9), ("beside", 0)):
        monkeypatch.setattr(run_module, "BACKGROUND_BASELINE_MIN_REVIEWS", min_reviews)
        result = train(small_config(data_dir, tmp_path / name, epochs=1), quiet=True)
        metrics[name] = result.baseline
    assert len(started) == 1  # only the second run fitted it in a second process
    assert started[0]._process.poll() is not None
    for key in ("validation", "test"):
        assert metrics["beside"][key] == metrics["after"][key]

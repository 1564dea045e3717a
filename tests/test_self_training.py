"""Unlabelled reviews and self-training (issue 18, item 2b): the streamed reader of
``data.unlabeled``, the overlap report and drop, pseudo-labels of confident cells, the
leakage guard (no test text reaches the pseudo-labelling model or the second training), and
a tiny end-to-end run whose saved model loads and predicts."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from acsa import api
from acsa.data.config import DataConfig
from acsa.data.unlabeled import ReadCounts, iter_unlabeled, open_unlabeled
from acsa.errors import ConfigError, DataError
from acsa.training.config import config_from_dict
from acsa.training.pseudo_labels import confident_cells, pseudo_label
from tests.conftest import require_module
from tests.test_training import (
    ASPECTS,
    small_config,
    synthetic_rows,
    write_csv,
    write_synthetic_data,
)

DATA = DataConfig()


def _texts(count: int, prefix: str = "review") -> list[str]:
    return [f"{prefix} number {i} pin tốt" for i in range(count)]


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _splits(train: list[str], validation: list[str], test: list[str]) -> dict[str, Any]:
    from acsa.data.reviews import LabeledReviews

    def reviews(texts: list[str]) -> LabeledReviews:
        n = len(texts)
        return LabeledReviews(
            texts=list(texts),
            labels=np.zeros((n, 2), dtype=np.int64),
            mask=np.ones((n, 2), dtype=bool),
            source=Path("x.csv"),
            rows=list(range(2, n + 2)),
            aspects=("A", "B"),
        )

    return {"train": reviews(train), "validation": reviews(validation), "test": reviews(test)}


class _Recorder:
    """A stand-in model: records every text it is asked about, answers confidently."""

    def __init__(self, probability: float = 0.95) -> None:
        self.seen: list[str] = []
        self.probability = probability

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.seen.extend(texts)
        probs = np.full((len(texts), 2, 4), (1 - self.probability) / 3)
        probs[:, :, 0] = self.probability
        return probs


# ---------------------------------------------------------------- reading


def test_the_reader_is_lazy_and_stops_at_the_limit(tmp_path: Path) -> None:
    """A file with far more reviews than max_unlabeled is read only as far as needed."""
    path = write_csv(tmp_path / "big.csv", [{"data": t} for t in _texts(5000)], ["data"])
    source = open_unlabeled(path, DATA)
    counts = ReadCounts()
    texts = iter_unlabeled(source, DATA, counts)
    assert counts.records == 0  # a generator: nothing read before it is asked
    assert next(texts) == "review number 0 pin tốt" and counts.records == 1
    model = _Recorder()
    counts = ReadCounts()
    result = pseudo_label(
        iter_unlabeled(source, DATA, counts),
        counts.rows,
        model,
        _splits(["other"], ["other 2"], ["other 3"]),
        confidence=0.9,
        limit=10,
        chunk_size=4,
    )
    assert result.predicted == 10 and len(model.seen) == 10
    assert counts.records <= 11  # the limit, plus one look ahead to say the file holds more
    assert result.at_limit and len(result.reviews) == 10
    assert result.reviews.rows == list(range(2, 12))  # CSV rows, header = 1


def test_txt_jsonl_and_parquet_are_read_one_review_a_line_or_row(tmp_path: Path) -> None:
    txt = _write_lines(tmp_path / "u.txt", ["first review", "", "second review  "])
    source = open_unlabeled(txt, DATA)
    counts = ReadCounts()
    assert list(iter_unlabeled(source, DATA, counts)) == ["first review", "second review  "]
    assert counts.blank == 1 and counts.rows == [1, 3]
    jsonl = _write_lines(
        tmp_path / "u.jsonl", [json.dumps({"text": "một"}), "", json.dumps({"text": "hai"})]
    )
    assert list(iter_unlabeled(open_unlabeled(jsonl, DATA), DATA)) == ["một", "hai"]
    require_module("pyarrow", "parquet")
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"Data": ["ba", None, "bốn"], "Battery": ["Positive", "", ""]})
    pq.write_table(table, tmp_path / "u.parquet")
    source = open_unlabeled(tmp_path / "u.parquet", DATA)
    assert list(iter_unlabeled(source, DATA)) == ["ba", "bốn"]
    assert source.ignored == ("Battery",)


def test_a_file_with_labels_is_read_without_them_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rows = synthetic_rows(20, seed=3)
    path = write_csv(tmp_path / "labelled.csv", rows, ["data", *ASPECTS])
    with caplog.at_level(logging.INFO, logger="acsa.data.unlabeled"):
        source = open_unlabeled(path, DATA)
    assert list(iter_unlabeled(source, DATA)) == [r["data"] for r in rows]
    assert source.ignored == tuple(ASPECTS)
    assert any("labels in it are ignored" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("name,content", [("e.csv", ""), ("h.csv", "data\n"), ("e.txt", "\n\n")])
def test_an_empty_unlabelled_file_is_a_one_line_error(
    tmp_path: Path, name: str, content: str
) -> None:
    from acsa.training.self_training import check_unlabeled

    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as info:
        check_unlabeled(path, DATA)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert "empty" in message or "no reviews" in message


def test_bad_paths_and_formats_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        open_unlabeled(tmp_path / "missing.csv", DATA)
    bad = tmp_path / "reviews.csv"
    bad.write_text("review\nhello\n", encoding="utf-8")
    with pytest.raises(DataError, match="no text column 'data'"):
        open_unlabeled(bad, DATA)
    raw = _raw_config(tmp_path, unlabeled="reviews.xlsx")
    with pytest.raises(ConfigError, match=r"data\.unlabeled: .*unknown format '\.xlsx'"):
        config_from_dict(raw)


# ---------------------------------------------------------------- pseudo-labels, overlaps


def test_confident_cells_keep_the_top_label_at_or_above_the_cut() -> None:
    probs = np.array([[[0.05, 0.9, 0.03, 0.02], [0.4, 0.3, 0.2, 0.1]]])
    labels, mask = confident_cells(probs, 0.9)
    np.testing.assert_array_equal(mask, [[True, False]])
    np.testing.assert_array_equal(labels, [[1, 0]])


def test_overlaps_with_the_labelled_splits_are_reported_and_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    splits = _splits(["train text"], ["valid text"], ["test   text"])
    unlabeled = ["fresh one", "test text", "valid text", "train text", "fresh two"]
    model = _Recorder()
    with caplog.at_level(logging.WARNING, logger="acsa.training.pseudo_labels"):
        result = pseudo_label(iter(unlabeled), [], model, splits, confidence=0.9, limit=100)
    assert model.seen == ["fresh one", "fresh two"]  # the model never sees a split's text
    assert result.reviews.texts == ["fresh one", "fresh two"]
    assert {k: len(v) for k, v in result.overlaps.items()} == {
        "train": 1,
        "validation": 1,
        "test": 1,
    }
    assert result.dropped_overlaps == 3
    lines = [r.getMessage() for r in caplog.records]
    assert any("in the test split (rows 2): dropped" in line for line in lines)
    # overlaps: keep sends validation and test texts on (train ones never)
    model = _Recorder()
    kept = pseudo_label(
        iter(unlabeled), [], model, splits, confidence=0.9, limit=100, keep_overlaps=True
    )
    assert "test text" in model.seen and "train text" not in model.seen
    assert kept.dropped_overlaps == 1


def test_reviews_without_a_confident_cell_are_left_out() -> None:
    model = _Recorder(probability=0.5)
    result = pseudo_label(
        iter(["a", "b"]), [], model, _splits(["x"], ["y"], ["z"]), confidence=0.9, limit=10
    )
    assert len(result.reviews) == 0 and result.unconfident == 2


# ---------------------------------------------------------------- config


def _raw_config(tmp_path: Path, unlabeled: str | None = None, **st: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "data": {"dir": str(tmp_path), "train": "train.csv", "aspects": ["A"]},
        "output": {"dir": str(tmp_path / "run")},
    }
    if unlabeled is not None:
        raw["data"]["unlabeled"] = unlabeled
    if st:
        raw["training"] = {"self_training": st}
    return raw


def test_without_the_sections_the_config_is_what_it_was(tmp_path: Path) -> None:
    plain = config_from_dict(_raw_config(tmp_path))
    assert plain.training.self_training is None and plain.data.unlabeled is None
    dumped = plain.to_yaml_dict()
    assert "unlabeled" not in dumped["data"] and "self_training" not in dumped["training"]
    # the written config reads back to the same config
    again = config_from_dict(dumped)
    assert again.to_yaml_dict() == dumped
    on = config_from_dict(_raw_config(tmp_path, "u.txt", enabled=True))
    assert on.data.unlabeled == tmp_path / "u.txt"  # resolved like the other files
    assert on.training.self_training is not None
    assert on.training.self_training.confidence == 0.9
    assert on.training.self_training.max_unlabeled == 20_000


def test_each_section_without_the_other_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="training.self_training.enabled: self-training needs"):
        config_from_dict(_raw_config(tmp_path, enabled=True))
    with pytest.raises(ConfigError, match="data.unlabeled: is read only by self-training"):
        config_from_dict(_raw_config(tmp_path, "u.csv"))
    with pytest.raises(ConfigError, match="data.unlabeled: is read only by self-training"):
        config_from_dict(_raw_config(tmp_path, "u.csv", enabled=False))
    with pytest.raises(ConfigError, match="confidence: must be <= 1"):
        config_from_dict(_raw_config(tmp_path, "u.csv", enabled=True, confidence=1.5))


def test_a_run_without_unlabelled_data_never_enters_self_training(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import acsa.training.self_training as self_training
    from acsa.training.run import train

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("self-training ran without being configured")

    monkeypatch.setattr(self_training, "self_train", refuse)
    data = write_synthetic_data(tmp_path / "data", sizes=(60, 30, 30))
    result = train(_tfidf_config(data, tmp_path / "run"), write_plots=False, quiet=True)
    metrics = json.loads((result.output_dir / "metrics.json").read_text(encoding="utf-8"))
    assert "self_training" not in metrics
    assert not (result.output_dir / "self_training").exists()


def _tfidf_config(data: Path, out: Path, unlabeled: Path | None = None, **st: Any) -> Any:
    """The fast TF-IDF run (no Trainer), with self-training on ``unlabeled`` when given."""
    config = small_config(data, out, model={"encoder": "tfidf"}, threshold_cv_folds=0)
    raw = config.to_yaml_dict()
    if unlabeled is not None:
        raw["data"]["unlabeled"] = str(unlabeled)
        raw["training"]["self_training"] = {"enabled": True, **st}
    return config_from_dict(raw)


# ---------------------------------------------------------------- end to end


class _Spy:
    def __init__(self) -> None:
        self.predicted: list[str] = []
        self.stage_train: list[str] = []
        self.scores: list[str] = []
        self.labelled = 0


@pytest.fixture(scope="module")
def self_trained_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, _Spy, Path]:
    """A tiny offline run with self-training on; the unlabelled file also holds every test
    and validation text. The second stage is forced to win (its validation score patched)
    so the swap of the saved model is exercised."""
    import acsa.training.run as run_module
    import acsa.training.self_training as st_module

    root = tmp_path_factory.mktemp("self_training")
    data = write_synthetic_data(root / "data", sizes=(80, 60, 50))
    spy = _Spy()
    patch = pytest.MonkeyPatch()
    original_predict = st_module.predict_unlabeled
    original_train_on = run_module._train_on
    original_score = st_module.saved_validation_pair_f1

    def predict_unlabeled(model_dir: Path, batch_size: int) -> Any:
        predict = original_predict(model_dir, batch_size)

        def recorded(texts: list[str]) -> Any:
            spy.predicted.extend(texts)
            return predict(texts)

        return recorded

    def train_on(config: Any, splits: Any, out: Path, *args: Any, **kwargs: Any) -> Any:
        if out.name == "self_training":  # the pseudo-labelled reviews after the labelled ones
            spy.stage_train.extend(splits["train"].texts[spy.labelled :])
        else:
            spy.labelled = len(splits["train"])
        return original_train_on(config, splits, out, *args, **kwargs)

    def score(metrics: Any) -> Any:
        spy.scores.append("call")
        value = original_score(metrics)
        return value if len(spy.scores) == 1 else value + 2.0  # the second stage wins

    patch.setattr(st_module, "predict_unlabeled", predict_unlabeled)
    patch.setattr(run_module, "_train_on", train_on)
    patch.setattr(st_module, "saved_validation_pair_f1", score)
    import csv

    texts = [r["data"] for r in synthetic_rows(150, seed=11)]
    for split in ("validation", "test"):
        with (data / f"{split}.csv").open(encoding="utf-8-sig", newline="") as handle:
            texts += [row["data"] for row in csv.DictReader(handle)]
    _write_lines(data / "unlabeled.txt", texts)
    config = small_config(data, root / "run", epochs=1, threshold_cv_folds=0)
    raw = config.to_yaml_dict()
    raw["data"]["unlabeled"] = str(data / "unlabeled.txt")
    raw["training"]["self_training"] = {"enabled": True, "confidence": 0.5}
    try:
        result = run_module.train(config_from_dict(raw), write_plots=False, quiet=True)
    finally:
        patch.undo()
    return result, spy, data


def test_no_test_text_reaches_pseudo_labelling_or_the_second_training(
    self_trained_run: tuple[Any, _Spy, Path],
) -> None:
    import csv

    result, spy, data = self_trained_run
    held_out: set[str] = set()
    for split in ("validation", "test"):
        with (data / f"{split}.csv").open(encoding="utf-8-sig", newline="") as handle:
            held_out |= {" ".join(row["data"].split()) for row in csv.DictReader(handle)}
    assert spy.predicted and spy.stage_train
    assert not held_out & {" ".join(t.split()) for t in spy.predicted}
    assert not held_out & {" ".join(t.split()) for t in spy.stage_train}
    summary = result.metrics["test"]["self_training"]["pseudo_labels"]
    assert summary["overlaps"]["test"] >= 45 and summary["overlaps"]["validation"] >= 55


def test_self_training_reports_both_stages_and_saves_a_model_that_predicts(
    self_trained_run: tuple[Any, _Spy, Path],
) -> None:
    result, _spy, data = self_trained_run
    out = result.output_dir
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    for report in (metrics["self_training"], run["self_training"]):
        assert report["adopted"] is True and "validation pair-F1" in report["reason"]
        assert report["supervised"]["validation_pair_f1"] is not None
        assert report["self_trained"]["test_pair_f1"] is not None
    # the self-trained model took the supervised one's place, which was kept beside it
    assert (out / "supervised" / "model").is_dir() and (
        out / "supervised" / "metrics.json"
    ).is_file()
    assert result.model_dir == out / "model"
    assert metrics["pair_f1"] == pytest.approx(
        metrics["self_training"]["self_trained"]["test_pair_f1"]
    )
    from acsa.training.summary import summary_items

    assert any("self-trained model saved" in str(item) for item in summary_items(result))
    predictor = api.load(out)
    predictions = predictor.predict(["pin rất tốt", "giao hàng chậm"])
    assert len(predictions) == 2
    reloaded = api.evaluate(out, data / "test.csv")
    assert reloaded["pair_f1"] == pytest.approx(metrics["pair_f1"], abs=1e-9)


def test_a_second_stage_that_does_not_win_leaves_the_supervised_model(tmp_path: Path) -> None:
    from acsa.training.run import train

    data = write_synthetic_data(tmp_path / "data", sizes=(60, 40, 30))
    _write_lines(data / "u.txt", [r["data"] for r in synthetic_rows(80, seed=5)])
    config = _tfidf_config(data, tmp_path / "run", data / "u.txt", min_gain=0.99)
    result = train(config, write_plots=False, quiet=True)
    metrics = json.loads((result.output_dir / "metrics.json").read_text(encoding="utf-8"))
    report = metrics["self_training"]
    assert report["adopted"] is False and "supervised model is kept" in report["reason"]
    assert metrics["pair_f1"] == pytest.approx(report["supervised"]["test_pair_f1"])
    assert (result.output_dir / "self_training" / "model").is_dir()
    assert not (result.output_dir / "supervised").exists()


def test_an_empty_unlabelled_file_fails_before_training(tmp_path: Path) -> None:
    from acsa.training.run import train

    data = write_synthetic_data(tmp_path / "data", sizes=(30, 20, 20))
    (data / "u.csv").write_text("data\n", encoding="utf-8")
    config = _tfidf_config(data, tmp_path / "run", data / "u.csv")
    with pytest.raises(DataError, match="holds no reviews"):
        train(config, write_plots=False, quiet=True)
    assert not (tmp_path / "run" / "model").exists()

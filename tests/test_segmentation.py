"""``data.word_segmentation``: applied at train and predict time alike, saved with the model.

The test segmenter ``swap`` exchanges the Battery and Price keywords ("pin" <->
"giá"), so a model trained on segmented texts learns "giá" for Battery: it
predicts Battery for a raw "pin ..." review only when prediction segments the
text the way training did, and Price when it does not.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from acsa.data import segmentation
from acsa.errors import ConfigError, DependencyError
from tests.test_training import TINY_OFFLINE, small_config, write_synthetic_data

TFIDF = {"encoder": "tfidf", "min_df": 1}
_SWAP = {"pin": "giá", "giá": "pin"}


def _swap(text: str) -> str:
    return " ".join(_SWAP.get(word, word) for word in text.split())


@pytest.fixture(scope="module")
def swap_segmenter() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(segmentation.SEGMENTERS, "swap", lambda: _swap)
        segmentation._segmenter.cache_clear()
        yield "swap"
    segmentation._segmenter.cache_clear()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_data(tmp_path_factory.mktemp("seg_data"), sizes=(240, 80, 90))


def _train(data_dir: Path, out: Path, model: dict[str, Any], segmenter: str) -> Any:
    from acsa.training.run import train

    config = small_config(data_dir, out, model=model, threshold_cv_folds=0)
    config.data.word_segmentation = segmenter
    return train(config, quiet=True)


@pytest.fixture(scope="module")
def tfidf_run(swap_segmenter: str, data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return _train(data_dir, tmp_path_factory.mktemp("seg_runs") / "tfidf", TFIDF, swap_segmenter)


def _battery_price(predictor: Any, text: str) -> tuple[str, str]:
    (prediction,) = predictor.predict([text])
    labels = prediction.aspects
    return labels.get("Battery", "none"), labels.get("Price", "none")


def test_the_run_reads_segmented_texts_and_saves_the_choice(tfidf_run: Any) -> None:
    meta = json.loads((tfidf_run.model_dir / "acsa_model.json").read_text(encoding="utf-8"))
    assert meta["word_segmentation"] == "swap"
    frame = (tfidf_run.output_dir / "predictions.csv").read_text(encoding="utf-8-sig")
    # "pin" reviews were read as "giá": the keyword of Battery in the segmented texts
    assert "giá tốt" in frame or "giá kém" in frame or "giá tệ" in frame


def test_prediction_segments_like_training(tfidf_run: Any, swap_segmenter: str) -> None:
    from acsa import api

    predictor = api.load(tfidf_run.output_dir)
    assert predictor.backend.kind == "tfidf"  # attributes of the wrapped backend
    assert _battery_price(predictor, "máy mình mua pin rất tốt") == ("positive", "none")
    assert _battery_price(predictor, "giá quá tệ") == ("none", "negative")


def test_evaluate_scores_the_test_file_as_training_did(tfidf_run: Any, data_dir: Path) -> None:
    from acsa import api

    metrics = api.evaluate(tfidf_run.output_dir, data_dir / "test.csv")
    assert metrics["pair_f1"] == pytest.approx(tfidf_run.metrics["test"]["pair_f1"])
    assert metrics["pair_f1"] > 0.5


def test_a_model_without_the_key_reads_texts_unchanged(
    tfidf_run: Any, tmp_path: Path, swap_segmenter: str
) -> None:
    import shutil

    from acsa import api
    from acsa.models.backend import TfidfBackend

    copy = Path(shutil.copytree(tfidf_run.model_dir, tmp_path / "model"))
    meta_path = copy / "acsa_model.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    del meta["word_segmentation"]
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    predictor = api.load(copy)
    assert type(predictor.backend) is TfidfBackend  # the plain backend, not a wrapper
    # the model learnt "giá" for Battery; unsegmented, "pin" reads as Price
    assert _battery_price(predictor, "máy mình mua pin rất tốt") == ("none", "positive")


def test_offline_model_segments_in_torch_and_onnx(
    swap_segmenter: str, data_dir: Path, tmp_path: Path
) -> None:
    from acsa import api
    from acsa.models.segmented import SegmentingBackend

    run = _train(data_dir, tmp_path / "offline", dict(TINY_OFFLINE), swap_segmenter)
    texts = ["pin rất tốt", "giá quá tệ", "shop giao hàng tốt, camera kém"]
    predictor = api.load(run.output_dir)
    assert isinstance(predictor.backend, SegmentingBackend)
    inner = predictor.backend.backend
    expected = inner.predict_logits([_swap(t) for t in texts])
    np.testing.assert_allclose(predictor.backend.predict_logits(texts), expected, rtol=1e-5)
    assert not np.allclose(inner.predict_logits(texts), expected)

    pytest.importorskip("onnxruntime")
    from acsa.models.onnx_export import export_onnx

    onnx_dir = export_onnx(run.model_dir, tmp_path / "onnx")
    onnx = api.load(onnx_dir, runtime="onnx")
    assert isinstance(onnx.backend, SegmentingBackend)
    np.testing.assert_allclose(onnx.backend.predict_logits(texts), expected, atol=1e-4)


def test_an_unknown_segmenter_is_a_config_error(data_dir: Path, tmp_path: Path) -> None:
    from acsa.training.config import config_from_dict

    raw = {"data": {"dir": str(data_dir), "train": "train.csv", "word_segmentation": "vnc"}}
    with pytest.raises(ConfigError, match="word_segmentation.*pyvi"):
        config_from_dict(raw)


def test_a_missing_package_names_the_pip_install(
    tfidf_run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from acsa import api

    monkeypatch.setitem(sys.modules, "pyvi", None)  # import pyvi raises ImportError
    segmentation._segmenter.cache_clear()
    with pytest.raises(DependencyError, match=r'pip install "acsa\[vi\]"') as info:
        segmentation.segment_texts(["màn hình"], "pyvi")
    assert "\n" not in str(info.value)

    copy = Path(shutil.copytree(tfidf_run.model_dir, tmp_path / "model"))
    meta_path = copy / "acsa_model.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["word_segmentation"] = "pyvi"
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(DependencyError, match=r"acsa_model.json: .*pyvi.*pip install"):
        api.load(copy)
    segmentation._segmenter.cache_clear()


@pytest.mark.parametrize("name", ["pyvi", "underthesea"])
def test_the_real_segmenters_join_the_syllables_of_a_word(name: str) -> None:
    pytest.importorskip(name)
    segmentation._segmenter.cache_clear()
    (text,) = segmentation.segment_texts(["Màn hình đẹp, pin trâu"], name)
    assert "Màn_hình" in text and "đẹp" in text
    assert segmentation.segment_texts(["x"], "none") == ["x"]

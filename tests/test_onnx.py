"""ONNX export and the ONNX Runtime backend: same labels and probabilities as PyTorch.

Fast: the tiny offline model (export, parity on awkward texts, the folder it
writes, runtime selection, refusals, the CLI). Slow: the Hugging Face path with
the tiny random BERT, and a quickstart-configured model trained for one epoch on
the shared data, compared on the whole shared test split.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from acsa import api
from acsa.cli import main
from acsa.errors import CheckpointError
from acsa.models.onnx_backend import OnnxBackend
from acsa.models.onnx_export import ONNX_FILE, export_onnx
from tests.helpers.serving import sample_reviews, shared_tiny_model

PROBABILITY_TOLERANCE = 1e-4
AWKWARD = [
    "",
    "   ",
    "pin",
    "xyzzy qwerty zzz",  # nothing the vocabulary knows
    "Pin TRÂU!!! 🔋🔋 camera đẹp :) giá 5.990.000đ",
    "giao hàng " * 300,  # longer than the featurizer keeps
]


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return shared_tiny_model()


@pytest.fixture(scope="module")
def onnx_dir(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_onnx(model_dir, tmp_path_factory.mktemp("onnx_out") / "model_onnx")


def assert_same_predictions(
    reference: api.Predictor, candidate: api.Predictor, texts: list[str]
) -> None:
    expected = reference.predict_proba(texts)
    found = candidate.predict_proba(texts)
    assert found.shape == expected.shape
    assert float(np.abs(found - expected).max()) <= PROBABILITY_TOLERANCE
    np.testing.assert_array_equal(candidate.decide(found), reference.decide(expected))


def test_onnx_runtime_matches_pytorch(model_dir: Path, onnx_dir: Path) -> None:
    torch_predictor = api.load(model_dir)
    onnx_predictor = api.load(onnx_dir)
    assert isinstance(onnx_predictor.backend, OnnxBackend)
    texts = sample_reviews(200, seed=21) + AWKWARD
    assert_same_predictions(torch_predictor, onnx_predictor, texts)
    # batch composition does not matter (dynamic batch and sequence axes)
    for batch_size in (1, 3, 64):
        np.testing.assert_allclose(
            onnx_predictor.predict_proba(texts[:20], batch_size=batch_size),
            torch_predictor.predict_proba(texts[:20]),
            atol=PROBABILITY_TOLERANCE,
        )
    assert onnx_predictor.predict_proba([]).shape == (0, 4, 4)
    assert [p.to_record() for p in onnx_predictor.predict(texts[:30])] == [
        p.to_record() for p in torch_predictor.predict(texts[:30])
    ]


def test_exported_folder_is_a_model_folder(model_dir: Path, onnx_dir: Path) -> None:
    names = {p.name for p in onnx_dir.iterdir()}
    assert {"acsa_model.json", "featurizer.json", ONNX_FILE} <= names
    assert "model.safetensors" not in names
    assert (onnx_dir / "acsa_model.json").read_text(encoding="utf-8") == (
        model_dir / "acsa_model.json"
    ).read_text(encoding="utf-8")
    import onnx

    graph = onnx.load(str(onnx_dir / ONNX_FILE), load_external_data=False).graph
    inputs = {
        i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
        for i in graph.input
    }
    assert list(inputs) == ["input_ids", "attention_mask", "char_ids", "bag_ids"]
    # batch and sequence axes are symbolic (dynamic), not fixed numbers
    for name, dims in inputs.items():
        assert all(isinstance(d, str) and d for d in dims), (name, dims)
    assert inputs["input_ids"][0] == inputs["bag_ids"][0]  # one batch axis
    assert [o.name for o in graph.output] == ["logits"]


def test_export_is_one_self_describing_file(
    model_dir: Path, onnx_dir: Path, tmp_path: Path
) -> None:
    """A model under protobuf's 2 GB is one model.onnx (no .data side file to lose), and the
    exported folder carries the run's test metrics (GET /v1/model's test_metrics)."""
    assert not (onnx_dir / (ONNX_FILE + ".data")).exists()
    moved = tmp_path / "copied"
    moved.mkdir()
    for item in onnx_dir.iterdir():  # what a user copies: every file but the run's
        if item.is_file() and item.name not in ("config.yaml", "metrics.json"):
            (moved / item.name).write_bytes(item.read_bytes())
    texts = sample_reviews(10, seed=4)
    assert_same_predictions(api.load(onnx_dir), api.load(moved), texts)
    metrics = api.load(onnx_dir).info["test_metrics"]
    assert metrics is not None and metrics == api.load(model_dir).info["test_metrics"]


def test_runtime_selection(model_dir: Path, onnx_dir: Path) -> None:
    assert api.load(model_dir).backend.__class__.__name__ == "TorchBackend"
    assert isinstance(api.load(onnx_dir, runtime="onnx").backend, OnnxBackend)
    with pytest.raises(CheckpointError, match="only an ONNX model"):
        api.load(onnx_dir, runtime="torch")
    with pytest.raises(CheckpointError, match="acsa export"):
        api.load(model_dir, runtime="onnx")
    with pytest.raises(ValueError, match="runtime"):
        api.load(model_dir, runtime="tensorrt")
    # the run folder resolves to its model/ folder for both runtimes
    assert api.load(model_dir.parent).model_dir == model_dir


def test_export_refuses_to_overwrite_and_non_neural_models(
    model_dir: Path, onnx_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(CheckpointError, match="pass overwrite=True"):
        export_onnx(model_dir, onnx_dir)
    with pytest.raises(CheckpointError, match="not found"):
        export_onnx(tmp_path / "missing", tmp_path / "out")
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(CheckpointError, match="found a file"):
        export_onnx(model_dir, tmp_path / "file")
    # a model without a network (the TF-IDF baseline) cannot be exported
    tfidf = tmp_path / "tfidf"
    tfidf.mkdir()
    (tfidf / "acsa_model.json").write_text(
        json.dumps({"format": "acsa-model", "model_config": {"encoder": "tfidf"}}),
        encoding="utf-8",
    )
    (tfidf / "model.safetensors").write_bytes(b"")
    with pytest.raises(CheckpointError, match="'tfidf' model cannot be exported to ONNX"):
        export_onnx(tfidf, tmp_path / "tfidf_onnx")
    assert not (tmp_path / "tfidf_onnx").exists()


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return (0 if info.value.code is None else int(info.value.code)), out, err


def test_cli_export_in_place_and_predict_onnx(
    model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "both"
    shutil.copytree(model_dir, folder)
    code, out, err = _cli(
        ["export", str(folder), "--format", "onnx", "--output", str(folder)], capsys
    )
    assert code == 0, err
    assert "model.onnx" in out
    # in place: the folder now serves both runtimes, PyTorch by default
    assert (folder / ONNX_FILE).is_file() and (folder / "model.safetensors").is_file()
    assert api.load(folder).backend.__class__.__name__ == "TorchBackend"
    texts = sample_reviews(5, seed=9)
    args = ["predict", str(folder), "--json", *[a for t in texts for a in ("--text", t)]]
    code, torch_out, err = _cli(args, capsys)
    assert code == 0, err
    code, onnx_out, err = _cli([*args, "--onnx"], capsys)
    assert code == 0, err
    assert [json.loads(line) for line in onnx_out.splitlines()] == [
        json.loads(line) for line in torch_out.splitlines()
    ]
    code, _, err = _cli(["export", str(folder), "--output", str(folder)], capsys)
    assert code == 2 and "--overwrite" in err and len(err.strip().splitlines()) == 1
    code, _, err = _cli(["export", str(folder), "--output", str(folder), "--format", "tf"], capsys)
    assert code == 2


# ------------------------------------------------------------------ slow: HF and the real data


def _decided_where_clear(probs: np.ndarray, margin: float = 1e-4) -> np.ndarray:
    """Cells whose top two classes differ by more than ``margin`` (ties may flip either way)."""
    top = np.sort(probs, axis=-1)
    return (top[..., -1] - top[..., -2]) > margin


@pytest.mark.slow
def test_hugging_face_export_matches_pytorch(tmp_path: Path) -> None:
    from acsa.data.label_space import LabelSpace
    from acsa.models import build_model
    from tests.helpers.tiny_bert import build_tiny_bert, sample_texts

    bert = build_tiny_bert(tmp_path / "tiny_bert")
    config = {"encoder": "huggingface", "name_or_path": str(bert), "max_length": 128}
    model, _ = build_model(config, LabelSpace(("A", "B", "C")), [])
    model.save_pretrained(tmp_path / "hf_model")
    out = export_onnx(tmp_path / "hf_model", tmp_path / "hf_onnx")
    assert (out / "tokenizer").is_dir() and (out / ONNX_FILE).is_file()
    torch_predictor, onnx_predictor = api.load(tmp_path / "hf_model"), api.load(out)
    assert isinstance(onnx_predictor.backend, OnnxBackend)
    assert onnx_predictor.backend.input_names == ["input_ids", "attention_mask"]
    texts = sample_texts(300) + AWKWARD
    expected, found = torch_predictor.predict_proba(texts), onnx_predictor.predict_proba(texts)
    assert float(np.abs(found - expected).max()) <= PROBABILITY_TOLERANCE
    clear = _decided_where_clear(expected)
    assert clear.mean() > 0.99
    labels_torch, labels_onnx = torch_predictor.decide(expected), onnx_predictor.decide(found)
    np.testing.assert_array_equal(labels_onnx[clear], labels_torch[clear])


@pytest.mark.slow
def test_quickstart_model_same_labels_on_the_whole_test_split(
    shared_data_dir: Path, tmp_path: Path
) -> None:
    from acsa.training.config import load_config
    from acsa.training.run import train

    root = Path(__file__).resolve().parents[1]
    config = load_config(
        root / "configs" / "quickstart.yaml",
        {
            "data.dir": str(shared_data_dir),
            "output.dir": str(tmp_path / "run"),
            "training.epochs": 1,
            "training.min_steps": 0,
            "training.progress_bar": False,
        },
    )
    result: Any = train(config, quiet=True)
    out = export_onnx(result.model_dir, tmp_path / "quickstart_onnx")
    texts = pd.read_csv(shared_data_dir / "test.csv", encoding="utf-8-sig", keep_default_na=False)
    texts = texts["data"].astype(str).tolist()
    assert len(texts) > 1000
    assert_same_predictions(api.load(result.model_dir), api.load(out), texts)

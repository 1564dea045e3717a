"""The default runtime: ``acsa train`` exports model.onnx and checks its labels; predict and
serve run it on ONNX Runtime when the check passed, PyTorch otherwise; ``--runtime``.

Fast: the shared tiny offline model, exported and checked on synthetic reviews; one
subprocess that runs ``acsa predict`` and reports what it imported. Slow: a tiny
``train()`` run with the export, end to end.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from acsa import api
from acsa.cli import main
from acsa.models.backend import choose_runtime
from acsa.models.saved import (
    ONNX_CHECK_KEY,
    ONNX_FILE,
    onnx_verified,
    read_metadata,
    remove_onnx,
    update_metadata,
    write_onnx_check,
)
from acsa.training.onnx_runtime import compare_runtimes, export_checked_onnx
from tests.helpers.serving import acsa_env, sample_reviews, shared_tiny_model

pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")


@pytest.fixture(scope="module")
def checked_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with model.onnx beside its weights, checked as ``acsa train`` does."""
    folder = tmp_path_factory.mktemp("checked") / "model"
    shutil.copytree(shared_tiny_model(), folder)
    check = export_checked_onnx(folder, "offline", sample_reviews(300, seed=3))
    assert check["identical_labels"], check
    return folder


@pytest.fixture
def folder(checked_dir: Path, tmp_path: Path) -> Path:
    """A copy a test may change."""
    return Path(shutil.copytree(checked_dir, tmp_path / "model"))


def test_check_records_identical_labels_and_auto_picks_onnx(checked_dir: Path) -> None:
    check = read_metadata(checked_dir).fields[ONNX_CHECK_KEY]
    assert check["identical_labels"] is True and check["differing_cells"] == 0
    assert check["reviews"] == 300 and check["cells"] == 300 * 4
    assert 0 <= check["max_probability_gap"] < 1e-4
    assert onnx_verified(checked_dir)
    assert choose_runtime(checked_dir) == "onnx" == choose_runtime(checked_dir, "auto")
    assert api.load(checked_dir).runtime == "onnx"
    assert api.load(checked_dir, "torch").runtime == "torch"
    assert api.load(checked_dir, "onnx").runtime == "onnx"


def test_both_runtimes_give_the_same_labels_on_other_reviews(checked_dir: Path) -> None:
    texts = sample_reviews(400, seed=11) + ["", "   ", "xyzzy", "giao hàng " * 300]
    default, torch_predictor = api.load(checked_dir), api.load(checked_dir, "torch")
    labels, probs = default.predict_labels(texts)
    torch_labels, torch_probs = torch_predictor.predict_labels(texts)
    np.testing.assert_array_equal(labels, torch_labels)
    assert float(np.abs(probs - torch_probs).max()) < 1e-4
    # what the check computes: the same comparison, run again
    again = compare_runtimes(checked_dir, texts)
    assert again["identical_labels"] and again["differing_cells"] == 0


def test_auto_falls_back_to_torch(folder: Path) -> None:
    # a failed check
    record = dict(read_metadata(folder).fields[ONNX_CHECK_KEY])
    write_onnx_check(folder, {**record, "identical_labels": False, "differing_cells": 3})
    assert not onnx_verified(folder)
    assert api.load(folder).runtime == "torch"
    assert api.load(folder, "onnx").runtime == "onnx"  # still there when forced
    # a graph other than the one checked (its fingerprint differs)
    update_metadata(folder, **{ONNX_CHECK_KEY: {**record, "onnx_digest": "0" * 64}})
    assert api.load(folder).runtime == "torch"
    # the file is missing; the check record alone proves nothing
    update_metadata(folder, **{ONNX_CHECK_KEY: record})
    assert api.load(folder).runtime == "onnx"
    (folder / ONNX_FILE).unlink()
    assert api.load(folder).runtime == "torch"
    # no check at all (acsa export into the model's own folder): torch, as before
    remove_onnx(folder)
    assert ONNX_CHECK_KEY not in read_metadata(folder).fields
    assert choose_runtime(folder) == "torch"


def test_a_model_that_cannot_be_exported_keeps_torch(folder: Path) -> None:
    check = export_checked_onnx(folder, "tfidf", ["pin tốt"])
    assert check["exported"] is False and "tfidf" in check["reason"]
    assert not (folder / ONNX_FILE).exists()
    assert api.load(folder).runtime == "torch"


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return (0 if info.value.code is None else int(info.value.code)), out, err


def test_cli_runtime_option(checked_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    texts = sample_reviews(6, seed=5)
    args = ["predict", str(checked_dir), "--json", *[a for t in texts for a in ("--text", t)]]
    outputs = {}
    for extra in ([], ["--runtime", "torch"], ["--runtime", "onnx"], ["--runtime", "AUTO"]):
        code, out, err = _cli([*args, *extra], capsys)
        assert code == 0, err
        outputs[" ".join(extra)] = [json.loads(line) for line in out.splitlines()]
    labels = {k: [r["aspects"] for r in v] for k, v in outputs.items()}
    assert len({json.dumps(v) for v in labels.values()}) == 1
    # the deprecated flag still works
    code, out, err = _cli([*args, "--onnx"], capsys)
    assert code == 0, err
    assert [json.loads(line)["aspects"] for line in out.splitlines()] == labels[""]
    # an unknown runtime: one line, exit 2
    code, out, err = _cli([*args, "--runtime", "tensorrt"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--runtime" in err and "tensorrt" in err and "auto, torch, onnx" in err
    code, _, err = _cli([*args, "--onnx", "--runtime", "torch"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1


_PROBE = """
import json, sys
from acsa.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code or 0
heavy = ("torch", "transformers", "onnxscript", "sklearn", "scipy", "pandas")
print(json.dumps({"code": code, "loaded": [m for m in heavy if m in sys.modules]}))
"""


def _imports_of_predict(model: Path, tmp_path: Path, *extra: str) -> dict[str, Any]:
    source = tmp_path / "reviews.csv"
    with source.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["data"], *([t] for t in sample_reviews(20, seed=8)), [""]])
    out = tmp_path / f"out{len(extra)}.csv"
    command = [sys.executable, "-c", _PROBE, "predict", str(model), "--input", str(source)]
    command += ["--output", str(out), "--no-progress", *extra]
    done = subprocess.run(command, capture_output=True, text=True, env=acsa_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0, done.stderr
    assert out.is_file()
    return result


def test_onnx_predict_imports_neither_torch_nor_transformers(
    checked_dir: Path, tmp_path: Path
) -> None:
    assert _imports_of_predict(checked_dir, tmp_path)["loaded"] == []
    # --runtime torch really runs PyTorch
    assert "torch" in _imports_of_predict(checked_dir, tmp_path, "--runtime", "torch")["loaded"]


_SERVE_PROBE = """
import json, sys
from fastapi.testclient import TestClient
from acsa.serve.app import create_app
from acsa.serve.settings import ServeSettings
settings = ServeSettings(model_dir=sys.argv[1], runtime=sys.argv[2], threads=1)
with TestClient(create_app(settings)) as client:
    answer = client.post("/v1/predict", json={"texts": ["pin tot"]})
torch = sys.modules.get("torch")
threads = torch.get_num_threads() if torch else None
print(json.dumps({"status": answer.status_code, "torch": bool(torch), "threads": threads}))
"""


@pytest.mark.parametrize("runtime", ["onnx", "torch"])
def test_serve_threads_without_torch_on_onnx(checked_dir: Path, runtime: str) -> None:
    """``acsa serve --threads`` sets ONNX Runtime's session threads without loading torch,
    and torch's intra-op threads when the model runs on PyTorch."""
    command = [sys.executable, "-c", _SERVE_PROBE, str(checked_dir), runtime]
    done = subprocess.run(command, capture_output=True, text=True, env=acsa_env(), timeout=180)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == 200
    if runtime == "onnx":
        assert result == {"status": 200, "torch": False, "threads": None}
    else:
        assert result == {"status": 200, "torch": True, "threads": 1}


def test_a_blend_predicts_without_scikit_learn(
    checked_dir: Path, folder: Path, tmp_path: Path
) -> None:
    """The blend's TF-IDF part runs in numpy (acsa.models.tfidf_scorer) on predict's path."""
    from acsa.models.blended import save_blend
    from acsa.models.tfidf import TfidfAspectModel

    aspects = read_metadata(folder).label_space.aspects
    texts = sample_reviews(60, seed=11)
    labels = np.random.default_rng(0).integers(0, 4, size=(len(texts), len(aspects)))
    tfidf = TfidfAspectModel(min_df=1).fit(texts, labels, aspects=aspects)
    save_blend(folder, tfidf, dict.fromkeys(aspects, 0.5), {"test": True})
    assert _imports_of_predict(folder, tmp_path)["loaded"] == []
    # the blend really was applied: its TF-IDF half moves the probabilities
    blended = api.load(folder).predict_proba(texts[:5])
    network = api.load(checked_dir).predict_proba(texts[:5])
    assert not np.allclose(blended, network)


def test_summary_names_the_runtime() -> None:
    from acsa.training.summary import runtime_line

    assert runtime_line(None) is None
    line = runtime_line({"identical_labels": True, "reviews": 1491})
    assert line is not None and "ONNX Runtime" in line and "1,491" in line
    line = runtime_line({"identical_labels": False, "differing_cells": 2, "cells": 40})
    assert line is not None and line.startswith("runtime: PyTorch") and "2 of 40" in line
    line = runtime_line({"exported": False, "reason": "no onnxscript"})
    assert line is not None and "no onnxscript" in line


@pytest.mark.slow
def test_train_exports_and_checks(tmp_path: Path) -> None:
    from acsa.training.run import train
    from tests.test_training import small_config, write_synthetic_data

    data = write_synthetic_data(tmp_path / "data")
    config = small_config(data, tmp_path / "run", epochs=2, baseline=False)
    result = train(config, quiet=True, export_onnx=True)
    assert result.onnx is not None and result.onnx["identical_labels"], result.onnx
    assert result.onnx["reviews"] == 100 and "onnx" in result.timings
    assert (result.model_dir / ONNX_FILE).is_file() and onnx_verified(result.model_dir)
    assert api.load(result.output_dir).runtime == "onnx"


def test_evaluate_stays_on_torch(folder: Path) -> None:
    from acsa.api import _evaluated

    assert api.load(folder).runtime == "onnx"
    assert _evaluated(folder).runtime == "torch"
    (folder / "model.safetensors").unlink()  # a folder holding only model.onnx
    assert _evaluated(folder).runtime == "onnx"


def test_explanations_of_a_model_run_on_onnx_use_its_weights(checked_dir: Path) -> None:
    pytest.importorskip("captum")
    texts = sample_reviews(3, seed=2)
    on_onnx = api.load(checked_dir).explain(texts, n_steps=4)
    on_torch = api.load(checked_dir, "torch").explain(texts, n_steps=4)

    def explained(explanations: list[Any]) -> list[Any]:
        # the probabilities differ in the 7th digit between runtimes; the rest may not
        return [(p["aspects"], p["explanations"]) for p in (e.to_payload(3) for e in explanations)]

    assert explained(on_onnx) == explained(on_torch)
    assert any(aspects for aspects, _ in explained(on_onnx))

"""Explanations through the CLI (``acsa predict --explain``) and the server (``explain: true``)."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from acsa import api
from acsa.serve import ServeSettings, create_app
from acsa.serve.schemas import PredictResponse
from tests.helpers.serving import shared_tiny_model
from tests.test_cli import assert_one_line_error, run_cli

pytest.importorskip("captum", reason="the explain extra (captum) is not installed")

REVIEW = unicodedata.normalize("NFD", "Pin tốt, pin trâu nhưng giá cao")


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return shared_tiny_model()


def test_cli_explain_text_lines(model_dir: Path, capsys: Any) -> None:
    args = ["predict", str(model_dir), "--explain", "--top-k", "2", "-t", REVIEW, "-t", "ok"]
    code, out, err = run_cli(args, capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2 and lines[0].startswith(REVIEW + "\t")
    predicted = api.load(model_dir).predict([REVIEW])[0].aspects
    body = lines[0].split("\t")[1]
    if predicted:
        for aspect, label in predicted.items():
            assert f"{aspect}: {label} [" in body
        # at most 2 tokens per aspect
        assert all(part.count('"') <= 4 for part in body.split("; "))
    else:
        assert body == "(no aspect mentioned)"


def test_cli_explain_json_offsets(model_dir: Path, capsys: Any, tmp_path: Path) -> None:
    source = tmp_path / "reviews.txt"
    source.write_text(REVIEW + "\ncamera đẹp\n", encoding="utf-8")
    args = ["predict", str(model_dir), "--explain", "--json", "--input", str(source)]
    code, out, err = run_cli(args, capsys)
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["text"] for r in records] == [REVIEW, "camera đẹp"]
    for record in records:
        assert set(record["explanations"]) == set(record["aspects"])
        for evidence in record["explanations"].values():
            assert 0 < len(evidence["tokens"]) <= 5
            for token in evidence["tokens"]:
                assert record["text"][token["start"] : token["end"]] == token["text"]


def test_cli_explain_refuses_options_it_cannot_honour(model_dir: Path, capsys: Any) -> None:
    code, _, err = run_cli(["predict", str(model_dir), "--explain", "--onnx", "-t", "x"], capsys)
    assert code == 2 and "--explain" in err


def test_cli_explain_of_an_onnx_only_folder_is_one_line(
    model_dir: Path, tmp_path: Path, capsys: Any
) -> None:
    import shutil

    copy = tmp_path / "m"
    shutil.copytree(model_dir, copy)
    (copy / "model.safetensors").rename(copy / "model.onnx")  # looks like an exported folder
    code, _, err = run_cli(["predict", str(copy), "--explain", "-t", "pin tốt"], capsys)
    assert code == 2
    assert_one_line_error(err)


@pytest.fixture(scope="module")
def client(model_dir: Path) -> Any:
    app = create_app(ServeSettings(model_dir=model_dir, max_wait_ms=1), api.load(model_dir))
    with TestClient(app) as c:
        yield c


def test_server_explain_round_trips_through_its_schema(client: TestClient) -> None:
    texts = [REVIEW, "camera đẹp, giao hàng chậm", ""]
    response = client.post("/v1/predict", json={"texts": texts, "explain": True})
    assert response.status_code == 200, response.text
    body = response.json()
    parsed = PredictResponse.model_validate(body)
    assert parsed.model_dump(mode="json", exclude_none=True) == body
    for text, entry in zip(texts, parsed.predictions, strict=True):
        assert entry.explanations is not None
        assert set(entry.explanations) == set(entry.aspects)
        for aspect, evidence in entry.explanations.items():
            assert evidence.label == entry.aspects[aspect]
            assert all(text[t.start : t.end] == t.text for t in evidence.tokens)
    plain = client.post("/v1/predict", json={"texts": texts}).json()
    assert all("explanations" not in p for p in plain["predictions"])
    assert [p["aspects"] for p in plain["predictions"]] == [p.aspects for p in parsed.predictions]


def test_openapi_documents_the_explain_field(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    request = schema["components"]["schemas"]["PredictRequest"]
    assert request["properties"]["explain"]["type"] == "boolean"
    assert "explain" not in request.get("required", [])
    prediction = schema["components"]["schemas"]["TextPrediction"]
    assert "explanations" in prediction["properties"]
    assert "AspectExplanation" in schema["components"]["schemas"]
    bad = client.post("/v1/predict", json={"texts": ["x"], "explain": "maybe"})
    assert bad.status_code == 422

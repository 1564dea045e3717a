"""``acsa predict --explain`` with files (CSV, JSON lines, Parquet, text), --resume and the
combinations it refuses (--engine ray, --onnx)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from acsa.batch.manifest import partial_path
from acsa.errors import DataError
from tests.conftest import require_module
from tests.test_cli import assert_one_line_error, run_cli
from tests.test_predict_stream import (
    Interrupted,
    interrupt_after,
    model_dir,  # noqa: F401 (fixture)
    read_jsonl,
    reviews,
    stream,
    write_input,
)

pytest.importorskip("captum", reason="the explain extra (captum) is not installed")


def _check_evidence(text: str, aspects: dict[str, str], evidence: dict[str, Any], k: int) -> None:
    """The evidence covers the mentioned aspects, at most ``k`` tokens each, at their offsets."""
    assert set(evidence) == set(aspects)
    for aspect, entry in evidence.items():
        assert entry["label"] == aspects[aspect]
        assert 0 < len(entry["tokens"]) <= k
        for token in entry["tokens"]:
            assert text[token["start"] : token["end"]] == token["text"]


def test_jsonl_output_carries_an_explanations_key(tmp_path: Path, model_dir: Path) -> None:  # noqa: F811
    texts = reviews(12)
    path = write_input(tmp_path / "in.csv", texts, "csv")
    out = tmp_path / "out.jsonl"
    stream(model_dir, path, output=out, explain=True, top_k=2, keep_columns=("id",))
    plain = tmp_path / "plain.jsonl"
    stream(model_dir, path, output=plain, keep_columns=("id",))
    records, before = read_jsonl(out), read_jsonl(plain)
    assert [r["text"] for r in records] == texts
    assert any(r["explanations"] for r in records)
    for record, old in zip(records, before, strict=True):
        # the prediction is the one without --explain; the evidence comes on top
        assert {k: v for k, v in record.items() if k != "explanations"} == old
        _check_evidence(record["text"], record["aspects"], record["explanations"], 2)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_tables_get_an_explanations_json_column(
    tmp_path: Path,
    model_dir: Path,  # noqa: F811
    fmt: str,
) -> None:
    import pandas as pd

    if fmt == "parquet":
        require_module("pyarrow", "parquet")
    texts = reviews(10)
    path = write_input(tmp_path / "in.csv", texts, "csv")
    out, plain = tmp_path / f"out.{fmt}", tmp_path / f"plain.{fmt}"
    stream(model_dir, path, output=out, explain=True, top_k=3)
    stream(model_dir, path, output=plain)
    read = pd.read_parquet if fmt == "parquet" else lambda p: pd.read_csv(p, keep_default_na=False)
    table, before = read(out), read(plain)
    assert list(table.columns) == [*before.columns, "explanations"]
    pd.testing.assert_frame_equal(table.drop(columns="explanations"), before)
    aspects = [c for c in before.columns if c not in ("data", "empty") and "prob_" not in c]
    for text, (_, row) in zip(texts, table.iterrows(), strict=True):
        mentioned = {a: row[a].lower() for a in aspects if row[a]}
        _check_evidence(text, mentioned, json.loads(row["explanations"]), 3)


def test_text_lines_show_each_aspects_tokens(tmp_path: Path, model_dir: Path) -> None:  # noqa: F811
    path = write_input(tmp_path / "in.txt", ["pin tốt, giá kém", "camera đẹp"], "txt")
    out = tmp_path / "out.txt"
    stream(model_dir, path, output=out, explain=True, top_k=1)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [line.split("\t")[0] for line in lines] == ["pin tốt, giá kém", "camera đẹp"]
    assert all(" [" in line or "(no aspect mentioned)" in line for line in lines)


def test_resume_with_explain_equals_an_uninterrupted_run(
    tmp_path: Path,
    model_dir: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    path = write_input(tmp_path / "in.csv", reviews(20), "csv")
    whole, out = tmp_path / "whole.jsonl", tmp_path / "out.jsonl"
    stream(model_dir, path, output=whole, chunk_size=6, explain=True)
    with monkeypatch.context() as patch:
        interrupt_after(patch, 2)
        with pytest.raises(Interrupted):
            stream(model_dir, path, output=out, chunk_size=6, explain=True)
    assert partial_path(out).exists()
    args = ["predict", str(model_dir), "-i", str(path), "-o", str(out), "--chunk-size", "6"]
    # a resume must explain as the interrupted run did
    code, _, err = run_cli([*args, "--resume"], capsys)
    assert code == 2
    assert_one_line_error(err, "cannot resume", "--explain --top-k")
    code, _, err = run_cli([*args, "--resume", "--explain", "--top-k", "4"], capsys)
    assert code == 2
    assert_one_line_error(err, "cannot resume", "--explain --top-k 5", "this one 4")
    code, _, err = run_cli([*args, "--resume", "--explain"], capsys)
    assert code == 0, err
    assert "after 12 done before" in err
    assert out.read_bytes() == whole.read_bytes()


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--engine", "ray"], "--engine ray"),
        (["--runtime", "onnx"], "--runtime onnx"),
        (["--onnx"], "--runtime onnx"),  # the old spelling of --runtime onnx
    ],
)
def test_refused_combinations_are_one_line(
    tmp_path: Path,
    model_dir: Path,  # noqa: F811
    capsys: Any,
    flags: list[str],
    named: str,
) -> None:
    path = write_input(tmp_path / "in.csv", reviews(3), "csv")
    args = ["predict", str(model_dir), "-i", str(path), "-o", str(tmp_path / "o.csv")]
    code, _, err = run_cli([*args, "--explain", *flags], capsys)
    assert code == 2
    assert_one_line_error(err, "--explain", named, "not supported")
    with pytest.raises(DataError, match="local engine"):
        stream(model_dir, path, output=tmp_path / "x.csv", explain=True, engine="ray")


def test_explain_to_stdout_as_csv_goes_through_the_stream(
    tmp_path: Path,
    model_dir: Path,  # noqa: F811
    capsys: Any,
) -> None:
    path = write_input(tmp_path / "in.csv", ["pin tốt", "camera đẹp"], "csv")
    args = ["predict", str(model_dir), "-i", str(path), "--explain", "--format", "csv"]
    code, out, err = run_cli([*args, "--keep-columns", "id"], capsys)
    assert code == 0, err
    header = out.splitlines()[0].split(",")
    assert header[:2] == ["id", "data"] and header[-1] == "explanations"

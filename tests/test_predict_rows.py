"""``acsa predict`` row for row (issue 20): the training reader's rules for every input,
one output row per input row in order (blank, duplicate, long and odd cells included),
blank texts flagged ``empty`` with no aspect, input columns carried through, the model's
own text column, and errors that only suggest options the command has."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from acsa import api
from acsa.batch import PredictOptions, predict_stream
from acsa.data import DataConfig, load_split
from acsa.errors import DataError
from tests.conftest import require_module
from tests.helpers.serving import SYNTHETIC_ASPECTS, sample_reviews, shared_tiny_model
from tests.test_cli import assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return shared_tiny_model()


def awkward_texts() -> list[str]:
    """Blank, whitespace-only, duplicate, very long and non-text-looking cells."""
    base = sample_reviews(6, seed=11)
    return [
        base[0],
        "",
        "   ",
        base[1],
        base[1],  # a duplicate
        "12345",
        "NaN",
        "None",
        "null",
        "pin trâu, giao hàng nhanh",  # a comma, quoted in CSV
        " ".join(base * 200),  # very long
        "😀",
        "\t",
        base[2],
        base[0],  # a duplicate further away
        "",
    ]


def write_rows(path: Path, texts: list[str], fmt: str) -> Path:
    """``texts`` with an ``id`` per row in ``fmt`` (txt: one per line, no ids)."""
    if fmt == "csv":
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["id", "data", "date"])
            writer.writerows([f"r{i}", t, f"2026-12-{i % 28 + 1:02d}"] for i, t in enumerate(texts))
    elif fmt == "jsonl":
        lines = [
            json.dumps({"id": f"r{i}", "text": t, "date": i}, ensure_ascii=False)
            for i, t in enumerate(texts)
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif fmt == "txt":
        path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    else:
        require_module("pyarrow", "parquet")
        import pyarrow as pa
        import pyarrow.parquet as pq

        ids = [f"r{i}" for i in range(len(texts))]
        texts_or_null = [None if i == 1 else t for i, t in enumerate(texts)]
        table = pa.table({"id": ids, "data": texts_or_null, "date": list(range(len(texts)))})
        pq.write_table(table, path, row_group_size=5)
    return path


def read_output(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".jsonl":
        return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    import pandas as pd

    if path.suffix == ".parquet":
        return pd.read_parquet(path).to_dict("records")
    frame = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False, dtype=str)
    return frame.to_dict("records")


def text_of(record: dict[str, Any]) -> str:
    return record["text"] if "text" in record else record["data"]


# ---------------------------------------------------------------- one row out per row in


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "txt"])
@pytest.mark.parametrize("out_fmt", ["jsonl", "csv", "parquet"])
def test_one_row_out_for_every_row_in(
    tmp_path: Path, model_dir: Path, fmt: str, out_fmt: str
) -> None:
    texts = awkward_texts()
    if fmt == "txt":  # one review per line: a tab-only line is still a line
        texts = [t.replace("\t", " ") for t in texts]
    if out_fmt == "parquet" or fmt == "parquet":
        require_module("pyarrow", "parquet")
    path = write_rows(tmp_path / f"in.{fmt}", texts, fmt)
    out = tmp_path / f"out.{out_fmt}"
    summary = predict_stream(model_dir, PredictOptions(source=path, output=out, chunk_size=4))
    records = read_output(out)
    assert summary.rows == len(texts) == len(records)
    assert [text_of(r) for r in records] == texts  # same order, nothing dropped or cut
    blank = [not t.strip() for t in texts]
    assert [r["empty"] in (True, "True") for r in records] == blank
    for record, is_blank in zip(records, blank, strict=True):
        mentioned = (
            record["aspects"]
            if "aspects" in record
            else {a: record[a] for a in SYNTHETIC_ASPECTS if record[a]}
        )
        if is_blank:
            assert not mentioned


def test_one_csv_column_with_an_empty_and_a_blank_row(tmp_path: Path, model_dir: Path) -> None:
    """The issue's case: 4 rows in (one an empty quoted cell, one a blank line), 4 out."""
    path = tmp_path / "one.csv"
    path.write_text('data\npin tốt\n""\n\ngiá rẻ\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    predict_stream(model_dir, PredictOptions(source=path, output=out))
    records = read_output(out)
    assert [r["text"] for r in records] == ["pin tốt", "", "", "giá rẻ"]
    assert [r["empty"] for r in records] == [False, True, True, False]


# ---------------------------------------------------------------- the training reader's rules


def test_unquoted_comma_is_the_training_readers_error(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cut.csv"
    path.write_text("data,Battery\nok,Positive\nPin trâu, giao hàng nhanh,Positive\n", "utf-8")
    with pytest.raises(DataError) as train_error:
        load_split(path, DataConfig(aspects=["Battery"]))
    with pytest.raises(DataError) as predict_error:
        predict_stream(model_dir, PredictOptions(source=path, output=tmp_path / "o.jsonl"))
    assert str(predict_error.value) == str(train_error.value)
    assert "row 3: 3 fields but the header has 2" in str(predict_error.value)
    one = tmp_path / "one.csv"  # the one-column file: never cut at the comma
    one.write_text("data\nPin trâu, giao hàng nhanh\n", encoding="utf-8")
    code, out, err = run_cli(["predict", str(model_dir), "-i", str(one)], capsys)
    assert code == 2 and out == ""
    assert_one_line_error(err, "row 2: 2 fields but the header has 1", "quote texts")


def test_bad_encoding_is_the_training_readers_error(tmp_path: Path, model_dir: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("data,Battery\nok,Positive\ncafé,Positive\n".encode("latin-1"))
    with pytest.raises(DataError) as train_error:
        load_split(path, DataConfig(aspects=["Battery"]))
    with pytest.raises(DataError) as predict_error:
        predict_stream(model_dir, PredictOptions(source=path, output=tmp_path / "o.jsonl"))
    assert str(predict_error.value) == str(train_error.value)
    assert not (tmp_path / "o.jsonl").exists()


def test_missing_text_column_is_one_line(
    tmp_path: Path, model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cols.csv"
    path.write_text("id,comment\n1,pin tốt\n", encoding="utf-8")
    code, _, err = run_cli(["predict", str(model_dir), "-i", str(path)], capsys)
    assert code == 2
    assert_one_line_error(err, "no 'data', 'text' or 'review' column", "--text-column")


# ---------------------------------------------------------------- blank texts


def test_blank_texts_mention_nothing_everywhere(
    model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    predictor = api.load(model_dir)
    predictions = predictor.predict(["", "   ", "\n\t", "pin tốt"])
    for p in predictions[:3]:
        assert p.aspects == {} and p.empty
        assert p.to_record()["empty"] is True and p.to_payload()["empty"] is True
        assert all(row[0] == 1.0 for row in p.probabilities)
    assert predictions[3].to_record()["empty"] is False
    code, out, _ = run_cli(["predict", str(model_dir), "--text", "", "--text", "   "], capsys)
    assert code == 0 and out.count("(empty review)") == 2
    code, out, _ = run_cli(["predict", str(model_dir), "--text", "", "--json"], capsys)
    assert json.loads(out) == {"text": "", "aspects": {}, "confidence": {}, "empty": True}


def test_blank_texts_through_the_server(model_dir: Path) -> None:
    from fastapi.testclient import TestClient

    from acsa.serve.app import create_app
    from acsa.serve.schemas import PredictResponse
    from acsa.serve.settings import ServeSettings

    app = create_app(ServeSettings(model_dir=model_dir), api.load(model_dir))
    with TestClient(app) as client:
        answer = client.post("/v1/predict", json={"texts": ["", "  ", "pin tốt"]})
        assert answer.status_code == 200
        body = PredictResponse.model_validate(answer.json())
        assert [p.empty for p in body.predictions] == [True, True, False]
        assert body.predictions[0].aspects == {} and body.predictions[1].aspects == {}
        schema = client.get("/openapi.json").json()["components"]["schemas"]
        assert "empty" in schema["TextPrediction"]["required"]


# ---------------------------------------------------------------- columns carried through


@pytest.mark.parametrize("out_fmt", ["csv", "jsonl", "parquet"])
def test_keep_columns(
    tmp_path: Path, model_dir: Path, out_fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if out_fmt == "parquet":
        require_module("pyarrow", "parquet")
    texts = awkward_texts()
    path = write_rows(tmp_path / "in.csv", texts, "csv")
    out = tmp_path / f"out.{out_fmt}"
    code, _, err = run_cli(
        ["predict", str(model_dir), "-i", str(path), "-o", str(out), "--keep-columns", "id,date"],
        capsys,
    )
    assert code == 0, err
    records = read_output(out)
    assert [r["id"] for r in records] == [f"r{i}" for i in range(len(texts))]
    assert list(records[0])[:2] == ["id", "date"]
    assert records[3]["date"] == "2026-12-04"
    everything = tmp_path / f"all.{out_fmt}"
    args = ["predict", str(model_dir), "-i", str(path), "-o", str(everything)]
    assert run_cli([*args, "--keep-columns", "all"], capsys)[0] == 0
    assert list(read_output(everything)[0])[:2] == ["id", "date"]


def test_keep_columns_of_parquet_keep_their_type(tmp_path: Path, model_dir: Path) -> None:
    require_module("pyarrow", "parquet")
    import pyarrow.parquet as pq

    path = write_rows(tmp_path / "in.parquet", awkward_texts(), "parquet")
    out = tmp_path / "out.parquet"
    options = PredictOptions(source=path, output=out, keep_columns=("all",), chunk_size=3)
    predict_stream(model_dir, options)
    table = pq.read_table(out)
    assert table.schema.field("date").type == pq.read_table(path).schema.field("date").type
    assert table.column("date").to_pylist() == list(range(len(awkward_texts())))


def test_keep_columns_resume(tmp_path: Path, model_dir: Path, monkeypatch: Any) -> None:
    from tests.test_predict_stream import Interrupted, interrupt_after

    path = write_rows(tmp_path / "in.jsonl", awkward_texts() * 3, "jsonl")
    whole, out = tmp_path / "whole.csv", tmp_path / "out.csv"
    options = {"source": path, "keep_columns": ("id", "date"), "chunk_size": 5}
    predict_stream(model_dir, PredictOptions(output=whole, **options))
    with monkeypatch.context() as patch:
        interrupt_after(patch, 3)
        with pytest.raises(Interrupted):
            predict_stream(model_dir, PredictOptions(output=out, **options))
    with pytest.raises(DataError, match="kept columns"):
        changed = {**options, "keep_columns": ("id",)}
        predict_stream(model_dir, PredictOptions(output=out, resume=True, **changed))
    summary = predict_stream(model_dir, PredictOptions(output=out, resume=True, **options))
    assert summary.rows_before == 15
    assert out.read_bytes() == whole.read_bytes()


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--keep-columns", "nope"], ["no column 'nope' to keep", "--keep-columns"]),
        (["--keep-columns", "id", "-o", "{tmp}/o.txt"], ["no columns to keep"]),
    ],
)
def test_keep_columns_errors(
    tmp_path: Path,
    model_dir: Path,
    args: list[str],
    fragments: list[str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write_rows(tmp_path / "in.csv", ["a", "b"], "csv")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, _, err = run_cli(["predict", str(model_dir), "-i", str(path), *args], capsys)
    assert code == 2
    assert_one_line_error(err, *fragments)


# ---------------------------------------------------------------- the model's text column


@pytest.fixture
def content_model(tmp_path: Path, model_dir: Path) -> Path:
    """The tiny model in a run folder whose config says ``data.text_column: Content``."""
    run = tmp_path / "run"
    shutil.copytree(model_dir, run / "model")
    (run / "config.yaml").write_text(
        "data:\n  text_column: Content\n  aspects: [" + ", ".join(SYNTHETIC_ASPECTS) + "]\n",
        encoding="utf-8",
    )
    return run


def write_labelled(path: Path, column: str) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([column, *SYNTHETIC_ASPECTS])
        writer.writerows([t, "Positive", "", "", ""] for t in sample_reviews(8, seed=2))
    return path


def test_predict_and_evaluate_use_the_models_text_column(
    tmp_path: Path, content_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_labelled(tmp_path / "test.csv", "Content")
    out = tmp_path / "o.jsonl"
    code, _, err = run_cli(["predict", str(content_model), "-i", str(path), "-o", str(out)], capsys)
    assert code == 0, err
    assert [r["text"] for r in read_output(out)] == sample_reviews(8, seed=2)
    code, _, err = run_cli(["evaluate", str(content_model), str(path), "--no-plots"], capsys)
    assert code == 0, err
    other = write_labelled(tmp_path / "other.csv", "Body")
    code, _, err = run_cli(["evaluate", str(content_model), str(other), "--no-plots"], capsys)
    assert code == 2
    assert_one_line_error(err, "'content', 'data', 'text' or 'review'", "--text-column")
    code, _, err = run_cli(
        ["evaluate", str(content_model), str(other), "--no-plots", "--text-column", "Body"], capsys
    )
    assert code == 0, err


def _options(command: str) -> set[str]:
    import typer

    from acsa.cli import app

    click_command = typer.main.get_command(app)
    params = click_command.commands[command].params  # type: ignore[attr-defined]
    return {opt for p in params for opt in p.opts if opt.startswith("--")}


def test_every_suggested_option_exists(
    tmp_path: Path, content_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Walk the errors of predict and evaluate: each --flag they name is one of the command's."""
    csv_in = write_labelled(tmp_path / "in.csv", "Body")
    jsonl_in = write_rows(tmp_path / "in.jsonl", ["a"], "jsonl")
    unknown = tmp_path / "in.xyz"
    unknown.write_text("a\n", encoding="utf-8")
    model = str(content_model)
    cases = {
        "predict": [
            ["-i", str(csv_in)],
            ["-i", str(csv_in), "--text-column", "nope"],
            ["-i", str(jsonl_in), "--text-column", "body"],
            ["-i", str(unknown)],
            ["-i", str(csv_in), "--text-column", "Body", "--keep-columns", "nope"],
            ["--text", "a", "--resume"],
            ["--text", "a", "--keep-columns", "id"],
            ["--text", "a", "--format", "parquet"],
            ["-i", str(csv_in), "--text-column", "Body", "--json", "--format", "csv"],
        ],
        "evaluate": [[str(csv_in)], [str(csv_in), "--text-column", "nope"]],
    }
    seen = 0
    for command, runs in cases.items():
        allowed = _options(command)
        for args in runs:
            full = [command, model, *args] if command == "predict" else [command, model, *args]
            code, _, err = run_cli(full, capsys)
            assert code == 2, (full, err)
            for flag in re.findall(r"(?<![\w-])--[a-z][a-z-]*", err):
                seen += 1
                assert flag in allowed, f"{command}: {err.strip()} suggests {flag}"
    assert seen >= len(cases["predict"])


def test_evaluate_suggests_nothing_it_cannot_take(
    tmp_path: Path, content_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Extra columns (an id) are left out with a warning; a missing aspect column says what
    the model needs, not the data.aspects / data.ignore_columns that evaluate cannot take."""
    texts = sample_reviews(8, seed=2)
    extra = tmp_path / "extra.csv"
    with extra.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "Content", *SYNTHETIC_ASPECTS])
        writer.writerows([i, t, "Positive", "", "", ""] for i, t in enumerate(texts))
    plain = write_labelled(tmp_path / "plain.csv", "Content")
    code, out_extra, err = run_cli(
        ["evaluate", str(content_model), str(extra), "--no-plots"], capsys
    )
    assert code == 0, err
    assert "not scored: column(s) 'id'" in err
    code, out_plain, err = run_cli(
        ["evaluate", str(content_model), str(plain), "--no-plots"], capsys
    )
    assert code == 0, err
    assert out_extra.replace("extra.csv", "plain.csv") == out_plain  # the same scores
    missing = tmp_path / "missing.csv"
    with missing.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Content", *SYNTHETIC_ASPECTS[:-1]])
        writer.writerows([t, "Positive", "", ""] for t in texts)
    code, _, err = run_cli(["evaluate", str(content_model), str(missing), "--no-plots"], capsys)
    assert code == 2
    assert_one_line_error(err, f"no column for the model's aspect {SYNTHETIC_ASPECTS[-1]!r}")
    assert "data." not in err

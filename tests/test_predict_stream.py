"""Streaming ``acsa predict`` (acsa.batch): chunked reading of every format, the output
layouts, resume after an interruption and after a real kill, the guards around partial
outputs, one-line errors, and memory that stays flat as the input grows."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from acsa import api
from acsa.batch import PredictOptions, StreamSummary, predict_stream
from acsa.batch.manifest import manifest_path, partial_path
from acsa.batch.output import FileSink
from acsa.batch.readers import chunks, open_input, read_texts
from acsa.data.label_space import CANONICAL_CLASSES
from acsa.errors import DataError
from tests.conftest import require_module
from tests.helpers.serving import (
    SYNTHETIC_ASPECTS,
    acsa_command,
    acsa_env,
    sample_reviews,
    shared_tiny_model,
)
from tests.test_cli import assert_one_line_error, run_cli

# reviews that stress the readers: commas, quotes, a newline inside a CSV field,
# Vietnamese, an emoji, an empty review
TRICKY = [
    'pin trâu, "rất" tốt',
    "giao hàng\nchậm, đóng gói kém",
    "màn hình đẹp 😀",
    "",
    "  camera ổn  ",
]


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return shared_tiny_model()


@pytest.fixture(scope="module")
def predictor(model_dir: Path) -> api.Predictor:
    return api.load(model_dir)


def stream(model_dir: Path, input_path: Path, **options: Any) -> StreamSummary:
    """``predict_stream`` on an input file, with :class:`PredictOptions` as keywords."""
    return predict_stream(model_dir, PredictOptions(source=input_path, **options))


def reviews(count: int = 53, seed: int = 3) -> list[str]:
    return sample_reviews(count, seed) + TRICKY


def write_input(path: Path, texts: list[str], fmt: str, column: str = "data") -> Path:
    if fmt == "csv":
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["id", column, "Battery"])
            writer.writerows([i, t, ""] for i, t in enumerate(texts))
    elif fmt == "jsonl":
        lines = [json.dumps({"id": i, "text": t}, ensure_ascii=False) for i, t in enumerate(texts)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif fmt == "txt":
        path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    else:
        require_module("pyarrow", "parquet")
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({"id": list(range(len(texts))), column: texts})
        pq.write_table(table, path, row_group_size=17)  # several row groups
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


# ---------------------------------------------------------------- reading


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "txt", "parquet"])
def test_each_format_is_read_in_chunks_in_order(tmp_path: Path, fmt: str) -> None:
    texts = reviews()
    if fmt == "txt":  # one review per line: no newline inside, blank lines skipped
        texts = [" ".join(t.split()) for t in texts if t.strip()]
    path = write_input(tmp_path / f"in.{fmt}", texts, fmt)
    spec = open_input(path)
    assert list(read_texts(spec)) == texts
    pieces = list(chunks(read_texts(spec), 7))
    assert [len(p) for p in pieces] == [7] * (len(texts) // 7) + [len(texts) % 7]
    assert [t for p in pieces for t in p] == texts
    assert list(chunks(read_texts(spec), 7, skip=3)) == pieces[3:]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "txt", "parquet"])
def test_chunked_predictions_are_todays_records(
    tmp_path: Path, fmt: str, model_dir: Path, predictor: api.Predictor
) -> None:
    """A chunk size smaller than the input gives the records of the whole-list prediction."""
    texts = [t for t in reviews() if t.strip()] if fmt == "txt" else reviews()
    texts = [" ".join(t.split()) for t in texts] if fmt == "txt" else texts
    path = write_input(tmp_path / f"in.{fmt}", texts, fmt)
    out = tmp_path / "out.jsonl"
    summary = stream(model_dir, input_path=path, output=out, chunk_size=8)
    assert summary.rows == len(texts)
    records = read_jsonl(out)
    expected = [p.to_record() for p in predictor.predict(texts)]
    assert [r["text"] for r in records] == texts
    assert [r["aspects"] for r in records] == [e["aspects"] for e in expected]
    for got, want in zip(records, expected, strict=True):
        assert set(got["confidence"]) == set(want["confidence"])
        for aspect, value in got["confidence"].items():
            assert value == pytest.approx(want["confidence"][aspect], abs=2e-4)
    assert not partial_path(out).exists() and not manifest_path(out).exists()


def test_csv_text_column_by_name_and_case(tmp_path: Path) -> None:
    texts = reviews(10)
    path = write_input(tmp_path / "in.csv", texts, "csv", column="Review_Text")
    with pytest.raises(DataError, match=r"no 'data', 'text' or 'review' column.*with text_column$"):
        open_input(path)
    assert list(read_texts(open_input(path, text_column="review_text"))) == texts
    upper = write_input(tmp_path / "upper.csv", texts, "csv", column="TEXT")
    assert open_input(upper).text_column == "TEXT"


# ---------------------------------------------------------------- output layouts


def test_csv_and_parquet_layout(tmp_path: Path, model_dir: Path) -> None:
    require_module("pyarrow", "parquet")
    import pandas as pd

    texts = reviews(30)
    path = write_input(tmp_path / "in.csv", texts, "csv")
    stream(model_dir, input_path=path, output=tmp_path / "o.csv", chunk_size=6)
    stream(model_dir, input_path=path, output=tmp_path / "o.parquet", chunk_size=6)
    raw = (tmp_path / "o.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfdata,") and raw.count(b"\xef\xbb\xbf") == 1
    table = pd.read_csv(tmp_path / "o.csv", encoding="utf-8-sig", keep_default_na=False)
    parquet = pd.read_parquet(tmp_path / "o.parquet")
    probability_columns = [f"prob_{a}_{c}" for a in SYNTHETIC_ASPECTS for c in CANONICAL_CLASSES]
    assert list(table.columns) == ["data", "empty", *SYNTHETIC_ASPECTS, *probability_columns]
    assert list(parquet.columns) == list(table.columns)
    assert table["data"].tolist() == texts == parquet["data"].tolist()
    blank = [not t.strip() for t in texts]
    assert table["empty"].tolist() == blank == parquet["empty"].tolist() and any(blank)
    for aspect in SYNTHETIC_ASPECTS:
        assert set(table[aspect]) <= {"", "Positive", "Negative", "Neutral"}
        assert table[aspect].tolist() == parquet[aspect].tolist()
    np.testing.assert_array_equal(table[probability_columns], parquet[probability_columns])
    import pyarrow.parquet as pq

    assert pq.ParquetFile(tmp_path / "o.parquet").metadata.num_row_groups == 6  # one per chunk


def test_json_probabilities_are_the_servers(tmp_path: Path, model_dir: Path) -> None:
    path = write_input(tmp_path / "in.txt", ["pin tốt", "giá rẻ"], "txt")
    out = tmp_path / "o.jsonl"
    stream(model_dir, input_path=path, output=out, probabilities=True)
    records = read_jsonl(out)
    expected = [p.to_payload() for p in api.load(model_dir).predict(["pin tốt", "giá rẻ"])]
    assert records == expected
    assert set(records[0]["probabilities"]) == set(SYNTHETIC_ASPECTS)


def test_cli_keeps_todays_text_lines_and_stdout(
    tmp_path: Path, model_dir: Path, capsys: Any
) -> None:
    path = write_input(tmp_path / "in.txt", ["pin tốt", "giao hàng nhanh"], "txt")
    code, out, err = run_cli(["predict", str(model_dir), "--input", str(path)], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["pin tốt", "giao hàng nhanh"]
    target = tmp_path / "o.txt"
    code, _, err = run_cli(
        ["predict", str(model_dir), "-i", str(path), "-o", str(target), "--chunk-size", "1"],
        capsys,
    )
    assert code == 0, err
    assert target.read_text(encoding="utf-8").splitlines() == lines
    assert "2 reviews" in err and "reviews/s" in err


# ---------------------------------------------------------------- resume


class Interrupted(Exception):
    pass


def interrupt_after(monkeypatch: pytest.MonkeyPatch, chunks_written: int) -> None:
    """Make the file output fail (as a kill would stop it) once ``chunks_written`` are done."""
    original = FileSink.write

    def write(self: FileSink, chunk: Any) -> None:
        if self.manifest.chunks_done >= chunks_written:
            raise Interrupted
        original(self, chunk)

    monkeypatch.setattr(FileSink, "write", write)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_resume_after_an_interruption_equals_an_uninterrupted_run(
    tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    if fmt == "parquet":
        require_module("pyarrow", "parquet")
    path = write_input(tmp_path / "in.csv", reviews(60), "csv")
    whole = tmp_path / f"whole.{fmt}"
    stream(model_dir, input_path=path, output=whole, chunk_size=9)
    out = tmp_path / f"out.{fmt}"
    with monkeypatch.context() as patch:
        interrupt_after(patch, 3)
        with pytest.raises(Interrupted):
            stream(model_dir, input_path=path, output=out, chunk_size=9)
    assert not out.exists() and partial_path(out).exists()
    if fmt != "parquet":  # the chunk being written when the run stopped, half on disk
        with partial_path(out).open("ab") as fh:
            fh.write(b"half a chunk")
    with pytest.raises(DataError, match="pass resume=True"):
        stream(model_dir, input_path=path, output=out, chunk_size=9)
    summary = stream(model_dir, input_path=path, output=out, chunk_size=9, resume=True)
    assert summary.rows_before == 27 and summary.rows == len(reviews(60)) - 27
    if fmt == "parquet":
        import pandas as pd

        assert pd.read_parquet(out).equals(pd.read_parquet(whole))
    else:
        assert out.read_bytes() == whole.read_bytes()
    assert not partial_path(out).exists() and not manifest_path(out).exists()


def test_resume_refuses_another_setup(
    tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    path = write_input(tmp_path / "in.csv", reviews(30), "csv")
    out = tmp_path / "out.csv"
    with monkeypatch.context() as patch:
        interrupt_after(patch, 1)
        with pytest.raises(Interrupted):
            stream(model_dir, input_path=path, output=out, chunk_size=5)
    args = ["predict", str(model_dir), "-i", str(path), "-o", str(out), "--resume"]
    code, _, err = run_cli([*args, "--chunk-size", "6"], capsys)
    assert code == 2
    assert_one_line_error(err, "cannot resume", "chunk size (--chunk-size) 5", "this one 6")
    other = write_input(tmp_path / "other.csv", reviews(31), "csv")
    code, _, err = run_cli([*args[:3], str(other), *args[4:], "--chunk-size", "5"], capsys)
    assert code == 2
    assert_one_line_error(err, "cannot resume", "input file")
    code, _, err = run_cli(["predict", str(model_dir), "-i", str(path), "-o", str(out)], capsys)
    assert code == 2
    assert_one_line_error(err, "out.csv.partial", "--resume", "remove")
    # the rows done ran on PyTorch (this folder has no model.onnx): not mixed with ONNX rows
    code, _, err = run_cli([*args, "--chunk-size", "5", "--runtime", "onnx"], capsys)
    assert code == 2
    assert_one_line_error(err, "cannot resume", "runtime (--runtime) 'torch'", "this one 'onnx'")
    # a progress file written before the runtime was recorded resumes as before
    manifest = json.loads(manifest_path(out).read_text(encoding="utf-8"))
    assert manifest["setup"].pop("runtime") == "torch"
    manifest_path(out).write_text(json.dumps(manifest), encoding="utf-8")
    code, _, err = run_cli([*args, "--chunk-size", "5"], capsys)
    assert code == 0, err
    assert "after 5 done before" in err


def test_existing_output_needs_overwrite_and_resume_without_partial_starts_afresh(
    tmp_path: Path, model_dir: Path, capsys: Any
) -> None:
    path = write_input(tmp_path / "in.jsonl", reviews(12), "jsonl")
    out = tmp_path / "out.jsonl"
    base = ["predict", str(model_dir), "-i", str(path), "-o", str(out)]
    code, _, err = run_cli([*base, "--resume"], capsys)  # nothing to resume: a fresh run
    assert code == 0, err
    first = out.read_bytes()
    code, _, err = run_cli(base, capsys)
    assert code == 2
    assert_one_line_error(err, "out.jsonl: exists", "--overwrite")
    code, _, err = run_cli([*base, "--overwrite"], capsys)
    assert code == 0, err
    assert out.read_bytes() == first


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("name", "content", "args", "fragments"),
    [
        (
            "bad.jsonl",
            '{"text": "a"}\n\n{"text": oops}\n',
            [],
            ["bad.jsonl: line 3", "invalid JSON"],
        ),
        ("nofield.jsonl", '{"review": "a"}\n', [], ["line 1", "'text' string"]),
        ("cols.csv", "id,body\n1,a\n", [], ["cols.csv", "no 'data', 'text' or 'review' column"]),
        ("cols2.csv", "id,data\n1,a\n", ["--text-column", "body"], ["no column 'body'"]),
        ("empty.csv", "", [], ["empty.csv", "empty CSV file"]),
        ("reviews.xlsx", "x", [], ["unknown input format '.xlsx'", "--input-format"]),
        ("latin.txt", None, [], ["latin.txt: line 1", "not UTF-8"]),
    ],
)
def test_input_errors_are_one_line(
    tmp_path: Path,
    model_dir: Path,
    capsys: Any,
    name: str,
    content: str | None,
    args: list[str],
    fragments: list[str],
) -> None:
    path = tmp_path / name
    if content is None:
        path.write_bytes("café".encode("latin-1"))
    else:
        path.write_text(content, encoding="utf-8")
    out = tmp_path / "out.csv"
    code, _, err = run_cli(
        ["predict", str(model_dir), "-i", str(path), "-o", str(out), *args], capsys
    )
    assert code == 2
    assert_one_line_error(err, *fragments)


def test_option_errors_are_one_line(tmp_path: Path, model_dir: Path, capsys: Any) -> None:
    path = write_input(tmp_path / "in.txt", ["pin tốt"], "txt")
    cases = [
        (["--format", "xml", "-o", str(tmp_path / "o")], ["unknown format 'xml'"]),
        (["--format", "parquet"], ["give --output"]),
        (["--resume"], ["--resume needs --output"]),
        (["--json", "--format", "csv"], ["--json", "contradicts --format csv"]),
        (["--format", "xml", "-o", str(tmp_path / "o")], ["error: --format: unknown format"]),
        (["--input-format", "doc"], ["error: --input-format: unknown format 'doc'"]),
        (["--keep-columns", "id"], ["no columns to keep; drop --keep-columns"]),
        # once a usage box from typer; now the project's one line, exit 2
        (["--chunk-size", "0"], ["error: --chunk-size: expected a positive integer, got 0"]),
        (["--batch-size", "-1"], ["error: --batch-size: expected a positive integer"]),
        (["--threads", "0"], ["error: --threads: expected a positive integer"]),
        (["--top-k", "0"], ["error: --top-k: expected a positive integer"]),
        (["--engine", "spark"], ["error: --engine: expected local or ray, got 'spark'"]),
        (["--num-actors", "2"], ["error: --address and --num-actors need --engine ray"]),
        (["--text", "pin"], ["error: give either --text (one or more) or --input FILE"]),
        (["--explain", "--onnx"], ["error: --explain with --runtime onnx is not supported"]),
    ]
    for args, fragments in cases:
        code, _, err = run_cli(["predict", str(model_dir), "-i", str(path), *args], capsys)
        assert code == 2, args
        assert_one_line_error(err, *fragments)


def test_python_callers_read_the_keyword_not_the_flag(tmp_path: Path, model_dir: Path) -> None:
    from acsa.batch import PredictOptions, predict_stream

    path = write_input(tmp_path / "in.txt", ["pin tốt"], "txt")
    cases = [
        ({"format": "xml"}, "^format: unknown format 'xml'"),
        ({"as_json": True, "format": "csv"}, r"^as_json=True writes .* format='csv'$"),
        ({"format": "parquet"}, r"^format='parquet' writes a file: give output='FILE.parquet'$"),
        ({"keep_columns": ("id",)}, "no columns to keep; drop keep_columns$"),
    ]
    for given, message in cases:
        with pytest.raises(DataError, match=message):
            predict_stream(model_dir, PredictOptions(source=path, **given))


# ---------------------------------------------------------------- real processes


def _big_input(path: Path, count: int) -> Path:
    base = sample_reviews(500, 11)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["data"])
        writer.writerows([base[i % len(base)] + f" {i}"] for i in range(count))
    return path


@pytest.mark.slow
def test_resume_after_sigkill_is_byte_identical(tmp_path: Path, model_dir: Path) -> None:
    """``acsa predict`` killed with SIGKILL mid-run, then ``--resume``: the same bytes."""
    if not hasattr(signal, "SIGKILL"):
        pytest.skip("SIGKILL is POSIX")
    path = _big_input(tmp_path / "in.csv", 30_000)
    args = ["predict", str(model_dir), "-i", str(path), "--chunk-size", "200", "--threads", "1"]
    whole = tmp_path / "whole.csv"
    subprocess.run(acsa_command(*args, "-o", str(whole)), env=acsa_env(), check=True, timeout=300)
    out = tmp_path / "out.csv"
    proc = subprocess.Popen(
        acsa_command(*args, "-o", str(out)),
        env=acsa_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    manifest = manifest_path(out)
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            done = json.loads(manifest.read_text(encoding="utf-8"))["chunks_done"]
        except (OSError, ValueError, KeyError):
            done = 0
        if done >= 5:
            break
        time.sleep(0.01)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert not out.exists() and partial_path(out).exists()
    resumed = subprocess.run(
        acsa_command(*args, "-o", str(out), "--resume"),
        env=acsa_env(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "done before" in resumed.stderr
    assert out.read_bytes() == whole.read_bytes()


def _peak_rss_mib(args: list[str]) -> float:
    """Peak resident memory of an ``acsa`` subprocess (and its children), in MiB."""
    probe = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, *acsa_command(*args)],
        env=acsa_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return int(proc.stdout.split()[-1]) / 1024  # ru_maxrss is in KiB on Linux


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss units differ off Linux")
def test_memory_stays_flat_as_the_input_grows(tmp_path: Path, model_dir: Path) -> None:
    small = _big_input(tmp_path / "small.csv", 5_000)
    large = _big_input(tmp_path / "large.csv", 100_000)  # about 20x the rows
    peaks = {}
    for name, path in (("small", small), ("large", large)):
        peaks[name] = _peak_rss_mib(
            ["predict", str(model_dir), "-i", str(path), "-o", str(tmp_path / f"{name}_out.csv")]
        )
    print(f"peak RSS: {peaks}")
    assert peaks["large"] < 1536
    assert peaks["large"] < peaks["small"] * 1.25 + 30


def test_progress_bar_counts_reviews_rate_and_eta(capsys: Any) -> None:
    from acsa.batch.progress import PredictProgress

    with PredictProgress(True, rows_before=10) as bar:
        bar.update(100, 0.25)
        time.sleep(0.05)
        bar.update(100, 0.5)
    err = capsys.readouterr().err
    assert "210 reviews" in err and "reviews/s" in err and "50.0%" in err
    assert "ETA 0:00:00" in err  # a quarter of the input in 0.05 s: the rest in about as long
    with PredictProgress(False) as quiet:
        quiet.update(5, 1.0)
    assert capsys.readouterr().err == "" and quiet.rows == 5


def test_engine_options_and_a_missing_ray(
    tmp_path: Path, model_dir: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_input(tmp_path / "in.txt", ["pin tốt"], "txt")
    for command in (
        ["predict", str(model_dir), "-i", str(path), "--num-actors", "2"],
        ["compare", "c.yaml", "--variants", "v.yaml", "--address", "h:6379"],
    ):
        code, _, err = run_cli(command, capsys)
        assert code == 2 and "need --engine ray" in err, err
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    out = tmp_path / "o.csv"
    code, _, err = run_cli(
        ["predict", str(model_dir), "-i", str(path), "-o", str(out), "--engine", "ray"], capsys
    )
    assert code == 2
    assert_one_line_error(err, "--engine ray needs the Python package 'ray'", "acsa[ray]")
    assert not partial_path(out).exists() and not manifest_path(out).exists()

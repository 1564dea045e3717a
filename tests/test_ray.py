"""The Ray engines against a local Ray started here: ``acsa predict --engine ray`` gives the
local engine's bytes (order kept over several actors, resume included), and ``acsa compare
--engine ray`` gives the local pool's report. One Ray for the module (starting one costs
seconds); usage statistics off, no dashboard."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from acsa.batch.manifest import partial_path
from acsa.errors import DataError
from tests.conftest import PROJECT_ROOT, require_module
from tests.helpers.serving import shared_tiny_model
from tests.test_predict_stream import Interrupted, interrupt_after, reviews, stream, write_input

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_local() -> Iterator[Any]:
    require_module("ray", "ray")
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    # the workers import this checkout (src) and the tests' picklable run functions
    paths = [str(PROJECT_ROOT / "src"), str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]
    previous = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()
        if previous is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = previous


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return shared_tiny_model()


def test_ray_engine_equals_the_local_engine(
    ray_local: Any, tmp_path: Path, model_dir: Path
) -> None:
    """Several chunks over 2 actors: the same CSV bytes, rows in input order."""
    path = write_input(tmp_path / "in.csv", reviews(200, seed=5), "csv")
    local, remote = tmp_path / "local.csv", tmp_path / "ray.csv"
    stream(model_dir, input_path=path, output=local, chunk_size=17, threads=1)
    summary = stream(
        model_dir, input_path=path, output=remote, chunk_size=17, engine="ray", num_actors=2
    )
    assert summary.engine == "ray" and summary.rows == len(reviews(200, seed=5))
    assert remote.read_bytes() == local.read_bytes()


@pytest.mark.parametrize(("fmt", "out_fmt"), [("csv", "parquet"), ("parquet", "jsonl")])
def test_ray_engine_keeps_every_row_and_the_kept_columns(
    ray_local: Any, tmp_path: Path, model_dir: Path, fmt: str, out_fmt: str
) -> None:
    """Blank, duplicate and long rows, kept columns: the local engine's output, row for row."""
    from tests.test_predict_rows import awkward_texts, read_output, text_of, write_rows

    if "parquet" in (fmt, out_fmt):
        require_module("pyarrow", "parquet")
    texts = awkward_texts()
    path = write_rows(tmp_path / f"in.{fmt}", texts, fmt)
    local, remote = tmp_path / f"local.{out_fmt}", tmp_path / f"ray.{out_fmt}"
    options = {"keep_columns": ("all",), "chunk_size": 4, "threads": 1}
    stream(model_dir, input_path=path, output=local, **options)
    stream(model_dir, input_path=path, output=remote, engine="ray", num_actors=2, **options)
    rows = read_output(remote)
    assert [text_of(r) for r in rows] == texts
    assert [r["id"] for r in rows] == [f"r{i}" for i in range(len(texts))]
    assert rows == read_output(local)


def test_ray_engine_resumes_a_local_run_and_reports_input_errors(
    ray_local: Any, tmp_path: Path, model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_input(tmp_path / "in.jsonl", reviews(80, seed=6), "jsonl")
    whole, out = tmp_path / "whole.jsonl", tmp_path / "out.jsonl"
    stream(model_dir, input_path=path, output=whole, chunk_size=10, threads=1)
    with monkeypatch.context() as patch:
        interrupt_after(patch, 4)
        with pytest.raises(Interrupted):
            stream(model_dir, input_path=path, output=out, chunk_size=10, threads=1)
    assert partial_path(out).exists()
    summary = stream(
        model_dir, input_path=path, output=out, chunk_size=10, resume=True, engine="ray"
    )
    assert summary.rows_before == 40
    assert out.read_bytes() == whole.read_bytes()
    # an error found by the reader inside Ray is the same one line as locally
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a"}\n' * 30 + "{oops\n", encoding="utf-8")
    with pytest.raises(DataError) as info:
        stream(model_dir, input_path=bad, output=tmp_path / "b.csv", engine="ray")
    assert str(info.value).startswith(f"{bad}: line 31: invalid JSON (")


def _report_shape(value: Any) -> Any:
    """The keys of a nested report (values dropped): the structure to compare."""
    if isinstance(value, dict):
        return {k: _report_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_report_shape(v) for v in value[:1]]
    return type(value).__name__


def test_ray_compare_gives_the_local_pools_report(ray_local: Any, tmp_path: Path) -> None:
    from acsa.compare import RayExecutor, compare
    from tests.test_compare import STANDARD, _variants_file, fake_run

    variants = _variants_file(tmp_path, STANDARD[:2])
    common = dict(seeds=3, run_one=fake_run, n_boot=200, plots=False, progress=lambda _: None)
    local = compare(None, variants, output_dir=tmp_path / "local", **common)
    remote = compare(None, variants, output_dir=tmp_path / "ray", executor=RayExecutor(), **common)
    assert not remote.failed and len(remote.records) == 6
    assert _report_shape(remote.report) == _report_shape(local.report)
    assert remote.report["vs_baseline"] == local.report["vs_baseline"]
    for name in ("comparison.json", "comparison.md"):
        assert (tmp_path / "ray" / name).is_file()
    saved = json.loads((tmp_path / "ray" / "comparison.json").read_text(encoding="utf-8"))
    assert [r["variant"] for r in saved["runs"]] == [r["variant"] for r in local.report["runs"]]
    # resume: finished Ray runs are reused, nothing runs again
    lines: list[str] = []
    again = compare(
        None,
        variants,
        output_dir=tmp_path / "ray",
        executor=RayExecutor(),
        **{**common, "progress": lines.append},
    )
    assert any("reusing 6 finished run(s)" in line for line in lines)
    assert again.report["vs_baseline"] == local.report["vs_baseline"]

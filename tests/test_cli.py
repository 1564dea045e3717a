"""The ``acsa`` command line: exit codes, one-line errors, output formats."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from acsa.cli import main
from tests.test_training import ASPECTS, TINY_OFFLINE, synthetic_rows, write_synthetic_data

ROOT = Path(__file__).resolve().parents[1]


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    code = info.value.code
    return (0 if code is None else int(code)), out, err


def assert_one_line_error(err: str, *fragments: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_data(tmp_path_factory.mktemp("cli_data"), sizes=(60, 20, 20))


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained tiny model saved with save_pretrained: enough for format tests."""
    import torch

    from acsa.data import LabelSpace
    from acsa.models import build_model

    torch.manual_seed(0)
    texts = [r["data"] for r in synthetic_rows(50, 1)]
    model, _ = build_model(TINY_OFFLINE, LabelSpace(tuple(ASPECTS)), texts)
    return model.save_pretrained(tmp_path_factory.mktemp("model"))


def write_config(folder: Path, data_dir: Path, extra: str = "") -> Path:
    path = folder / "config.yaml"
    aspects = ", ".join(ASPECTS)
    path.write_text(
        f"data: {{dir: {data_dir}, train: train.csv, validation: validation.csv, "
        f"test: test.csv, aspects: [{aspects}]}}\n"
        f"output: {{dir: {folder / 'run'}}}\n" + extra,
        encoding="utf-8",
    )
    return path


def test_bad_config_exits_2_with_one_line(tmp_path: Path, data_dir: Path, capsys: Any) -> None:
    config = write_config(tmp_path, data_dir, "loss: {type: ghm, ghm_momentun: 0.75}\n")
    code, _, err = run_cli(["train", str(config)], capsys)
    assert code == 2
    assert_one_line_error(err, "config.yaml: loss.ghm_momentun: unknown key")
    assert not (tmp_path / "run").exists()


def test_missing_config_file(tmp_path: Path, capsys: Any) -> None:
    code, _, err = run_cli(["train", str(tmp_path / "absent.yaml")], capsys)
    assert code == 2
    assert_one_line_error(err, "absent.yaml", "not found")


def test_missing_data_file_writes_nothing(tmp_path: Path, data_dir: Path, capsys: Any) -> None:
    config = write_config(tmp_path, tmp_path / "no_data")
    code, _, err = run_cli(["train", str(config)], capsys)
    assert code == 2
    assert_one_line_error(err, "train.csv")
    assert not (tmp_path / "run").exists()


def test_output_that_is_a_file(tmp_path: Path, data_dir: Path, capsys: Any) -> None:
    config = write_config(tmp_path, data_dir)
    blocker = tmp_path / "blocker"
    blocker.write_text("x", encoding="utf-8")
    code, _, err = run_cli(["train", str(config), "--output", str(blocker / "run")], capsys)
    assert code == 2
    assert_one_line_error(err, "output.dir", "is a file")


@pytest.fixture
def locked_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder the current user, root included, cannot write into."""
    from tests.helpers.permissions import lock, unlock

    locked = tmp_path / "locked"
    locked.mkdir()
    lock(locked)
    try:
        yield locked
    finally:
        unlock(locked)


def test_unwritable_output(
    locked_dir: Path, tmp_path: Path, data_dir: Path, saved_model: Path, capsys: Any
) -> None:
    config = write_config(tmp_path, data_dir)
    code, _, err = run_cli(["train", str(config), "--output", str(locked_dir / "run")], capsys)
    assert code == 2
    assert_one_line_error(err, "output.dir", "not writable", str(locked_dir))
    test_csv = str(data_dir / "test.csv")
    code, _, err = run_cli(
        ["evaluate", str(saved_model), test_csv, "--output", str(locked_dir / "eval")], capsys
    )
    assert code == 2
    # evaluate has no config key for its folder: the error names its option
    assert_one_line_error(err, "error: --output:", "not writable", "choose another --output")
    assert list(locked_dir.iterdir()) == []


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_output_that_cannot_be_created(tmp_path: Path, data_dir: Path, capsys: Any) -> None:
    # /proc refuses new entries to everyone, root included, although root passes os.access
    config = write_config(tmp_path, data_dir)
    code, _, err = run_cli(["train", str(config), "--output", "/proc/acsa-run/out"], capsys)
    assert code == 2
    assert_one_line_error(err, "output.dir", "/proc/acsa-run/out")
    assert not Path("/proc/acsa-run").exists()


def test_write_check_leaves_nothing_behind(tmp_path: Path) -> None:
    from acsa.files import check_writable_dir

    check_writable_dir(tmp_path / "new" / "run")
    assert list(tmp_path.iterdir()) == []


def test_usage_errors_exit_2(capsys: Any) -> None:
    code, _, _ = run_cli(["train"], capsys)
    assert code == 2
    code, _, _ = run_cli(["no-such-command"], capsys)
    assert code == 2


def test_help_lists_commands(capsys: Any) -> None:
    code, out, _ = run_cli(["--help"], capsys)
    assert code == 0
    for command in ("train", "evaluate", "predict", "validate-data"):
        assert command in out


def test_predict_text_lines(saved_model: Path, capsys: Any) -> None:
    code, out, err = run_cli(
        ["predict", str(saved_model), "--text", "pin tốt", "--text", "giao hàng\nchậm"], capsys
    )
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2
    for line, text in zip(lines, ("pin tốt", "giao hàng chậm"), strict=True):
        review, labels = line.split("\t")
        assert review == text
        assert labels == "(no aspect mentioned)" or all(
            part.split(": ")[0] in ASPECTS
            and part.split(": ")[1] in ("negative", "neutral", "positive")
            for part in labels.split("; ")
        )


def test_predict_json_from_csv_to_file(
    saved_model: Path, data_dir: Path, tmp_path: Path, capsys: Any
) -> None:
    target = tmp_path / "out.jsonl"
    code, out, err = run_cli(
        [
            "predict",
            str(saved_model),
            "--input",
            str(data_dir / "test.csv"),
            "--json",
            "--output",
            str(target),
        ],
        capsys,
    )
    assert code == 0, err
    assert out == ""
    records = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 20
    for record in records:
        assert set(record) == {"text", "aspects", "confidence", "empty"}
        assert set(record["aspects"]) <= set(ASPECTS)
        assert set(record["confidence"]) == set(record["aspects"])


def test_predict_needs_exactly_one_source(saved_model: Path, capsys: Any) -> None:
    code, _, _ = run_cli(["predict", str(saved_model)], capsys)
    assert code == 2


def test_predict_missing_model(tmp_path: Path, capsys: Any) -> None:
    code, _, err = run_cli(["predict", str(tmp_path / "nothing"), "--text", "x"], capsys)
    assert code == 2
    assert_one_line_error(err, "nothing")


def test_evaluate_writes_report(
    saved_model: Path, data_dir: Path, tmp_path: Path, capsys: Any
) -> None:
    out_dir = tmp_path / "report"
    code, out, err = run_cli(
        [
            "evaluate",
            str(saved_model),
            str(data_dir / "test.csv"),
            "--output",
            str(out_dir),
            "--no-plots",
        ],
        capsys,
    )
    assert code == 0, err
    metrics = json.loads((out_dir / "metrics.json").read_text(encoding="utf-8"))
    assert {"pair_f1", "aspect_f1", "per_aspect"} <= set(metrics)
    assert (out_dir / "predictions.csv").is_file()
    assert "Metrics on test.csv" in out


def test_validate_data_reports_counts(tmp_path: Path, data_dir: Path, capsys: Any) -> None:
    config = write_config(tmp_path, data_dir)
    code, out, err = run_cli(["validate-data", str(config), "--json"], capsys)
    assert code == 0, err
    report = json.loads(out)
    assert set(report["splits"]) == {"train", "validation", "test"}
    assert set(report["splits"]["train"]["label_counts"]) == set(ASPECTS)
    assert not (tmp_path / "run").exists()


def test_validate_data_rejects_unknown_label(tmp_path: Path, capsys: Any) -> None:
    from tests.test_training import write_csv

    folder = write_synthetic_data(tmp_path / "data", sizes=(10, 5, 5))
    rows = synthetic_rows(10, 0)
    rows[3]["Price"] = "Posititve"
    write_csv(folder / "train.csv", rows, ["data", *ASPECTS])
    config = write_config(tmp_path, folder)
    code, _, err = run_cli(["validate-data", str(config)], capsys)
    assert code == 2
    assert_one_line_error(err, "train.csv", "Price", "Posititve")


def test_console_script_one_line_error(tmp_path: Path) -> None:
    """The installed entry point (a subprocess): exit 2, one stderr line, no traceback."""
    config = tmp_path / "bad.yaml"
    config.write_text("data: {train: t.csv}\ntraining: {learning_rate: -0.1}\n", encoding="utf-8")
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "acsa", "train", str(config)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: bad.yaml: training.learning_rate: must be > 0, got -0.1")
    assert time.perf_counter() - started < 60


@pytest.mark.slow
def test_predict_full_test_split_under_10_s(shared_data_dir: Path, tmp_path: Path) -> None:
    """``acsa predict`` on the 1,492 test reviews, quickstart-sized model, start-up included."""
    import torch

    from acsa.data import load_split, resolve_aspects
    from acsa.models import build_model
    from acsa.training.config import load_config

    config = load_config(ROOT / "configs" / "quickstart.yaml", {"data.dir": str(shared_data_dir)})
    data_config = resolve_aspects(config.data, ROOT)
    train = load_split(data_config.train, data_config)
    torch.manual_seed(0)
    model, _ = build_model(config.model, data_config.label_space, train.texts)
    model_dir = model.save_pretrained(tmp_path / "model")
    started = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "acsa",
            "predict",
            str(model_dir),
            "--input",
            str(shared_data_dir / "test.csv"),
            "--output",
            str(tmp_path / "out.txt"),
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    elapsed = time.perf_counter() - started
    assert proc.returncode == 0, proc.stderr
    assert len((tmp_path / "out.txt").read_text(encoding="utf-8").splitlines()) == 1492
    print(f"acsa predict on test.csv: {elapsed:.1f} s")
    assert elapsed < 10

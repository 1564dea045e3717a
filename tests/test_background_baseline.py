"""The TF-IDF baseline fitted in a second process while the network trains."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from acsa.data import LabeledReviews
from acsa.training.background_baseline import BackgroundBaseline
from acsa.training.config import TrainingConfig
from acsa.training.finish import fit_run_baseline_model

ASPECTS = ("Battery", "Camera")
BASE = [
    ("pin tốt lắm", [3, 0]),
    ("pin rất tốt", [3, 0]),
    ("pin kém quá", [1, 0]),
    ("pin kém hao nhanh", [1, 0]),
    ("camera đẹp", [0, 3]),
    ("camera chụp đẹp lắm", [0, 3]),
    ("camera mờ", [0, 1]),
    ("camera xấu quá", [0, 1]),
]


def _reviews(repeat: int, offset: int = 0) -> LabeledReviews:
    texts = [f"{t} {i + offset}" for i in range(repeat) for t, _ in BASE]
    labels = np.array([lab for _ in range(repeat) for _, lab in BASE], dtype=np.int64)
    return LabeledReviews(
        texts=texts,
        labels=labels,
        mask=np.ones_like(labels, dtype=bool),
        source=Path("x.csv"),
        rows=list(range(len(texts))),
        aspects=ASPECTS,
    )


SPLITS = {"train": _reviews(4), "validation": _reviews(2, 10), "test": _reviews(2, 20)}


def test_the_worker_fits_what_the_run_would_fit_itself() -> None:
    training = TrainingConfig(decision_thresholds=False)
    with BackgroundBaseline(training, SPLITS) as background:
        run = background.result()
    here = fit_run_baseline_model(training, SPLITS)
    assert run is not None and here is not None
    np.testing.assert_allclose(run.probabilities["test"], here.probabilities["test"], atol=1e-6)
    assert run.metrics["test"]["pair_f1"] == here.metrics["test"]["pair_f1"]
    assert background._process.poll() is not None
    assert not background._folder.exists()  # the job and result files are removed


def test_the_job_folder_is_private_to_this_user() -> None:
    # the worker and the run hand each other pickles through it (not a user's file)
    with BackgroundBaseline(TrainingConfig(decision_thresholds=False), SPLITS) as background:
        assert background._folder.stat().st_mode & 0o777 == 0o700
        background.result()


def test_an_error_in_the_worker_is_raised_in_the_run() -> None:
    bad = dict(SPLITS)
    bad["test"] = LabeledReviews(
        texts=["pin tốt"],
        labels=np.zeros((1, 1), dtype=np.int64),
        mask=np.ones((1, 1), dtype=bool),
        source=Path("y.csv"),
        rows=[0],
        aspects=("Battery",),
    )
    with BackgroundBaseline(TrainingConfig(decision_thresholds=False), bad) as background:
        with pytest.raises(ValueError, match="aspects"):
            background.result()


def test_a_worker_that_dies_is_replaced_by_a_fit_here(caplog: pytest.LogCaptureFixture) -> None:
    training = TrainingConfig(decision_thresholds=False)
    background = BackgroundBaseline(training, SPLITS)
    background._process.kill()
    with caplog.at_level("WARNING"):
        run = background.result()
    assert run is not None and run.metrics["test"]["pair_f1"] > 0
    assert "without a result" in caplog.text


def test_leaving_the_block_by_an_error_stops_the_worker() -> None:
    with pytest.raises(KeyboardInterrupt):
        with BackgroundBaseline(TrainingConfig(), SPLITS) as background:
            raise KeyboardInterrupt
    deadline = time.monotonic() + 10
    while background._process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert background._process.poll() is not None


def test_no_baseline_means_no_worker_result() -> None:
    with BackgroundBaseline(TrainingConfig(baseline=False), SPLITS) as background:
        assert background.result() is None


def test_a_script_without_a_main_guard_runs_once(tmp_path: Path) -> None:
    # a multiprocessing child would import the user's script again and start a second fit
    script = tmp_path / "user_script.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            sys.path.insert(0, TESTS)
            from test_background_baseline import SPLITS
            from acsa.training.background_baseline import BackgroundBaseline
            from acsa.training.config import TrainingConfig

            print("script body ran", flush=True)
            run = BackgroundBaseline(TrainingConfig(decision_thresholds=False), SPLITS).result()
            print("pair-F1", run.metrics["test"]["pair_f1"] > 0, flush=True)
            """
        ).replace("TESTS", repr(str(Path(__file__).parent))),
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("script body ran") == 1
    assert "pair-F1 True" in done.stdout

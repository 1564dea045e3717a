"""Plant the bugs that once slipped through the test suite (issue 13), one at a time, and
check that the default tests meant for each one now fail.

    python benchmarks/planted_bugs.py

Each bug is a one-line edit in a copy of ``src/``; the copy goes first on ``PYTHONPATH``
and pytest runs the named tests (all in the default, non-slow suite) with ``-x``. The
unmutated tests must pass (checked first). Exit status 1 when a bug goes unnoticed.
The general habit is ``python -m tools.mutation``; this is the list of known escapes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]


class Bug(NamedTuple):
    name: str
    module: str  # relative to src/acsa
    original: str
    planted: str
    tests: tuple[str, ...]


_TRAINING = "tests/test_training.py::test_best_evaluation_is_restored_and_saved_not_the_last"
BUGS = (
    Bug(
        "the saved model is the last epoch's (load_best_model_at_end=False)",
        "training/arguments.py",
        "load_best_model_at_end=True,",
        "load_best_model_at_end=False,",
        (_TRAINING,),
    ),
    Bug(
        "the reported validation scores are the last epoch's",
        "training/run.py",
        'chosen = next((e for e in history if e.get("eval_pair_f1") == best), history[-1])',
        "chosen = history[-1]",
        (_TRAINING,),
    ),
    Bug(
        "the test report swaps gold and prediction",
        "evaluation/scoring.py",
        "compute_metrics(scored.gold, scored.pred,",
        "compute_metrics(scored.pred, scored.gold,",
        ("tests/test_training.py::test_metrics_json_recomputed_from_predictions_and_gold_file",),
    ),
    Bug(
        "auto class weights grow with frequency",
        "losses/_common.py",
        "return counts.sum(-1, keepdim=True) / (counts.shape[-1] * counts)",
        "return (counts.shape[-1] * counts) / counts.sum(-1, keepdim=True)",
        ("tests/test_losses_weights.py",),
    ),
    Bug(
        "the bootstrap's generator is re-created for every chunk",
        "evaluation/significance.py",
        "weights = resample_weights(rng, b, n).astype(np.float64)",
        "weights = resample_weights(np.random.default_rng(seed), b, n).astype(np.float64)",
        ("tests/test_significance.py",),
    ),
    Bug(
        "compare's per-aspect differences shifted by one aspect",
        "compare/analysis.py",
        "col = layout.column(metric, j)",
        "col = layout.column(metric, (j + 1) % len(aspects))",
        ("tests/test_compare.py",),
    ),
)


def _pytest(src: Path, tests: tuple[str, ...]) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(src), OMP_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)


def main() -> int:
    missed = 0
    with tempfile.TemporaryDirectory(prefix="acsa-planted-") as folder:
        for bug in BUGS:
            src = Path(folder) / "src"
            shutil.rmtree(src, ignore_errors=True)
            shutil.copytree(ROOT / "src", src, ignore=shutil.ignore_patterns("__pycache__"))
            target = src / "acsa" / bug.module
            text = target.read_text(encoding="utf-8")
            if text.count(bug.original) != 1:
                print(f"STALE   {bug.name}: the line to mutate is not in {bug.module} once")
                missed += 1
                continue
            if _pytest(src, bug.tests).returncode != 0:
                print(f"BROKEN  {bug.name}: the tests fail without the bug")
                missed += 1
                continue
            target.write_text(text.replace(bug.original, bug.planted), encoding="utf-8")
            caught = _pytest(src, bug.tests).returncode != 0
            missed += not caught
            print(f"{'caught' if caught else 'MISSED'}  {bug.name}", flush=True)
    print(f"{len(BUGS) - missed} of {len(BUGS)} planted bugs caught")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())

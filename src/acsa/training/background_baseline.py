"""The TF-IDF baseline fitted in a second process while the network trains.

The baseline beside a run (:mod:`acsa.training.baseline`) needs only the
splits, and the network's training leaves part of the machine idle (its
Python loop, data collation and evaluation run on one core; see
docs/BENCHMARKS.md). :class:`BackgroundBaseline` starts the fit in a second
process as soon as the data is read, and :meth:`BackgroundBaseline.result`
collects it when the finishing step needs it. A worker that fails for a reason
of its own (killed for memory, a broken pool) is not fatal: the fit is
repeated in this process, as it would have run without the worker.
"""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import TracebackType

    from acsa.data import LabeledReviews
    from acsa.training.baseline import BaselineRun
    from acsa.training.config import TrainingConfig

logger = logging.getLogger(__name__)

_JOB, _RESULT = "job.pickle", "result.pickle"


def fit_run_baseline_in_one_thread(
    training: TrainingConfig, splits: Mapping[str, LabeledReviews]
) -> BaselineRun | None:
    """The run's baseline with BLAS and OpenMP held to one thread (the worker's job).

    One thread, because the worker shares the machine with the network's
    training: threads that spin while they wait for a core would take it from
    the training.
    """
    from threadpoolctl import threadpool_limits

    from acsa.training.finish import fit_run_baseline_model

    with threadpool_limits(limits=1):
        return fit_run_baseline_model(training, splits)


def _work(folder: Path) -> None:
    """The worker: read the job, fit, write ``("ok", run)`` or ``("error", exception)``.

    At a lower priority (nice 10) than the training it serves: it uses the
    cycles the training leaves idle, instead of taking a core from it.
    """
    if hasattr(os, "nice"):
        os.nice(10)
    with (folder / _JOB).open("rb") as f:
        training, splits = pickle.load(f)
    outcome: tuple[str, Any]
    try:
        outcome = ("ok", fit_run_baseline_in_one_thread(training, splits))
    except Exception as exc:  # handed to the parent, which raises it as its own
        outcome = ("error", exc)
    partial = folder / (_RESULT + ".partial")
    with partial.open("wb") as f:
        pickle.dump(outcome, f, protocol=pickle.HIGHEST_PROTOCOL)
    partial.replace(folder / _RESULT)


class BackgroundBaseline:
    """The run's TF-IDF baseline, fitting in a second process from construction on.

    The worker is a new interpreter (``python -m acsa.training.background_baseline``)
    that reads its job from a file, not a :mod:`multiprocessing` child: that
    would import the user's main script again, and a script that calls
    :func:`acsa.training.train` without an ``if __name__ == "__main__"`` guard
    would then train twice. Use it as a context manager: leaving the block by an
    error (Ctrl-C included) stops a fit that is still running.

    Args:
        training: the ``training:`` section (``baseline`` on; the decision-rule options).
        splits: the run's splits, as the network sees them.
    """

    def __init__(self, training: TrainingConfig, splits: Mapping[str, LabeledReviews]) -> None:
        self.training = training
        self.splits = dict(splits)
        self._folder = Path(tempfile.mkdtemp(prefix="acsa-baseline-"))
        with (self._folder / _JOB).open("wb") as f:
            pickle.dump((training, self.splits), f, protocol=pickle.HIGHEST_PROTOCOL)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "acsa.training.background_baseline", str(self._folder)],
            stdin=subprocess.DEVNULL,
        )

    def result(self) -> BaselineRun | None:
        """The fitted baseline (waits for the worker); fitted here if the worker failed.

        Raises:
            whatever the fit raised in the worker.
        """
        try:
            code = self._process.wait()
            result = self._folder / _RESULT
            if code != 0 or not result.exists():
                logger.warning(
                    "the baseline's worker process ended without a result (exit code %s); "
                    "fitting the baseline here",
                    code,
                )
                from acsa.training.finish import fit_run_baseline_model

                return fit_run_baseline_model(self.training, self.splits)
            with result.open("rb") as f:
                status, value = pickle.load(f)
        finally:
            self.close()
        if status == "error":
            raise value
        return value

    def close(self) -> None:
        """Stop the worker (a fit still running is abandoned) and remove its files."""
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> BackgroundBaseline:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.close()


if __name__ == "__main__":
    _work(Path(sys.argv[1]))

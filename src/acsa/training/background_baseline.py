"""The TF-IDF baseline fitted in a second process while the network trains.

The baseline beside a run (:mod:`acsa.training.baseline`) needs only the
splits, and the network's training leaves part of the machine idle (its
Python loop, data collation and evaluation run on one core; see
docs/BENCHMARKS.md). :class:`BackgroundBaseline` starts the fit in a spawned
process as soon as the data is read, and :meth:`BackgroundBaseline.result`
collects it when the finishing step needs it. A worker that fails for a reason
of its own (killed for memory, a broken pool) is not fatal: the fit is
repeated in this process, as it would have run without the worker.
"""

from __future__ import annotations

import logging
import multiprocessing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from types import TracebackType

    from acsa.data import LabeledReviews
    from acsa.training.baseline import BaselineRun
    from acsa.training.config import TrainingConfig

logger = logging.getLogger(__name__)


def fit_run_baseline_in_one_thread(
    training: TrainingConfig, splits: Mapping[str, LabeledReviews]
) -> BaselineRun | None:
    """The run's baseline with BLAS and OpenMP held to one thread (the worker's job).

    One thread, because the worker shares the machine with the network's
    training: BLAS threads that spin while they wait for a core would take it
    from the training.
    """
    from threadpoolctl import threadpool_limits

    from acsa.training.finish import fit_run_baseline_model

    with threadpool_limits(limits=1):
        return fit_run_baseline_model(training, splits)


def _worker(
    send: Connection, training: TrainingConfig, splits: Mapping[str, LabeledReviews]
) -> None:
    outcome: tuple[str, Any]
    try:
        outcome = ("ok", fit_run_baseline_in_one_thread(training, splits))
    except Exception as exc:  # handed to the parent, which raises it as its own
        outcome = ("error", exc)
    send.send(outcome)
    send.close()


class BackgroundBaseline:
    """The run's TF-IDF baseline, fitting in a spawned process from construction on.

    Use it as a context manager: leaving the block by an error (Ctrl-C
    included) stops a fit that is still running; the worker is a daemon, so it
    never outlives this process either.

    Args:
        training: the ``training:`` section (``baseline`` on; the decision-rule options).
        splits: the run's splits, as the network sees them.
    """

    def __init__(self, training: TrainingConfig, splits: Mapping[str, LabeledReviews]) -> None:
        self.training = training
        self.splits = dict(splits)
        # spawn, not fork: the parent has torch's thread pools, which a fork would copy
        context = multiprocessing.get_context("spawn")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_worker, args=(send, training, self.splits), daemon=True
        )
        self._process.start()
        send.close()  # the worker holds the only writing end: its death ends the pipe

    def result(self) -> BaselineRun | None:
        """The fitted baseline (waits for the worker); fitted here if the worker died.

        Raises:
            whatever the fit raised in the worker.
        """
        try:
            status, value = self._receive.recv()
        except (EOFError, OSError) as exc:
            code = self._process.exitcode
            logger.warning(
                "the baseline's worker process ended without a result (exit code %s: %s); "
                "fitting the baseline here",
                code,
                type(exc).__name__,
            )
            from acsa.training.finish import fit_run_baseline_model

            return fit_run_baseline_model(self.training, self.splits)
        finally:
            self.close()
        if status == "error":
            raise value
        return value

    def close(self) -> None:
        """Stop the worker (a fit still running is abandoned) and release the pipe."""
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(timeout=10)
        self._receive.close()

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

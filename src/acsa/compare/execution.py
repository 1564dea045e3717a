"""Running the (variant, seed) tasks of a comparison: one run, and the executors that run many.

:func:`execute` makes one run and never raises: an exception becomes a
failed :class:`~acsa.compare.store.RunRecord` with the traceback saved in
the run folder. An executor decides where the runs happen and reports each
record as it finishes (``on_done``), so the harness saves it at once and an
interrupted comparison keeps every finished run.

:class:`LocalExecutor` runs them in this process (``jobs=1``) or in a pool of
spawned worker processes (the default). :class:`RayExecutor` runs each as a Ray
task with its CPU (and GPU) request, on this machine or a cluster; both call
:func:`execute` wherever they place the work, into the same run folders.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Protocol

from acsa.compare.store import RunRecord, clear_record, save_error
from acsa.compare.variants import Variant
from acsa.threads import set_torch_threads

RunOne = Callable[[Variant, int, Path], RunRecord]
OnDone = Callable[["RunTask", RunRecord], None]


@dataclass(frozen=True)
class RunTask:
    """One (variant, seed) to run into ``output_dir``; ``fingerprint`` identifies its setup."""

    variant: Variant
    seed: int
    output_dir: Path
    fingerprint: str


class Executor(Protocol):
    """Runs tasks and calls ``on_done(task, record)`` once per task, in completion order."""

    def run(self, tasks: Sequence[RunTask], run_one: RunOne, on_done: OnDone) -> None: ...


def failure_summary(exc: BaseException) -> str:
    """``RuntimeError: first line of the message`` for the report."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def execute(run_one: RunOne, variant: Variant, seed: int, out: Path) -> RunRecord:
    """Run one (variant, seed) and time it; any exception becomes a failed record.

    The traceback goes to ``error.txt`` in the run directory; the record keeps
    one line for the report.
    """
    clear_record(out)
    start = time.perf_counter()
    try:
        record = run_one(variant, seed, out)
    except Exception as exc:  # a crashed run is reported, the others go on
        save_error(out, traceback.format_exc())
        return RunRecord(variant.name, seed, out, status="failed", error=failure_summary(exc))
    if record.train_time_s is None:
        record.train_time_s = time.perf_counter() - start
    record.variant, record.seed, record.output_dir = variant.name, seed, out
    record.status = "done"
    return record


def available_cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _init_worker(threads: int) -> None:
    # set before torch is imported in the worker, which reads them at start-up;
    # N workers each using every core would oversubscribe the CPU
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    if "torch" in sys.modules:
        set_torch_threads(threads)
    # the worker lives for several runs: the same data warnings once per worker
    from acsa.logs import attach_once_filter

    attach_once_filter()


@dataclass
class LocalExecutor:
    """Runs on this machine: in this process for ``jobs=1``, else in spawned worker processes.

    Args:
        jobs: runs at the same time.
        threads: torch threads per run; default torch's own for ``jobs=1`` and
            ``cores // jobs`` for parallel runs.
    """

    jobs: int = 1
    threads: int | None = None

    def run(self, tasks: Sequence[RunTask], run_one: RunOne, on_done: OnDone) -> None:
        if self.jobs <= 1:
            previous = set_torch_threads(self.threads)
            try:
                for task in tasks:
                    on_done(task, execute(run_one, task.variant, task.seed, task.output_dir))
            finally:
                set_torch_threads(previous)
            return
        threads = self.threads or max(1, available_cores() // self.jobs)
        # spawn: forked workers would inherit torch's thread pools and any open
        # state of the parent, and fork is unavailable on Windows anyway
        with ProcessPoolExecutor(
            max_workers=self.jobs,
            mp_context=get_context("spawn"),
            initializer=_init_worker,
            initargs=(threads,),
        ) as pool:
            futures: dict[Future[RunRecord], RunTask] = {
                pool.submit(execute, run_one, t.variant, t.seed, t.output_dir): t for t in tasks
            }
            for future in as_completed(futures):
                task = futures[future]
                try:
                    record = future.result()
                except BrokenProcessPool as exc:
                    record = _failed(task, f"worker process died ({failure_summary(exc)})")
                except Exception as exc:  # e.g. a result that cannot be unpickled
                    record = _failed(task, failure_summary(exc))
                on_done(task, record)


def _failed(task: RunTask, error: str) -> RunRecord:
    return RunRecord(task.variant.name, task.seed, task.output_dir, status="failed", error=error)


def _execute_on_ray(run_one: RunOne, task: RunTask, threads: int) -> RunRecord:
    """:func:`execute` inside a Ray task (one process of Ray's worker pool)."""
    _init_worker(threads)
    return execute(run_one, task.variant, task.seed, task.output_dir)


@dataclass
class RayExecutor:
    """Runs each (variant, seed) as a Ray task: on a local Ray, or on a cluster at ``address``.

    The runs write into the same run folders as :class:`LocalExecutor` (on a
    cluster the comparison's output folder must be on storage every node
    shares), so resume and the report are the same.

    Args:
        address: the cluster's head (``HOST:6379``); ``None`` starts a local Ray.
        cpus_per_run: CPUs Ray reserves for each run (and its torch threads).
        gpus_per_run: GPUs Ray reserves for each run (0: CPU only).
    """

    address: str | None = None
    cpus_per_run: int = 1
    gpus_per_run: float = 0.0

    def run(self, tasks: Sequence[RunTask], run_one: RunOne, on_done: OnDone) -> None:
        if not tasks:
            return
        from acsa.cluster import ray_session

        with ray_session(self.address, "running comparisons on Ray") as ray:
            remote = ray.remote(
                num_cpus=self.cpus_per_run,
                num_gpus=self.gpus_per_run,
                max_retries=0,  # a crashed run is reported, not silently run again
            )(_execute_on_ray)
            pending = {remote.remote(run_one, task, self.cpus_per_run): task for task in tasks}
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                task = pending.pop(ready[0])
                try:
                    record = ray.get(ready[0])
                except Exception as exc:  # the worker died, or a result Ray could not return
                    record = _failed(task, f"Ray task failed ({failure_summary(exc)})")
                on_done(task, record)

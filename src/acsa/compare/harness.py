"""``compare()``: train every variant with every seed, reuse finished runs, write the report.

The harness is independent of how a run is made: it takes a ``run_one(variant,
seed, output_dir) -> RunRecord`` function (default: the real training
pipeline, :mod:`acsa.compare.pipeline`) and an executor that decides where
the runs happen (default: :class:`~acsa.compare.execution.LocalExecutor`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acsa.compare import store
from acsa.compare.analysis import analyse
from acsa.compare.execution import Executor, LocalExecutor, RunOne, RunTask
from acsa.compare.rendering import write_report_files
from acsa.compare.store import RunRecord
from acsa.compare.variants import VariantsFile, load_variants
from acsa.data.config import data_dir_override
from acsa.errors import AcsaError, ArgumentError, ConfigError
from acsa.evaluation.significance import MIN_SEEDS
from acsa.logs import warn_once


@dataclass
class ComparisonResult:
    """The outcome of :func:`compare`: the JSON-ready report, the records and the files."""

    report: dict[str, Any]
    records: list[RunRecord]
    output_dir: Path
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def failed(self) -> list[RunRecord]:
        return [r for r in self.records if not r.ok]


AUTO_SEEDS = "auto"
# consecutive added seeds with unchanged verdicts after which seeds="auto" stops
STABLE_ADDITIONS = 2


def compare(
    config_path: str | Path | None,
    variants_path: str | Path,
    seeds: int | Sequence[int] | str = 5,
    epochs: int | None = None,
    output_dir: str | Path = "runs/compare",
    jobs: int = 1,
    baseline: str | None = "focal",
    data_dir: str | Path | None = None,
    run_one: RunOne | None = None,
    n_boot: int = 2000,
    plots: bool = True,
    progress: Callable[[str], None] | None = None,
    threads: int | None = None,
    executor: Executor | None = None,
    max_seeds: int = 10,
) -> ComparisonResult:
    """Train every variant with every seed (reusing finished runs) and compare them.

    Args:
        config_path: the base training config (YAML); its ``loss:`` is replaced
            by each variant's.
        variants_path: the variants file (see :func:`acsa.compare.load_variants`).
        seeds: number of seeds (seeds ``0 .. n-1``), the seed values, or
            ``"auto"``: start with 3 seeds and add one at a time until the
            verdicts are unchanged for 2 consecutive additions or
            ``max_seeds`` is reached.
        epochs: training epochs for every run; default the variants file's
            ``epochs``, else the config's.
        output_dir: where ``runs/``, ``comparison.json``, ``comparison.md``
            and the plots go.
        jobs: runs in parallel (processes); each gets ``cores / jobs`` torch threads.
        baseline: the variant the others are compared with; ``None`` takes
            the variants file's ``baseline``, else ``focal``, else the first variant.
        data_dir: overrides the config's data directory.
        run_one: ``run_one(variant, seed, run_dir) -> RunRecord``; default
            trains with the real pipeline. Must be picklable when ``jobs > 1``.
        n_boot: bootstrap replicates.
        plots: write the PNG plots.
        progress: receives one line per finished run (default: print).
        threads: torch threads per run; default ``cores // jobs`` for parallel
            runs and torch's own default for ``jobs=1``. On a shared machine
            one thread per run (with ``jobs`` = cores) is much faster: busy
            cores make multi-threaded kernels wait for each other.
        executor: where the runs happen; default ``LocalExecutor(jobs, threads)``.
        max_seeds: the most seeds ``seeds="auto"`` may use.
    """
    out = Path(output_dir)
    spec = load_variants(variants_path)
    auto, seed_list = _seed_plan(seeds, max_seeds)
    if not seed_list:
        raise ArgumentError("{seeds}: need at least one seed")
    if len(set(seed_list)) != len(seed_list):
        raise ArgumentError("{seeds}: duplicate seed values {seed_list}", seed_list=seed_list)
    if jobs < 1:
        raise ArgumentError("{jobs}: expected a positive integer, got {got}", got=jobs)
    if threads is not None and threads < 1:
        raise ArgumentError("{threads}: expected a positive integer, got {got}", got=threads)
    chosen = _baseline(spec, baseline)
    epochs = epochs if epochs is not None else spec.epochs
    if epochs is not None and epochs < 1:
        raise ArgumentError("{epochs}: expected a positive integer, got {got}", got=epochs)
    config = Path(config_path) if config_path is not None else None
    if data_dir is not None:
        # made absolute here because the workers resolve paths against the config
        data_dir = data_dir_override(data_dir)
    if run_one is None:
        from acsa.compare.pipeline import make_pipeline_runner

        if config is None:
            raise ConfigError("compare: a training config is needed to train the variants")
        run_one = make_pipeline_runner(config, spec.variants, epochs, data_dir, spec.overrides)
    say = progress or print

    context = {
        "epochs": epochs,
        "overrides": spec.overrides,
        "config_sha": store.file_sha(config) if config is not None and config.is_file() else None,
        "data_dir": str(data_dir) if data_dir is not None else None,
    }
    chosen_executor = executor or LocalExecutor(jobs, threads)

    def run(seed_list: list[int]) -> list[RunRecord]:
        return _run_seeds(out, spec, seed_list, context, run_one, chosen_executor, say)

    records = run(seed_list)
    report = analyse(records, spec.variants, chosen, n_boot=n_boot)
    if auto:
        history = [{"seeds": len(seed_list), "verdicts": _verdicts(report)}]
        stable = 0
        while len(seed_list) < max_seeds and stable < STABLE_ADDITIONS:
            seed_list = seed_list + [len(seed_list)]
            say(f"seeds auto: adding seed {seed_list[-1]} ({len(seed_list)} of {max_seeds} max)")
            records = run(seed_list)
            report = analyse(records, spec.variants, chosen, n_boot=n_boot)
            verdicts = _verdicts(report)
            stable = stable + 1 if verdicts == history[-1]["verdicts"] else 0
            history.append({"seeds": len(seed_list), "verdicts": verdicts})
        stopped = (
            f"verdicts unchanged for {STABLE_ADDITIONS} consecutive added seeds"
            if stable >= STABLE_ADDITIONS
            else f"reached the most seeds allowed ({max_seeds}) before the verdicts held for "
            f"{STABLE_ADDITIONS} added seeds"
        )
        say(f"seeds auto: stopped at {len(seed_list)} seeds: {stopped}")
        report["seed_search"] = {"max_seeds": max_seeds, "stopped": stopped, "history": history}
    report.update(
        {
            "config": str(config) if config is not None else None,
            "variants_file": str(spec.source),
            "seeds": seed_list,
            "epochs": epochs,
            "overrides": spec.overrides,
            "runs": [r.summary() for r in records],
            "failed": [
                {"variant": r.variant, "seed": r.seed, "error": r.error}
                for r in records
                if not r.ok
            ],
        }
    )
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    if plots:
        from acsa.evaluation.compare_plots import write_comparison_plots

        files.update(write_comparison_plots(report, out))
        report["plots"] = {k: p.relative_to(out).as_posix() for k, p in files.items()}
    files.update(write_report_files(report, out))
    return ComparisonResult(report, records, out, files)


def _seed_plan(seeds: int | Sequence[int] | str, max_seeds: int) -> tuple[bool, list[int]]:
    """``(auto, first seeds)`` from ``seeds``: a count, the seed values, or ``"auto"``."""
    if isinstance(seeds, str):
        text = seeds.strip().lower()
        if text == AUTO_SEEDS:
            if max_seeds < MIN_SEEDS:
                raise ArgumentError(
                    "{max_seeds}: expected at least {least} ({seeds:auto} starts there), got {got}",
                    least=MIN_SEEDS,
                    got=max_seeds,
                )
            return True, list(range(MIN_SEEDS))
        if not text.isdigit() or int(text) < 1:
            raise ArgumentError(
                "{seeds}: expected a positive integer or 'auto', got {got!r}", got=seeds
            )
        seeds = int(text)
    if isinstance(seeds, int):
        return False, list(range(seeds))
    return False, [int(s) for s in seeds]


def _verdicts(report: dict[str, Any]) -> dict[str, dict[str, str]]:
    """Every variant's verdict per metric: what ``seeds="auto"`` watches."""
    return {
        name: {m: d["verdict"] for m, d in entry["metrics"].items()}
        for name, entry in report["vs_baseline"].items()
    }


def _run_seeds(
    out: Path,
    spec: VariantsFile,
    seed_list: list[int],
    context: dict[str, Any],
    run_one: RunOne,
    executor: Executor,
    say: Callable[[str], None],
) -> list[RunRecord]:
    """Make the runs of ``seed_list`` still missing; every record, in (seed, variant) order."""
    tasks, reused = _plan(out, spec, seed_list, context, say)
    if reused:
        say(f"reusing {len(reused)} finished run(s) in {out / 'runs'}")
    records = list(reused)

    def on_done(task: RunTask, record: RunRecord) -> None:
        # saved as each finishes, so an interrupted comparison keeps every finished run
        if record.ok:
            store.save_record(record, task.fingerprint)
            result = (
                f"pair F1 {record.metrics.get('pair_f1', float('nan')):.4f} "
                f"({record.train_time_s or 0:.0f} s)"
            )
        else:
            result = f"FAILED ({record.error})"
        records.append(record)
        say(
            f"[{len(records) - len(reused)}/{len(tasks)}] {record.variant} seed {record.seed}: "
            + result
        )

    with warn_once():
        executor.run(tasks, run_one, on_done)
    order = {
        (v.name, s): i for i, (s, v) in enumerate((s, v) for s in seed_list for v in spec.variants)
    }
    records.sort(key=lambda r: order.get((r.variant, r.seed), 0))
    return records


def _baseline(spec: VariantsFile, baseline: str | None) -> str:
    if baseline is None:
        names = spec.names()
        chosen = spec.baseline or ("focal" if "focal" in names else names[0])
    else:
        chosen = baseline
    if chosen not in spec.names():
        raise ArgumentError(
            "{baseline}: {chosen!r} is not a variant in {source}; choose one of {names}",
            chosen=chosen,
            source=spec.source,
            names=", ".join(spec.names()),
        )
    return chosen


def _plan(
    out: Path,
    spec: VariantsFile,
    seed_list: list[int],
    context: dict[str, Any],
    say: Callable[[str], None],
) -> tuple[list[RunTask], list[RunRecord]]:
    """The runs still to make, and the records of the finished ones."""
    tasks: list[RunTask] = []
    reused: list[RunRecord] = []
    # seeds outermost: if the comparison is stopped, every variant has the same seeds done
    for seed in seed_list:
        for variant in spec.variants:
            rd = store.run_dir(out, variant.name, seed)
            fp = store.fingerprint(variant, seed, context)
            state = store.finished(rd, fp)
            if state:
                reused.append(store.load_record(rd, variant.name, seed))
                continue
            if state is False and (rd / "metrics.json").is_file():
                # finished by the pipeline, stopped before the harness saved it
                try:
                    record = store.recover_record(rd, variant.name, seed)
                except AcsaError:
                    pass
                else:
                    store.save_record(record, fp)
                    record.status = "reused"
                    reused.append(record)
                    continue
            if state is None:
                say(f"{variant.name} seed {seed}: setup changed since the saved run; rerunning")
            tasks.append(RunTask(variant, seed, rd, fp))
    return tasks, reused

"""``acsa compare``: which loss is better on my data? Multi-seed runs, paired statistics.

Every variant (a named ``loss:`` section) is trained with the same seeds,
data and budget into ``DIR/runs/<variant>/seed<k>/``. Seed ``k`` of a variant
is paired with seed ``k`` of the baseline, and all runs are scored on the same
test reviews, so differences are measured pairwise (see
:mod:`acsa.evaluation.significance` for the procedures and why the paired
bootstrap decides the verdict).

The harness is independent of how a run is made: :func:`compare` takes a
``run_one(variant, seed, output_dir) -> RunRecord`` function; the default
trains with :func:`acsa.training.run.train`. Finished runs are kept on disk
(``run_record.json``, ``test_predictions.npz`` and a ``done`` marker) so that
a second call resumes, and a run that raises is recorded and the others go on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import sys
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
import yaml

from acsa.errors import AcsaError, ConfigError, DataError, TrainingError
from acsa.evaluation.significance import (
    BOOTSTRAP_METHOD,
    TTEST_METHOD,
    Interval,
    paired_bootstrap,
    paired_t_interval,
    review_counts,
)

METRICS: tuple[str, ...] = ("pair_f1", "aspect_f1", "sentiment_macro_f1", "seed_weighted_f1")
METRIC_LABELS: dict[str, str] = {
    "pair_f1": "pair micro-F1",
    "aspect_f1": "aspect micro-F1",
    "sentiment_macro_f1": "sentiment macro-F1",
    "seed_weighted_f1": "seed-style weighted F1",
}
# micro-F1s decompose into per-review counts, so the review bootstrap applies;
# the macro and weighted scores do not, and are judged by the t-test over seeds
BOOTSTRAP_METRICS: dict[str, int] = {"pair_f1": 0, "aspect_f1": 1}
RECORD_FILE = "run_record.json"
PREDICTIONS_FILE = "test_predictions.npz"
DONE_FILE = "done"
ERROR_FILE = "error.txt"
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
_TOP_KEYS = {"variants", "epochs", "baseline", "description", "overrides"}
# owned by the harness (seed, output folder) or by each variant (loss)
_RESERVED_OVERRIDES = ("loss", "output", "training.seed")
_VARIANT_KEYS = {"name", "loss", "description"}


@dataclass(frozen=True)
class Variant:
    """One configuration under comparison: a name and the ``loss:`` section it trains with."""

    name: str
    loss: dict[str, Any]
    description: str = ""


@dataclass(frozen=True)
class VariantsFile:
    """A parsed variants YAML file."""

    variants: tuple[Variant, ...]
    epochs: int | None = None
    baseline: str | None = None
    source: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)

    def names(self) -> list[str]:
        return [v.name for v in self.variants]


@dataclass
class RunRecord:
    """What one (variant, seed) run produced.

    ``gold``, ``pred`` (canonical labels ``[N, A]``) and ``mask`` are the test
    predictions behind the review-level bootstrap; ``val_pair_f1`` is the
    validation pair micro-F1 after each epoch.
    """

    variant: str
    seed: int
    output_dir: Path
    metrics: dict[str, float] = field(default_factory=dict)
    aspects: list[str] = field(default_factory=list)
    gold: np.ndarray | None = None
    pred: np.ndarray | None = None
    mask: np.ndarray | None = None
    val_pair_f1: list[float] = field(default_factory=list)
    train_time_s: float | None = None
    status: str = "done"  # done | reused | failed
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("done", "reused")

    def summary(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "seed": self.seed,
            "status": self.status,
            "output_dir": str(self.output_dir),
            "metrics": {k: self.metrics.get(k) for k in METRICS},
            "train_time_s": self.train_time_s,
            "error": self.error,
        }


RunOne = Callable[[Variant, int, Path], RunRecord]


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


# ---------------------------------------------------------------- variants file


def load_variants(path: str | Path) -> VariantsFile:
    """Read and validate a variants file.

    Format::

        epochs: 8            # optional default budget for every variant
        baseline: focal      # optional, overridden by --baseline
        overrides:           # optional, applied to the base config for every variant
          model.hidden_size: 64
        variants:
          - name: focal
            loss: {type: focal, gamma: 2.0}
          - name: ce
            loss: {type: ce}

    A variant's ``loss:`` replaces the base config's ``loss:`` section as a
    whole (merging two loss types' options would mix keys that only one of
    them accepts). Unknown keys raise :class:`ConfigError`; the content of
    each ``loss:`` is checked by the config schema before anything runs.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: variants file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(
            f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})"
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with a 'variants' list")
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ConfigError(
            f"{path}: unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(_TOP_KEYS))}"
        )
    raw = data.get("variants")
    if isinstance(raw, dict):
        raw = [{"name": k, **(v or {})} if isinstance(v, dict) else v for k, v in raw.items()]
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{path}: 'variants' must be a non-empty list of {{name, loss}} entries")
    variants: list[Variant] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw):
        where = f"{path}: variants[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping with 'name' and 'loss'")
        unknown = sorted(set(entry) - _VARIANT_KEYS)
        if unknown:
            raise ConfigError(
                f"{where}: unknown key {unknown[0]!r}; allowed keys: "
                f"{', '.join(sorted(_VARIANT_KEYS))} (loss options go under 'loss:')"
            )
        name = entry.get("name")
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise ConfigError(
                f"{where}.name: {name!r} is not a valid name (letters, digits, '_', '-', '.', '+')"
            )
        if name in seen:
            raise ConfigError(f"{where}.name: duplicate variant name {name!r}")
        seen.add(name)
        loss = entry.get("loss")
        if not isinstance(loss, dict) or not loss:
            raise ConfigError(f"{where}.loss: expected a mapping such as {{type: focal, gamma: 2}}")
        variants.append(Variant(name, dict(loss), str(entry.get("description") or "")))
    epochs = data.get("epochs")
    if epochs is not None and (
        not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1
    ):
        raise ConfigError(f"{path}: epochs: expected a positive integer, got {epochs!r}")
    baseline = data.get("baseline")
    if baseline is not None and baseline not in seen:
        raise ConfigError(
            f"{path}: baseline {baseline!r} is not one of the variants {sorted(seen)}"
        )
    overrides = _flatten_overrides(data.get("overrides"), path)
    return VariantsFile(tuple(variants), epochs, baseline, path, overrides)


def _flatten_overrides(raw: object, path: Path) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: overrides: expected a mapping of config keys to values")
    flat: dict[str, Any] = {}

    def walk(node: Mapping[str, Any], prefix: str) -> None:
        for key, value in node.items():
            dotted = f"{prefix}{key}"
            if isinstance(value, dict) and value:
                walk(value, dotted + ".")
            else:
                flat[dotted] = value

    walk(raw, "")
    for key in flat:
        if any(key == r or key.startswith(r + ".") for r in _RESERVED_OVERRIDES):
            raise ConfigError(
                f"{path}: overrides.{key}: not allowed here (the loss belongs to each variant; "
                "seeds and output folders to --seeds and --output)"
            )
    return flat


# ---------------------------------------------------------------- run storage


def run_dir(output_dir: Path, variant: str, seed: int) -> Path:
    return Path(output_dir) / "runs" / variant / f"seed{seed}"


def _fingerprint(variant: Variant, seed: int, context: Mapping[str, Any]) -> str:
    blob = json.dumps({"loss": variant.loss, "seed": seed, **context}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def save_record(record: RunRecord, fingerprint: str) -> None:
    """Persist a finished run so that a later :func:`compare` call reuses it."""
    out = Path(record.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if record.gold is not None and record.pred is not None:
        mask = record.mask if record.mask is not None else np.ones(record.gold.shape, dtype=bool)
        np.savez_compressed(
            out / PREDICTIONS_FILE,
            gold=np.asarray(record.gold, dtype=np.int8),
            pred=np.asarray(record.pred, dtype=np.int8),
            mask=np.asarray(mask, dtype=bool),
        )
    meta = {
        "variant": record.variant,
        "seed": record.seed,
        "metrics": record.metrics,
        "aspects": list(record.aspects),
        "val_pair_f1": list(record.val_pair_f1),
        "train_time_s": record.train_time_s,
        "fingerprint": fingerprint,
    }
    (out / RECORD_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    # written last: its presence means everything above is complete
    (out / DONE_FILE).write_text(fingerprint + "\n", encoding="utf-8")
    (out / ERROR_FILE).unlink(missing_ok=True)


def load_record(out: Path, variant: str, seed: int) -> RunRecord:
    """Read a run saved by :func:`save_record`."""
    meta = json.loads((out / RECORD_FILE).read_text(encoding="utf-8"))
    record = RunRecord(
        variant=variant,
        seed=seed,
        output_dir=out,
        metrics={k: float(v) for k, v in meta.get("metrics", {}).items() if v is not None},
        aspects=list(meta.get("aspects", [])),
        val_pair_f1=[float(x) for x in meta.get("val_pair_f1", [])],
        train_time_s=meta.get("train_time_s"),
        status="reused",
    )
    npz_path = out / PREDICTIONS_FILE
    if npz_path.is_file():
        with np.load(npz_path) as npz:
            record.gold = npz["gold"].astype(np.int64)
            record.pred = npz["pred"].astype(np.int64)
            record.mask = npz["mask"].astype(bool)
    return record


def _finished(out: Path, fingerprint: str) -> bool | None:
    """True: reuse; False: not finished; None: finished with another setup (rerun)."""
    done = out / DONE_FILE
    if done.is_file():
        if (out / RECORD_FILE).is_file():
            stored = done.read_text(encoding="utf-8").strip()
            return True if stored == fingerprint else None
        return False
    return False


# ---------------------------------------------------------------- execution


def _init_worker(threads: int) -> None:
    # set before torch is imported in the worker, which reads them at start-up;
    # N workers each using every core would oversubscribe the CPU
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    # the worker lives for several runs: the same data warnings once per worker
    _attach_once_filter()


def _set_torch_threads(threads: int | None) -> int | None:
    """Set torch's intra-op threads in this process; returns the previous count."""
    if threads is None:
        return None
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    return previous


def _execute(run_one: RunOne, variant: Variant, seed: int, out: Path) -> RunRecord:
    """Run one (variant, seed) and time it; any exception becomes a failed record.

    The traceback goes to ``error.txt`` in the run directory; the record keeps
    one line for the report.
    """
    out.mkdir(parents=True, exist_ok=True)
    # a stale record of an earlier setup must not outlive the rerun that replaces it
    for name in (DONE_FILE, RECORD_FILE, PREDICTIONS_FILE, ERROR_FILE):
        (out / name).unlink(missing_ok=True)
    start = time.perf_counter()
    try:
        record = run_one(variant, seed, out)
    except Exception as exc:  # a crashed run is reported, the others go on
        (out / ERROR_FILE).write_text(traceback.format_exc(), encoding="utf-8")
        return RunRecord(variant.name, seed, out, status="failed", error=_one_line(exc))
    if record.train_time_s is None:
        record.train_time_s = time.perf_counter() - start
    record.variant, record.seed, record.output_dir = variant.name, seed, out
    record.status = "done"
    return record


class _OnceFilter(logging.Filter):
    """Lets each distinct message through once (every run reads the same data)."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message in self.seen:
            return False
        self.seen.add(message)
        return True


def _attach_once_filter() -> Callable[[], None]:
    """Filter repeated ``acsa`` log messages; returns the function that undoes it."""
    logger = logging.getLogger("acsa")
    added: logging.Handler | None = None
    propagate = logger.propagate
    if not logger.handlers:
        # without a handler, records reach logging's last-resort handler, which
        # takes no filters; this one prints the same one-line form as the CLI
        from acsa.cli import StderrHandler

        added = StderrHandler()
        added.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        logger.addHandler(added)
        logger.propagate = False
    handlers = list(logger.handlers)
    once = _OnceFilter()
    for handler in handlers:
        handler.addFilter(once)

    def undo() -> None:
        for handler in handlers:
            handler.removeFilter(once)
        if added is not None:
            logger.removeHandler(added)
            logger.propagate = propagate

    return undo


@contextmanager
def _warn_once() -> Iterator[None]:
    undo = _attach_once_filter()
    try:
        yield
    finally:
        undo()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _run_all(
    tasks: list[tuple[Variant, int, Path, str]],
    run_one: RunOne,
    jobs: int,
    progress: Callable[[str], None],
    threads: int | None = None,
) -> list[RunRecord]:
    records: list[RunRecord] = []

    def finish(record: RunRecord, fingerprint: str, done: int) -> None:
        if record.ok:
            save_record(record, fingerprint)
            progress(
                f"[{done}/{len(tasks)}] {record.variant} seed {record.seed}: "
                f"pair F1 {record.metrics.get('pair_f1', float('nan')):.4f} "
                f"({record.train_time_s or 0:.0f} s)"
            )
        else:
            progress(
                f"[{done}/{len(tasks)}] {record.variant} seed {record.seed}: "
                f"FAILED ({record.error})"
            )
        records.append(record)

    if jobs <= 1:
        previous = _set_torch_threads(threads)
        try:
            for i, (variant, seed, out, fp) in enumerate(tasks, start=1):
                finish(_execute(run_one, variant, seed, out), fp, i)
        finally:
            _set_torch_threads(previous)
        return records

    threads = threads or max(1, _available_cores() // jobs)
    # spawn: forked workers would inherit torch's thread pools and any open
    # state of the parent, and fork is unavailable on Windows anyway
    with ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=get_context("spawn"),
        initializer=_init_worker,
        initargs=(threads,),
    ) as pool:
        futures: dict[Future[RunRecord], tuple[Variant, int, Path, str]] = {
            pool.submit(_execute, run_one, v, s, o): (v, s, o, fp) for v, s, o, fp in tasks
        }
        # saved as each finishes, so an interrupted comparison keeps every finished run
        for i, future in enumerate(as_completed(futures), start=1):
            variant, seed, out, fp = futures[future]
            try:
                record = future.result()
            except BrokenProcessPool as exc:
                record = RunRecord(
                    variant.name,
                    seed,
                    out,
                    status="failed",
                    error=f"worker process died ({_one_line(exc)})",
                )
            except Exception as exc:  # e.g. a result that cannot be unpickled
                record = RunRecord(variant.name, seed, out, status="failed", error=_one_line(exc))
            finish(record, fp, i)
    return records


# ---------------------------------------------------------------- analysis


def _mean_std(values: Sequence[float]) -> dict[str, Any]:
    arr = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    if arr.size == 0:
        return {"mean": None, "std": None, "n": 0, "values": []}
    return {
        "mean": float(arr.mean()),
        "std": float(arr.std(ddof=1)) if arr.size > 1 else 0.0,
        "n": int(arr.size),
        "values": [float(x) for x in arr],
    }


def _counts_stack(records: Sequence[RunRecord]) -> np.ndarray:
    """``[S, N, 1 + A, 2, 3]``: index 0 of the third axis is all aspects together."""
    out = []
    for r in records:
        assert r.gold is not None and r.pred is not None
        c = review_counts(r.gold, r.pred, r.mask)  # [N, A, 2, 3]
        out.append(np.concatenate([c.sum(axis=1, keepdims=True), c], axis=1))
    return np.stack(out)


def _same_test_set(records: Sequence[RunRecord]) -> str | None:
    """Why the review-level bootstrap cannot pair these runs, or None if it can."""
    first = records[0]
    for r in records:
        if r.gold is None or r.pred is None:
            return f"{r.variant} seed {r.seed} has no saved test predictions"
        if r.gold.shape != first.gold.shape or not np.array_equal(r.gold, first.gold):  # type: ignore[union-attr]
            return f"{r.variant} seed {r.seed} was scored on different test reviews"
    return None


def analyse(
    records: Sequence[RunRecord],
    variants: Sequence[Variant],
    baseline: str,
    n_boot: int = 2000,
    confidence: float = 0.95,
    bootstrap_seed: int = 0,
) -> dict[str, Any]:
    """The JSON-ready comparison of finished runs (see ``comparison.json``)."""
    ok = [r for r in records if r.ok]
    by_variant: dict[str, dict[int, RunRecord]] = {v.name: {} for v in variants}
    for r in ok:
        by_variant.setdefault(r.variant, {})[r.seed] = r

    summary: dict[str, Any] = {}
    for v in variants:
        runs = [by_variant[v.name][s] for s in sorted(by_variant[v.name])]
        summary[v.name] = {
            "loss": v.loss,
            "description": v.description,
            "seeds": [r.seed for r in runs],
            "metrics": {m: _mean_std([r.metrics.get(m, math.nan) for r in runs]) for m in METRICS},
            "train_time_s": _mean_std([r.train_time_s or math.nan for r in runs]),
            "val_pair_f1": {str(r.seed): r.val_pair_f1 for r in runs},
        }

    aspects = next((list(r.aspects) for r in ok if r.aspects), [])
    vs: dict[str, Any] = {}
    per_aspect: dict[str, Any] = {}
    base_runs = by_variant.get(baseline, {})
    for v in variants:
        if v.name == baseline:
            continue
        seeds = sorted(set(by_variant[v.name]) & set(base_runs))
        entry: dict[str, Any] = {"paired_seeds": seeds, "metrics": {}, "note": None}
        vs[v.name] = entry
        if not seeds:
            entry["note"] = "no seed finished for both this variant and the baseline"
            continue
        var_runs = [by_variant[v.name][s] for s in seeds]
        base_list = [base_runs[s] for s in seeds]
        why_not = _same_test_set(var_runs + base_list)
        boot: dict[str, Interval] = {}
        if why_not is None:
            var_c, base_c = _counts_stack(var_runs), _counts_stack(base_list)
            mean, low, high = paired_bootstrap(
                var_c, base_c, n_boot=n_boot, confidence=confidence, seed=bootstrap_seed
            )
            for metric, task in BOOTSTRAP_METRICS.items():
                boot[metric] = Interval(
                    float(mean[0, task]),
                    float(low[0, task]),
                    float(high[0, task]),
                    BOOTSTRAP_METHOD,
                    confidence,
                )
            per_aspect[v.name] = {
                a: {
                    metric: Interval(
                        float(mean[j + 1, task]),
                        float(low[j + 1, task]),
                        float(high[j + 1, task]),
                        BOOTSTRAP_METHOD,
                        confidence,
                    ).to_dict()
                    for metric, task in BOOTSTRAP_METRICS.items()
                }
                for j, a in enumerate(aspects)
            }
        else:
            entry["note"] = f"review bootstrap skipped: {why_not}; verdicts use the t-test"
        for metric in METRICS:
            t = paired_t_interval(
                [r.metrics.get(metric, math.nan) for r in var_runs],
                [r.metrics.get(metric, math.nan) for r in base_list],
                confidence,
            )
            decider = boot.get(metric, t)
            entry["metrics"][metric] = {
                "mean_difference": decider.mean,
                "bootstrap": boot[metric].to_dict() if metric in boot else None,
                "t_test": t.to_dict(),
                "verdict": decider.verdict,
                "verdict_method": decider.method,
            }
    return {
        "baseline": baseline,
        "confidence": confidence,
        "n_boot": n_boot,
        "verdict_rule": (
            f"pair and aspect micro-F1: {BOOTSTRAP_METHOD}; sentiment macro-F1 and seed-style "
            f"weighted F1 (not sums over reviews): {TTEST_METHOD}. 'better' if the interval's "
            "lower end is above 0, 'worse' if its upper end is below 0, otherwise "
            "'no detectable difference'"
        ),
        "aspects": aspects,
        "variants": summary,
        "vs_baseline": vs,
        "per_aspect": per_aspect,
    }


# ---------------------------------------------------------------- reports


def _fmt(x: float | None, digits: int = 4) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _fmt_diff(d: Mapping[str, Any] | None) -> str:
    if not d:
        return "n/a"
    pts = 100.0
    mean, low, high = d.get("mean"), d.get("low"), d.get("high")
    if mean is None:
        return "n/a"
    if low is None or high is None:
        return f"{mean * pts:+.2f}"
    return f"{mean * pts:+.2f} [{low * pts:+.2f}, {high * pts:+.2f}]"


def _validation_table(report: Mapping[str, Any]) -> list[str]:
    """Validation pair micro-F1 after each epoch, mean over seeds (early stops end rows)."""
    curves = {
        name: [c for c in v.get("val_pair_f1", {}).values() if c]
        for name, v in report["variants"].items()
    }
    length = max((len(c) for cs in curves.values() for c in cs), default=0)
    if length == 0:
        return []
    lines = [
        "",
        "## Validation pair micro-F1 after each epoch (mean over seeds)",
        "",
        "| variant | " + " | ".join(str(e) for e in range(1, length + 1)) + " |",
        "|---|" + "---|" * length,
    ]
    for name, cs in curves.items():
        cells = []
        for e in range(length):
            values = [c[e] for c in cs if len(c) > e]
            cells.append(f"{np.mean(values):.4f}" if values else "")
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return lines


def render_markdown(report: Mapping[str, Any]) -> str:
    """``comparison.md``: tables of means, paired differences, verdicts and per-aspect intervals."""
    lines: list[str] = []
    base = report["baseline"]
    conf = int(round(report["confidence"] * 100))
    lines.append("# Loss comparison")
    lines.append("")
    lines.append(
        f"Config `{report.get('config')}`, variants `{report.get('variants_file')}`, "
        f"seeds {report.get('seeds')}, epochs {report.get('epochs') or 'as configured'}, "
        f"baseline `{base}`."
    )
    if report.get("overrides"):
        shared = ", ".join(f"`{k}: {v}`" for k, v in report["overrides"].items())
        lines.append(f"Shared by every variant: {shared}.")
    lines.append("")
    lines.append(f"Verdict rule: {report['verdict_rule']}.")
    lines.append(
        f"Differences are variant minus baseline in F1 points (x100) with {conf}% intervals; "
        f"bootstrap with {report['n_boot']} replicates."
    )
    lines.append("")
    lines.append("## Scores per variant (mean +- std over seeds)")
    lines.append("")
    header = ["variant", "runs"] + [METRIC_LABELS[m] for m in METRICS] + ["train time (s)"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for name, v in report["variants"].items():
        cells = [f"`{name}`" + (" (baseline)" if name == base else ""), str(len(v["seeds"]))]
        for m in METRICS:
            s = v["metrics"][m]
            cells.append(f"{_fmt(s['mean'])} +- {_fmt(s['std'])}" if s["n"] else "n/a")
        t = v["train_time_s"]
        cells.append(f"{_fmt(t['mean'], 0)} +- {_fmt(t['std'], 0)}" if t["n"] else "n/a")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"## Against the baseline `{base}`")
    lines.append("")
    header = ["variant", "seeds paired"]
    for m in METRICS:
        header += [f"{METRIC_LABELS[m]} diff [{conf}% CI]", "verdict"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    notes = []
    for name, e in report["vs_baseline"].items():
        cells = [f"`{name}`", str(len(e["paired_seeds"]))]
        for m in METRICS:
            d = e["metrics"].get(m)
            if d is None:
                cells += ["n/a", "n/a"]
                continue
            decider = d["bootstrap"] or d["t_test"]
            cells += [_fmt_diff(decider), d["verdict"]]
        lines.append("| " + " | ".join(cells) + " |")
        if e.get("note"):
            notes.append(f"- `{name}`: {e['note']}")
    lines.append("")
    lines.append(
        "Paired t-test over seeds for the bootstrap metrics, for reference "
        f"(diff [{conf}% t-interval], p):"
    )
    lines.append("")
    lines.append(f"| variant | {METRIC_LABELS['pair_f1']} | {METRIC_LABELS['aspect_f1']} |")
    lines.append("|---|---|---|")
    for name, e in report["vs_baseline"].items():
        cells = [f"`{name}`"]
        for m in ("pair_f1", "aspect_f1"):
            d = e["metrics"].get(m)
            if d is None:
                cells.append("n/a")
                continue
            t = d["t_test"]
            p = t.get("p_value")
            p_text = "n/a" if p is None else ("< 0.001" if p < 0.001 else f"{p:.3f}")
            cells.append(f"{_fmt_diff(t)}, p = {p_text}")
        lines.append("| " + " | ".join(cells) + " |")
    lines.extend(["", *notes] if notes else [])
    if report["per_aspect"]:
        lines.append("")
        lines.append(f"## Per aspect: pair micro-F1 difference against `{base}` [{conf}% CI]")
        lines.append("")
        names = list(report["per_aspect"])
        lines.append("| aspect | " + " | ".join(f"`{n}`" for n in names) + " |")
        lines.append("|---|" + "---|" * len(names))
        for a in report["aspects"]:
            cells = [a]
            for n in names:
                d = report["per_aspect"][n].get(a, {}).get("pair_f1")
                mark = {"better": " +", "worse": " -"}.get(d["verdict"], "") if d else ""
                cells.append(_fmt_diff(d) + mark)
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        lines.append("`+` / `-`: the interval lies above / below 0.")
    lines.extend(_validation_table(report))
    failed = [r for r in report.get("runs", []) if r["status"] == "failed"]
    if failed:
        lines.append("")
        lines.append("## Failed runs")
        lines.append("")
        for r in failed:
            lines.append(f"- `{r['variant']}` seed {r['seed']}: {r['error']} ({r['output_dir']})")
    plots = report.get("plots") or {}
    if plots:
        lines.append("")
        lines.append("## Plots")
        lines.append("")
        for title, rel in plots.items():
            lines.append(f"![{title}]({rel})")
    lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------- entry point


def compare(
    config_path: str | Path | None,
    variants_path: str | Path,
    seeds: int | Sequence[int] = 5,
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
) -> ComparisonResult:
    """Train every variant with every seed (reusing finished runs) and compare them.

    Args:
        config_path: the base training config (YAML); its ``loss:`` is replaced
            by each variant's.
        variants_path: the variants file (see :func:`load_variants`).
        seeds: number of seeds (seeds ``0 .. n-1``) or the seed values.
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
    """
    out = Path(output_dir)
    spec = load_variants(variants_path)
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list:
        raise ConfigError("--seeds: need at least one seed")
    if len(set(seed_list)) != len(seed_list):
        raise ConfigError(f"--seeds: duplicate seed values {seed_list}")
    if jobs < 1:
        raise ConfigError(f"--jobs: expected a positive integer, got {jobs}")
    if threads is not None and threads < 1:
        raise ConfigError(f"--threads: expected a positive integer, got {threads}")
    if baseline is None:
        names = spec.names()
        chosen = spec.baseline or ("focal" if "focal" in names else names[0])
    else:
        chosen = baseline
    if chosen not in spec.names():
        raise ConfigError(
            f"--baseline: {chosen!r} is not a variant in {spec.source}; "
            f"choose one of {', '.join(spec.names())}"
        )
    epochs = epochs if epochs is not None else spec.epochs
    if epochs is not None and epochs < 1:
        raise ConfigError(f"--epochs: expected a positive integer, got {epochs}")
    config = Path(config_path) if config_path is not None else None
    if data_dir is not None:
        # --data-dir is relative to the current folder, as for `acsa train`;
        # made absolute here because the workers resolve paths against the config
        data_dir = Path(data_dir).expanduser().resolve()
        if not data_dir.is_dir():
            raise ConfigError(f"--data-dir: {data_dir} is not a folder")
    if run_one is None:
        if config is None:
            raise ConfigError("compare: a training config is needed to train the variants")
        run_one = make_pipeline_runner(config, spec.variants, epochs, data_dir, spec.overrides)
    say = progress or print

    context = {
        "epochs": epochs,
        "overrides": spec.overrides,
        "config_sha": _file_sha(config) if config is not None and config.is_file() else None,
        "data_dir": str(Path(data_dir).resolve()) if data_dir is not None else None,
    }
    tasks: list[tuple[Variant, int, Path, str]] = []
    reused: list[RunRecord] = []
    # seeds outermost: if the comparison is stopped, every variant has the same seeds done
    for seed in seed_list:
        for variant in spec.variants:
            rd = run_dir(out, variant.name, seed)
            fp = _fingerprint(variant, seed, context)
            state = _finished(rd, fp)
            if state:
                reused.append(load_record(rd, variant.name, seed))
                continue
            if state is False and (rd / "metrics.json").is_file():
                # finished by the pipeline, stopped before the harness saved it
                try:
                    record = record_from_run_dir(rd, variant.name, seed)
                except AcsaError:
                    pass
                else:
                    save_record(record, fp)
                    record.status = "reused"
                    reused.append(record)
                    continue
            if state is None:
                say(f"{variant.name} seed {seed}: setup changed since the saved run; rerunning")
            tasks.append((variant, seed, rd, fp))
    if reused:
        say(f"reusing {len(reused)} finished run(s) in {out / 'runs'}")
    with _warn_once():
        records = reused + _run_all(tasks, run_one, jobs, say, threads)
    order = {
        (v.name, s): i for i, (v, s) in enumerate((v, s) for s in seed_list for v in spec.variants)
    }
    records.sort(key=lambda r: order.get((r.variant, r.seed), 0))

    report = analyse(records, spec.variants, chosen, n_boot=n_boot)
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
    files["json"] = out / "comparison.json"
    files["json"].write_text(json.dumps(report, indent=2, default=_json_default), encoding="utf-8")
    files["markdown"] = out / "comparison.md"
    files["markdown"].write_text(render_markdown(report), encoding="utf-8")
    return ComparisonResult(report, records, out, files)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON-serializable: {type(obj).__name__}")


def _file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


# ---------------------------------------------------------------- the real pipeline


def variant_config(
    config_path: Path,
    variant: Variant,
    seed: int | None = None,
    output_dir: Path | None = None,
    epochs: int | None = None,
    data_dir: str | Path | None = None,
    common: Mapping[str, Any] | None = None,
) -> Any:
    """The base config with the shared ``common`` overrides, the variant's ``loss:``
    section, the seed, the budget and the output folder."""
    from acsa.training.config import config_from_dict, load_config

    overrides: dict[str, Any] = dict(common or {})
    overrides |= {
        "training.seed": seed,
        "training.epochs": epochs,
        "data.dir": str(data_dir) if data_dir is not None else None,
    }
    if output_dir is not None:
        # a rerun after a crash replaces the partial run in the same folder
        overrides.update({"output.dir": str(output_dir), "output.overwrite": True})
    # load_config resolves paths and maps older config shapes; the loss is then
    # replaced as a whole, since merging two loss types' keys would be invalid
    base = load_config(config_path, overrides)
    raw = base.model_dump(mode="python")
    raw["loss"] = dict(variant.loss)
    return config_from_dict(raw, source=f"{config_path} (variant {variant.name!r})")


def validate_variants(
    config_path: Path,
    variants: Sequence[Variant],
    epochs: int | None,
    data_dir: str | Path | None,
    common: Mapping[str, Any] | None = None,
) -> None:
    """Build every variant's config before anything trains (ConfigError, one line)."""
    for v in variants:
        variant_config(config_path, v, epochs=epochs, data_dir=data_dir, common=common)


def read_predictions_csv(path: Path, aspects: Sequence[str]) -> tuple[np.ndarray, ...]:
    """``(gold, pred, mask)`` canonical arrays from a run's ``predictions.csv``."""
    import pandas as pd

    from acsa.evaluation.report import DEFAULT_LABEL_NAMES, MISSING_GOLD

    codes = {name: k for k, name in DEFAULT_LABEL_NAMES.items()}
    frame = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    missing = [c for a in aspects for c in (a, f"gold_{a}") if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: column {missing[0]!r} missing; the run cannot be compared")
    n, a_count = len(frame), len(aspects)
    gold = np.zeros((n, a_count), dtype=np.int64)
    pred = np.zeros((n, a_count), dtype=np.int64)
    mask = np.ones((n, a_count), dtype=bool)
    for j, a in enumerate(aspects):
        try:
            pred[:, j] = [codes[v] for v in frame[a]]
            g = frame[f"gold_{a}"]
            mask[:, j] = (g != MISSING_GOLD).to_numpy()
            gold[:, j] = [codes.get(v, 0) if v != MISSING_GOLD else 0 for v in g]
        except KeyError as exc:
            raise DataError(f"{path}: column {a!r}: unexpected label {exc.args[0]!r}") from None
    return gold, pred, mask


def _history_from_checkpoints(out: Path) -> list[float]:
    states = sorted(
        (out / "checkpoints").glob("checkpoint-*/trainer_state.json"),
        key=lambda p: int(p.parent.name.rsplit("-", 1)[-1]),
    )
    if not states:
        return []
    log = json.loads(states[-1].read_text(encoding="utf-8")).get("log_history", [])
    return [float(e["eval_pair_f1"]) for e in log if "eval_pair_f1" in e]


def record_from_run_dir(
    out: Path, variant: str, seed: int, history: Sequence[float] | None = None
) -> RunRecord:
    """A :class:`RunRecord` from the files :func:`acsa.training.run.train` wrote."""
    metrics_path = out / "metrics.json"
    if not metrics_path.is_file():
        raise DataError(f"{metrics_path}: not found; the run did not finish")
    metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    if "pair_f1" not in metrics:
        raise DataError(f"{metrics_path}: no test metrics; compare needs a test split (data.test)")
    aspects = list(metrics.get("aspects", []))
    gold, pred, mask = read_predictions_csv(out / "predictions.csv", aspects)
    train_time = None
    run_json = out / "run.json"
    if run_json.is_file():
        train_time = (
            json.loads(run_json.read_text(encoding="utf-8")).get("timings_s", {}).get("train")
        )
    return RunRecord(
        variant=variant,
        seed=seed,
        output_dir=out,
        metrics={k: float(metrics[k]) for k in METRICS if metrics.get(k) is not None},
        aspects=aspects,
        gold=gold,
        pred=pred,
        mask=mask,
        val_pair_f1=list(history) if history is not None else _history_from_checkpoints(out),
        train_time_s=train_time,
    )


def train_variant(
    config_path: Path,
    variant: Variant,
    seed: int,
    output_dir: Path,
    *,
    epochs: int | None = None,
    data_dir: str | Path | None = None,
    common: Mapping[str, Any] | None = None,
) -> RunRecord:
    """``run_one`` of the real pipeline: train one (variant, seed) into ``output_dir``."""
    from acsa.training.run import train

    config = variant_config(
        Path(config_path), variant, seed, Path(output_dir), epochs, data_dir, common
    )
    config.training.progress_bar = False
    result = train(config, quiet=True)
    history = [float(e["eval_pair_f1"]) for e in result.history if "eval_pair_f1" in e]
    record = record_from_run_dir(Path(output_dir), variant.name, seed, history)
    record.train_time_s = result.timings.get("train", record.train_time_s)
    return record


def make_pipeline_runner(
    config: Path,
    variants: Sequence[Variant],
    epochs: int | None,
    data_dir: str | Path | None,
    common: Mapping[str, Any] | None = None,
) -> RunOne:
    """A picklable ``run_one`` that trains with the real pipeline (configs checked up front)."""
    validate_variants(config, variants, epochs, data_dir, common)
    return partial(train_variant, config, epochs=epochs, data_dir=data_dir, common=common)


# ---------------------------------------------------------------- command line


def compare_command(
    config: Annotated[
        Path, typer.Argument(help="Base training config (YAML); each variant replaces its loss.")
    ],
    variants: Annotated[
        Path, typer.Option("--variants", help="Variants file, e.g. configs/compare_losses.yaml.")
    ],
    seeds: Annotated[int, typer.Option("--seeds", min=1, help="Seeds per variant (0..n-1).")] = 5,
    epochs: Annotated[
        int | None,
        typer.Option("--epochs", min=1, help="Epochs per run (default: variants file, config)."),
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for runs/, the report and plots.")
    ] = Path("runs/compare"),
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Runs in parallel.")] = 1,
    baseline: Annotated[
        str | None,
        typer.Option("--baseline", help="Variant to compare against (default: file, 'focal')."),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Overrides the config's data.dir.")
    ] = None,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", min=100, help="Bootstrap replicates.")
    ] = 2000,
    threads: Annotated[
        int | None,
        typer.Option("--threads", min=1, help="Torch threads per run (default: cores / jobs)."),
    ] = None,
) -> None:
    """Train every loss variant over the same seeds and compare them with confidence intervals."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    result = compare(
        config,
        variants,
        seeds=seeds,
        epochs=epochs,
        output_dir=output,
        jobs=jobs,
        baseline=baseline,
        data_dir=data_dir,
        n_boot=bootstrap,
        threads=threads,
        progress=lambda line: console.print(line, highlight=False),
    )
    report = result.report
    table = Table(title=f"pair micro-F1 against {report['baseline']} (differences in F1 points)")
    for col in ("variant", "runs", "mean", "sd", "diff [95% CI]", "verdict"):
        table.add_column(col, no_wrap=col != "verdict")
    for name, v in report["variants"].items():
        pair = v["metrics"]["pair_f1"]
        mean, sd = (f"{pair['mean']:.4f}", f"{pair['std']:.4f}") if pair["n"] else ("n/a", "")
        entry = report["vs_baseline"].get(name)
        d = entry["metrics"].get("pair_f1") if entry else None
        diff = _fmt_diff(d["bootstrap"] or d["t_test"]) if d else "baseline"
        table.add_row(name, str(len(v["seeds"])), mean, sd, diff, d["verdict"] if d else "")
    console.print(table)
    console.print(f"report: {result.files['markdown']}  data: {result.files['json']}")
    if result.failed:
        first = result.failed[0]
        if len(result.failed) == len(result.records):
            # nothing was compared: most likely the config or data, so exit as a user error
            raise TrainingError(
                f"every run failed; first: {first.variant} seed {first.seed}: {first.error} "
                f"(traceback in {first.output_dir / ERROR_FILE})"
            )
        console.print(
            f"{len(result.failed)} run(s) failed, e.g. {first.variant} seed {first.seed}: "
            f"{first.error}; rerun the same command to retry only those",
            style="yellow",
            highlight=False,
        )


def plot_ghm_command(
    run_dir: Annotated[Path, typer.Argument(help="A run folder holding gradient_stats.jsonl.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="PNG path (default: in RUN_DIR).")
    ] = None,
) -> None:
    """Render the gradient-norm histogram (and GHM-C state) over epochs to a PNG."""
    from acsa.training.gradient_stats import plot_ghm

    print(plot_ghm(run_dir, output))


def register_cli(app: typer.Typer) -> None:
    """Add ``compare`` and ``plot-ghm`` to the ``acsa`` app."""
    app.command("compare")(compare_command)
    app.command("plot-ghm")(plot_ghm_command)


__all__ = [
    "ComparisonResult",
    "compare_command",
    "plot_ghm_command",
    "register_cli",
    "train_variant",
    "RunRecord",
    "Variant",
    "VariantsFile",
    "analyse",
    "compare",
    "load_record",
    "load_variants",
    "make_pipeline_runner",
    "render_markdown",
    "save_record",
]

"""The run store of a comparison: one folder per (variant, seed), finished runs kept for resume.

Layout under the comparison's output folder::

    runs/<variant>/seed<k>/        the training run (acsa train's files)
        run_record.json            the run's record (metrics, aspects, history, timing)
        test_predictions.npz       gold, predicted labels and mask on the test split
        done                       the setup fingerprint; written last, so its
                                   presence means the record above is complete
        error.txt                  the traceback of a crashed run

A run is reused when its ``done`` fingerprint matches the current setup
(loss, seed, budget, shared overrides, config file, data folder). A run that
the training pipeline finished but the harness never recorded (the
comparison was stopped in between) is recovered from the training files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from acsa.compare.variants import Variant
from acsa.errors import DataError
from acsa.files import write_json

METRICS: tuple[str, ...] = ("pair_f1", "aspect_f1", "sentiment_macro_f1", "seed_weighted_f1")
RECORD_FILE = "run_record.json"
PREDICTIONS_FILE = "test_predictions.npz"
DONE_FILE = "done"
ERROR_FILE = "error.txt"


@dataclass
class RunRecord:
    """What one (variant, seed) run produced.

    ``gold``, ``pred`` (canonical labels ``[N, A]``) and ``mask`` are the test
    predictions behind the review-level bootstrap; ``val_pair_f1`` is the
    validation pair micro-F1 at each evaluation, in order.
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


def run_dir(output_dir: Path, variant: str, seed: int) -> Path:
    """The folder of one (variant, seed) run."""
    return Path(output_dir) / "runs" / variant / f"seed{seed}"


def fingerprint(variant: Variant, seed: int, context: Mapping[str, Any]) -> str:
    """A short hash of everything that makes a run what it is; a change means rerun."""
    key = {"loss": variant.loss, "seed": seed, **context}
    if variant.overrides:  # absent for loss-only variants: their fingerprints stay the same
        key["overrides"] = variant.overrides
    blob = json.dumps(key, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def file_sha(path: Path) -> str:
    """A short content hash of a file (the base config, for the fingerprint)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def clear_record(out: Path) -> None:
    """Remove the harness's files of a run about to be (re)made."""
    out.mkdir(parents=True, exist_ok=True)
    # a stale record of an earlier setup must not outlive the rerun that replaces it
    for name in (DONE_FILE, RECORD_FILE, PREDICTIONS_FILE, ERROR_FILE):
        (out / name).unlink(missing_ok=True)


def save_error(out: Path, traceback_text: str) -> None:
    """Keep the traceback of a crashed run beside it."""
    out.mkdir(parents=True, exist_ok=True)
    (out / ERROR_FILE).write_text(traceback_text, encoding="utf-8")


def save_record(record: RunRecord, fingerprint: str) -> None:
    """Persist a finished run so that a later comparison reuses it."""
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
    write_json(out / RECORD_FILE, meta)
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


def finished(out: Path, fingerprint: str) -> bool | None:
    """True: reuse; False: not finished; None: finished with another setup (rerun)."""
    done = out / DONE_FILE
    if done.is_file() and (out / RECORD_FILE).is_file():
        stored = done.read_text(encoding="utf-8").strip()
        return True if stored == fingerprint else None
    return False


# ---------------------------------------------------------------- recovery from training files


def read_predictions_csv(path: Path, aspects: Sequence[str]) -> tuple[np.ndarray, ...]:
    """``(gold, pred, mask)`` canonical arrays from a run's ``predictions.csv``."""
    import pandas as pd

    from acsa.data.label_space import CELL_NAMES
    from acsa.evaluation.report import MISSING_GOLD

    codes = {name: k for k, name in CELL_NAMES.items()}
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


def recover_record(out: Path, variant: str, seed: int) -> RunRecord:
    """A :class:`RunRecord` from the files a finished training run left in ``out``.

    Only for a run that finished in an earlier process without the harness
    recording it; a run trained now is recorded from its ``TrainResult``.
    """
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
        val_pair_f1=_history_from_checkpoints(out),
        train_time_s=train_time,
    )

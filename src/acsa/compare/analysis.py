"""Statistics over the records of a comparison: means over seeds, paired differences, verdicts.

Seed ``k`` of a variant is paired with seed ``k`` of the baseline, and all
runs are scored on the same test reviews, so differences are measured
pairwise: the paired review bootstrap (pooled across seeds) for the micro-F1
scores, which decompose into per-review counts, and the paired t-test over
seeds for the others (see :mod:`acsa.evaluation.significance`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from acsa.compare.store import METRICS, RunRecord
from acsa.compare.variants import Variant
from acsa.evaluation.significance import (
    BOOTSTRAP_METHOD,
    TTEST_METHOD,
    Interval,
    paired_bootstrap,
    paired_t_interval,
    review_counts,
)

# micro-F1s decompose into per-review counts, so the review bootstrap applies;
# the macro and weighted scores do not, and are judged by the t-test over seeds
BOOTSTRAP_METRICS: dict[str, int] = {"pair_f1": 0, "aspect_f1": 1}


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

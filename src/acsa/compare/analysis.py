"""Statistics over the records of a comparison: means over seeds, paired differences, verdicts.

Seed ``k`` of a variant is paired with seed ``k`` of the baseline, and all
runs are scored on the same test reviews. Each run is reduced once to
per-review counts (:mod:`acsa.evaluation.count_scores`); one stream of
bootstrap draws then serves every comparison: the review resamples are
shared by all runs, the seed resamples by all variants with the same paired
seeds. The verdict of every metric is the two-level interval, Holm-adjusted
over the variants; the review-only bootstrap and the t-test over seeds are
kept beside it (see :mod:`acsa.evaluation.significance`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from acsa.compare.store import METRICS, RunRecord
from acsa.compare.variants import Variant
from acsa.evaluation.count_scores import CountLayout, per_review_counts
from acsa.evaluation.seed_power import seed_advice
from acsa.evaluation.significance import (
    BOOTSTRAP_METHOD,
    MIN_SEEDS,
    TTEST_METHOD,
    TWO_LEVEL_METHOD,
    Interval,
    PairedReplicates,
    adjusted_verdict,
    holm,
    paired_replicates,
    paired_t_interval,
    percentile_interval,
    replicate_scores,
    resample_weights,
    review_interval,
    too_few_seeds,
    two_level_interval,
)

# differences (F1 as a fraction) for which the report says how many seeds are needed
ADVICE_TARGETS: tuple[float, ...] = (0.005, 0.01)
ADVICE_POWER = 0.8
PER_ASPECT_METRICS: tuple[str, ...] = ("pair_f1", "aspect_f1")


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


def _why_not_resampled(records: Sequence[RunRecord], gold: np.ndarray | None) -> str | None:
    """Why the review-level bootstrap cannot pair these runs, or None if it can."""
    for r in records:
        if r.gold is None or r.pred is None:
            return f"{r.variant} seed {r.seed} has no saved test predictions"
    for r in records:
        if gold is None or r.gold.shape != gold.shape or not np.array_equal(r.gold, gold):  # type: ignore[union-attr]
            return f"{r.variant} seed {r.seed} was scored on different test reviews"
    return None


def _summary(v: Variant, runs: Sequence[RunRecord]) -> dict[str, Any]:
    return {
        "loss": v.loss,
        "description": v.description,
        "seeds": [r.seed for r in runs],
        "metrics": {m: _mean_std([r.metrics.get(m, math.nan) for r in runs]) for m in METRICS},
        "train_time_s": _mean_std([r.train_time_s or math.nan for r in runs]),
        "val_pair_f1": {str(r.seed): r.val_pair_f1 for r in runs},
    }


class _Replicates:
    """Review-resampled scores of every resamplable run, from one generator."""

    def __init__(
        self, runs: Sequence[RunRecord], n_boot: int, seed: int, chunk_size: int = 500
    ) -> None:
        self.index: dict[tuple[str, int], int] = {}
        counts: list[np.ndarray] = []
        layout: CountLayout | None = None
        for r in runs:
            c, layout = per_review_counts(r.gold, r.pred, r.mask)  # type: ignore[arg-type]
            self.index[(r.variant, r.seed)] = len(counts)
            counts.append(c)
        self.layout = layout
        self.rng = np.random.default_rng(seed)
        self.n_boot = n_boot
        self.observed: np.ndarray | None = None
        self.reps: np.ndarray | None = None
        if counts and layout is not None:
            self.observed, self.reps = replicate_scores(
                counts, layout.score, n_boot, self.rng, chunk_size
            )
        # drawn after every review draw, so chunking cannot change any of them
        self._seed_draws: dict[tuple[int, ...], np.ndarray] = {}

    def paired(self, variant: str, baseline: str, seeds: Sequence[int]) -> PairedReplicates:
        assert self.reps is not None and self.observed is not None
        key = tuple(seeds)
        if key not in self._seed_draws:
            self._seed_draws[key] = resample_weights(self.rng, self.n_boot, len(seeds))
        vi = [self.index[(variant, s)] for s in seeds]
        bi = [self.index[(baseline, s)] for s in seeds]
        return paired_replicates(
            self.reps[:, vi],
            self.reps[:, bi],
            self.observed[vi],
            self.observed[bi],
            self._seed_draws[key],
        )


def analyse(
    records: Sequence[RunRecord],
    variants: Sequence[Variant],
    baseline: str,
    n_boot: int = 2000,
    confidence: float = 0.95,
    bootstrap_seed: int = 0,
) -> dict[str, Any]:
    """The JSON-ready comparison of finished runs (see ``comparison.json``)."""
    alpha = 1.0 - confidence
    by_variant: dict[str, dict[int, RunRecord]] = {v.name: {} for v in variants}
    for r in records:
        if r.ok:
            by_variant.setdefault(r.variant, {})[r.seed] = r
    summary = {
        v.name: _summary(v, [by_variant[v.name][s] for s in sorted(by_variant[v.name])])
        for v in variants
    }
    aspects = next((list(r.aspects) for r in records if r.ok and r.aspects), [])
    base_runs = by_variant.get(baseline, {})
    reference = next((r.gold for r in base_runs.values() if r.gold is not None), None)

    # which comparisons the review level can serve, and the runs that takes
    plans: dict[str, dict[str, Any]] = {}
    resampled: dict[tuple[str, int], RunRecord] = {}
    for v in variants:
        if v.name == baseline:
            continue
        seeds = sorted(set(by_variant[v.name]) & set(base_runs))
        runs = [by_variant[v.name][s] for s in seeds] + [base_runs[s] for s in seeds]
        why_not = _why_not_resampled(runs, reference) if seeds else None
        plans[v.name] = {"seeds": seeds, "why_not": why_not}
        if seeds and why_not is None:
            resampled.update({(r.variant, r.seed): r for r in runs})
    draws = _Replicates(list(resampled.values()), n_boot, bootstrap_seed)

    vs: dict[str, Any] = {}
    per_aspect: dict[str, Any] = {}
    for name, plan in plans.items():
        seeds = plan["seeds"]
        entry: dict[str, Any] = {
            "paired_seeds": seeds,
            "metrics": {},
            "seed_advice": {},
            "note": None,
        }
        vs[name] = entry
        if not seeds:
            entry["note"] = "no seed finished for both this variant and the baseline"
            continue
        reps = draws.paired(name, baseline, seeds) if plan["why_not"] is None else None
        if reps is None:
            entry["note"] = (
                f"review bootstrap skipped: {plan['why_not']}; verdicts use the t-test over seeds"
            )
        elif len(seeds) < MIN_SEEDS:
            entry["note"] = f"{too_few_seeds(len(seeds))}: no verdicts, only the extra columns"
        var_runs = [by_variant[name][s] for s in seeds]
        base_list = [base_runs[s] for s in seeds]
        for metric in METRICS:
            t = paired_t_interval(
                [r.metrics.get(metric, math.nan) for r in var_runs],
                [r.metrics.get(metric, math.nan) for r in base_list],
                confidence,
            )
            two = review = None
            if reps is not None and draws.layout is not None:
                column = draws.layout.column(metric)
                two = two_level_interval(reps, column, confidence)
                review = review_interval(reps, column, confidence)
                advice = seed_advice(reps, column, ADVICE_TARGETS, alpha, ADVICE_POWER)
                entry["seed_advice"][metric] = advice.to_dict() if advice else None
            decider = two if two is not None else t
            entry["metrics"][metric] = {
                "mean_difference": decider.mean,
                "two_level": two,
                "review_bootstrap": review.to_dict() if review else None,
                "t_test": t.to_dict(),
                "decider": decider,
                "verdict_method": decider.method,
            }
        if reps is not None and draws.layout is not None:
            per_aspect[name] = _per_aspect(reps, draws.layout, aspects, confidence)

    _adjust_and_decide(vs, alpha)
    family = {
        m: sum(1 for e in vs.values() if m in e["metrics"] and e["metrics"][m]["p"] is not None)
        for m in METRICS
    }
    notes = []
    k = max(family.values(), default=0)
    if k and k / n_boot >= alpha / 2:
        # bootstrap p-values cannot go below 1 / n_boot, and Holm multiplies the smallest by K
        notes.append(
            f"with {n_boot} bootstrap replicates no p-value is below {1 / n_boot:.2g}, so Holm "
            f"over {k} comparisons can hardly reach {alpha:g}; use more bootstrap replicates"
        )
    return {
        "baseline": baseline,
        "confidence": confidence,
        "n_boot": n_boot,
        "min_seeds": MIN_SEEDS,
        "methods": {
            "verdict": TWO_LEVEL_METHOD,
            "review_bootstrap": BOOTSTRAP_METHOD,
            "t_test": TTEST_METHOD,
            "multiplicity": "Holm-Bonferroni over the variants compared with the baseline, "
            "per metric",
        },
        "holm_comparisons": family,
        "notes": notes,
        "verdict_rule": (
            f"every metric: {TWO_LEVEL_METHOD}; p-values Holm-Bonferroni adjusted over the "
            "variants compared with the baseline (per metric); 'better' / 'worse' when the "
            f"adjusted p-value is below {alpha:g}, otherwise 'no detectable difference'; "
            f"no verdict with fewer than {MIN_SEEDS} paired seeds"
        ),
        "advice": {"targets": list(ADVICE_TARGETS), "alpha": alpha, "power": ADVICE_POWER},
        "aspects": aspects,
        "variants": summary,
        "vs_baseline": vs,
        "per_aspect": per_aspect,
    }


def _per_aspect(
    reps: PairedReplicates, layout: CountLayout, aspects: Sequence[str], confidence: float
) -> dict[str, Any]:
    """Per-aspect two-level intervals (exploratory: no multiplicity correction)."""
    out: dict[str, Any] = {}
    if reps.n_seeds >= MIN_SEEDS:
        low, high = percentile_interval(reps.two_level(confidence), confidence)
    for j, a in enumerate(aspects):
        out[a] = {}
        for metric in PER_ASPECT_METRICS:
            col = layout.column(metric, j)
            mean = float(reps.mean[col])
            if reps.n_seeds >= MIN_SEEDS:
                iv = Interval(mean, float(low[col]), float(high[col]), TWO_LEVEL_METHOD, confidence)
            else:
                iv = Interval(mean, math.nan, math.nan, TWO_LEVEL_METHOD, confidence)
            out[a][metric] = iv.to_dict()
    return out


def _adjust_and_decide(vs: dict[str, Any], alpha: float) -> None:
    """Holm-adjust each metric's p-values over the variants, then set the verdicts.

    Comparisons with too few paired seeds are not tested, so they are not in
    the family either.
    """
    for metric in METRICS:
        entries = [
            (len(e["paired_seeds"]), e["metrics"][metric])
            for e in vs.values()
            if metric in e["metrics"]
        ]
        raw = [d["decider"].p_value if n >= MIN_SEEDS else None for n, d in entries]
        for (n, d), p, p_adj in zip(entries, raw, holm(raw), strict=True):
            decider: Interval = d.pop("decider")
            d["p"], d["p_adjusted"] = p, p_adj
            if n < MIN_SEEDS:
                d["verdict"] = too_few_seeds(n)
            else:
                d["verdict"] = adjusted_verdict(decider, p_adj, alpha)
            if d["two_level"] is not None:
                two = d["two_level"].to_dict()
                two["p_adjusted"] = p_adj
                two["verdict"] = d["verdict"]
                d["two_level"] = two

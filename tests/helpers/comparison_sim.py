"""Simulated comparisons (per-review outcomes, no training) for calibrating the verdict rules.

A test set has ``N`` reviews of ``A`` aspects; a cell is a gold mention with
probability 0.25 and has a difficulty logit. A run (variant, seed) gets each
cell right with probability ``sigmoid(logit + seed effect + shift)``; a miss
on a gold mention is an FN (and an FP too when it predicted the wrong
polarity, half the time), a miss on a ``none`` cell an FP. The seed effect,
drawn per run from ``N(0, seed_sd)``, is training randomness; the Bernoulli
draw per cell is each seed getting different reviews right.

Used by ``tests/test_significance_calibration.py`` and
``benchmarks/significance_calibration.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from acsa.evaluation.significance import (
    PairedReplicates,
    paired_t_interval,
    percentile_interval,
    review_interval,
    seed_expansion,
    triple_f1,
    two_level_bootstrap,
    two_level_interval,
)


def make_test_set(
    rng: np.random.Generator, n_reviews: int, n_aspects: int, spread: float = 2.5
) -> tuple[np.ndarray, np.ndarray]:
    """``(gold mention [N, A] bool, difficulty logit [N, A])``."""
    gold = rng.random((n_reviews, n_aspects)) < 0.25
    centre = np.where(gold, 3.0, 7.0)
    return gold, centre + spread * rng.normal(size=gold.shape)


def redraw(
    rng: np.random.Generator, test: tuple[np.ndarray, np.ndarray], rho: float, spread: float = 2.5
) -> tuple[np.ndarray, np.ndarray]:
    """A variant as good as the baseline on average that errs on other reviews.

    Its logits are the baseline's correlated (``rho``) with a fresh draw of
    the same distribution, so both are identical in distribution but differ
    review by review: the test-set sampling then matters.
    """
    gold, logit = test
    centre = np.where(gold, 3.0, 7.0)
    z = (logit - centre) / spread
    fresh = rho * z + np.sqrt(1 - rho**2) * rng.normal(size=z.shape)
    return gold, centre + spread * fresh


def run_counts(
    rng: np.random.Generator,
    test: tuple[np.ndarray, np.ndarray],
    n_seeds: int,
    seed_sd: float,
    shift: float = 0.0,
) -> np.ndarray:
    """Pair TP/FP/FN per review ``[S, N, 3]`` of ``n_seeds`` runs on ``test``."""
    gold, logit = test
    effect = rng.normal(0.0, seed_sd, size=(n_seeds, 1, 1))
    p = 1.0 / (1.0 + np.exp(-(logit[None] + effect + shift)))
    correct = rng.random(p.shape) < p
    wrong_polarity = rng.random(p.shape) < 0.5
    tp = gold & correct
    fn = gold & ~correct
    fp = (gold & ~correct & wrong_polarity) | (~gold & ~correct)
    return np.stack([tp.sum(-1), fp.sum(-1), fn.sum(-1)], axis=-1)


def _outside(reps: np.ndarray, confidence: float = 0.95) -> bool:
    low, high = percentile_interval(reps, confidence)
    return not low <= 0.0 <= high


def _nested(r: PairedReplicates, expand: bool) -> bool:
    # reviews resampled inside every resampled seed: mean over resampled seeds of d_s(w)
    nested = np.einsum("bs,bs->b", r.seed_counts, r.per_seed[..., 0]) / r.n_seeds
    review = r.review_level[:, 0]
    c = seed_expansion(r.n_seeds, 0.95) if expand else 1.0
    return _outside(review + c * (nested - review))


def _shared_only(r: PairedReplicates) -> bool:
    mean = r.mean[0]
    review = r.review_level[:, 0] - mean
    var = review.var()
    k = min(1.0, float(np.sqrt(r.shared_test_variance()[0] / var))) if var > 0 else 0.0
    c = seed_expansion(r.n_seeds, 0.95)
    return _outside(mean + c * (r.seed_level[:, 0] - mean) + k * review)


Rule = Callable[[PairedReplicates, np.ndarray, np.ndarray], bool]
RULES: dict[str, Rule] = {
    "two_level": lambda r, v, b: not two_level_interval(r, 0, p_value=False).contains_zero,
    "review_only": lambda r, v, b: not review_interval(r, 0).contains_zero,
    "t_test": lambda r, v, b: (
        not paired_t_interval(triple_f1(v.sum(axis=1)), triple_f1(b.sum(axis=1))).contains_zero
    ),
    "nested": lambda r, v, b: _nested(r, expand=False),
    "nested_expanded": lambda r, v, b: _nested(r, expand=True),
    "shared_only": lambda r, v, b: _shared_only(r),
}


def detection_rates(
    n_trials: int,
    n_seeds: int,
    seed_sd: float,
    shift: float = 0.0,
    rho: float = 1.0,
    n_reviews: int = 1500,
    n_aspects: int = 11,
    n_boot: int = 200,
    seed: int = 0,
    rules: Sequence[str] = ("two_level", "review_only", "t_test"),
) -> dict[str, float]:
    """Share of trials in which each rule calls the variant different from the baseline.

    Every trial draws a new test set and new runs; ``shift`` is the
    variant's logit advantage (0: identical in distribution), ``rho < 1``
    makes the variant err on other reviews than the baseline.
    """
    rng = np.random.default_rng(seed)
    hits = dict.fromkeys(rules, 0)
    for _ in range(n_trials):
        test = make_test_set(rng, n_reviews, n_aspects)
        variant_test = redraw(rng, test, rho) if rho < 1.0 else test
        v = run_counts(rng, variant_test, n_seeds, seed_sd, shift)
        b = run_counts(rng, test, n_seeds, seed_sd)
        reps = two_level_bootstrap(v, b, n_boot=n_boot, seed=int(rng.integers(2**31)))
        for name in rules:
            hits[name] += RULES[name](reps, v, b)
    return {name: count / n_trials for name, count in hits.items()}


def mean_difference(shift: float, seed_sd: float, n_runs: int = 200, seed: int = 0) -> float:
    """The expected pair-F1 difference a logit ``shift`` makes (Monte Carlo over runs)."""
    rng = np.random.default_rng(seed)
    test = make_test_set(rng, 1500, 11)
    v = triple_f1(run_counts(rng, test, n_runs, seed_sd, shift).sum(axis=1))
    b = triple_f1(run_counts(rng, test, n_runs, seed_sd).sum(axis=1))
    return float(v.mean() - b.mean())


def run_f1_sd(seed_sd: float, n_runs: int = 200, seed: int = 0) -> float:
    """Standard deviation of one run's pair F1 over seeds on one test set."""
    rng = np.random.default_rng(seed)
    test = make_test_set(rng, 1500, 11)
    return float(triple_f1(run_counts(rng, test, n_runs, seed_sd).sum(axis=1)).std(ddof=1))

"""Is one configuration better than another? Paired statistics over seeds and test reviews.

A comparison trains every variant with the same seeds and scores every run
on the same test reviews. Two sources of variation the user does not
control enter a difference between two variants: which test reviews were
sampled, and the training randomness of each seed. The verdict must count
both (Bouthillier et al., "Accounting for Variance in Machine Learning
Benchmarks", MLSys 2021); counting only the test reviews treats the seeds as
fixed and calls seed-to-seed noise a difference, and counting only the
seeds treats the test set as the whole population.

**Two-level paired bootstrap (the verdict).** Run ``(v, s)`` is variant
``v`` with seed ``s``; ``d_s(w)`` is the difference of a metric between the
variant's and the baseline's run of seed ``s``, scored on the test reviews
with multiplicities ``w`` (``d_s`` on the full test set; ``d`` the mean of
``d_s`` over the ``S`` seeds). One replicate

1. draws ``S`` seeds with replacement (multiplicities ``m``), the same seed
   indices for the variant and the baseline (the pairing), as the stratified
   bootstrap over runs of Agarwal et al. (NeurIPS 2021) resamples runs; its
   seed level is ``mean_s m_s d_s``, the mean over the resampled seeds of the
   paired differences;
2. draws ``N`` test reviews with replacement (multiplicities ``w``), one draw
   shared by every run: the runs are crossed with the same reviews, not
   nested in them (a per-seed draw would shrink the test-set term by
   ``1 / S``); its review level is ``mean_s d_s(w)``;
3. recomputes every run's metric from the resampled per-review counts
   (:mod:`acsa.evaluation.count_scores`: micro-F1s from summed TP/FP/FN,
   sentiment macro-F1 and seed-style F1 from summed per-class counts, so all
   four metrics are judged by the same rule; F1 is not a mean over reviews,
   which is why it is recomputed rather than averaged, Dror et al., "The
   Hitchhiker's Guide to Testing Statistical Significance in NLP", ACL 2018);
4. is ``review level + c (seed level - d)``: the review level's spread
   around ``d`` plus the seed level's, widened by ``c``.

The seed level resamples the per-seed differences on the full test set;
resampling reviews inside every resampled seed as well (a nested
hierarchy) would add each seed's own review noise a second time, although
the seed-to-seed spread already contains it (resampling both stages of a
hierarchy overstates the variance, Davison and Hinkley, "Bootstrap Methods
and their Application", 1997, section 3.8). The sum above still counts
that noise twice, once as seed spread and once divided by ``S`` in the
review level, which makes the rule conservative by that term (1.0-3.3%
false positives at a nominal 5% in the simulations); see
``docs/BENCHMARKS.md`` for the measured false-positive rates and power of
this form, the nested one and a form that keeps only the review noise
shared by all seeds (about exact, so above 5% in half of all checks).

``c`` corrects the seed level's few units: a bootstrap over ``S`` values is
too narrow -- it uses the plug-in variance ``(S - 1) / S * sd^2`` and normal
rather than ``t_{S-1}`` tails (the "narrowness bias" of the percentile
interval, Hesterberg, The American Statistician 2015), so
``c = t_{S-1, 1-a/2} / z_{1-a/2} * sqrt(S / (S - 1))``, which turns the
percentile interval of a seed bootstrap of normal differences into the
paired t-interval.

The interval is the ``a/2`` and ``1 - a/2`` percentiles of the replicates.
The seed level covers training randomness (Bouthillier et al.'s "sources of
variation"), the review level the sampling of the test set, which a t-test
over seeds treats as fixed.

**p-value and several variants.** The two-sided p-value is the smallest
level ``a'`` at which the (``a'``-expanded) interval excludes 0, so
``p < a`` exactly when the ``1 - a`` interval excludes 0 (``c`` depends on the
level, so each level uses its own replicates). With ``K``
variants against one baseline, the p-values of each metric are adjusted by
Holm's step-down procedure (Holm, Scand. J. Statist. 1979), which keeps the
family-wise error at ``a``; a variant is ``better`` / ``worse`` only when its
adjusted p-value is below ``a``. Fewer than :data:`MIN_SEEDS` paired seeds
give no verdict: a seed resample of 2 seeds has 3 distinct outcomes.

**Extra columns, each labelled for what it measures.** The paired review
bootstrap pooled across seeds (test-set sampling only: the seeds held fixed)
and the paired t-test over seeds (seed-to-seed only: the test set held
fixed).

How many seeds a target difference needs is answered from the same
replicates in :mod:`acsa.evaluation.seed_power`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from acsa.evaluation.f1 import f1_from_counts

NONE_LABEL = 0
VERDICT_BETTER = "better"
VERDICT_WORSE = "worse"
VERDICT_NONE = "no detectable difference"
MIN_SEEDS = 3
TWO_LEVEL_METHOD = (
    "two-level paired bootstrap over seeds and test reviews "
    "(percentile interval, seed level t-expanded)"
)
BOOTSTRAP_METHOD = (
    "paired bootstrap over test reviews, seeds held fixed (test-set sampling only; "
    "percentile interval)"
)
TTEST_METHOD = "paired t-test over seeds, test set held fixed (seed-to-seed only; t-interval)"


def too_few_seeds(n_seeds: int) -> str:
    """The verdict given instead of better/worse when there are too few paired seeds."""
    return f"too few seeds: {n_seeds}; need >= {MIN_SEEDS}"


def review_counts(gold: np.ndarray, pred: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Per-review, per-aspect TP/FP/FN of the pair and the aspect-detection tasks.

    Args:
        gold: canonical gold labels ``[N, A]`` (0 = none, 1-3 = polarities).
        pred: canonical predictions ``[N, A]``.
        mask: ``[N, A]`` bool, ``False`` for cells whose gold label is unknown;
            those cells count nowhere.

    Returns:
        int64 array ``[N, A, 2, 3]``: task axis ``0 = pair, 1 = aspect``;
        last axis ``TP, FP, FN`` (GUIDE.md section 2 definitions).
    """
    gold = np.asarray(gold)
    pred = np.asarray(pred)
    if gold.shape != pred.shape or gold.ndim != 2:
        raise ValueError(f"gold and pred must both be [N, A], got {gold.shape} and {pred.shape}")
    valid = np.ones(gold.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    gold_on = (gold != NONE_LABEL) & valid
    pred_on = (pred != NONE_LABEL) & valid
    exact = gold_on & pred_on & (gold == pred)
    out = np.empty(gold.shape + (2, 3), dtype=np.int64)
    out[..., 0, 0] = exact
    out[..., 0, 1] = pred_on & ~exact
    out[..., 0, 2] = gold_on & ~exact
    out[..., 1, 0] = gold_on & pred_on
    out[..., 1, 1] = pred_on & ~gold_on
    out[..., 1, 2] = gold_on & ~pred_on
    return out


def triple_f1(counts: np.ndarray) -> np.ndarray:
    """Micro-F1 (:func:`~acsa.evaluation.f1.f1_from_counts`, in float64) over the last axis
    ``(TP, FP, FN)``; 0 where undefined."""
    counts = np.asarray(counts, dtype=np.float64)
    return np.asarray(f1_from_counts(counts[..., 0], counts[..., 1], counts[..., 2]))


def verdict(low: float, high: float) -> str:
    """``better`` if the interval lies above 0, ``worse`` if below, else no detectable
    difference."""
    if np.isfinite(low) and low > 0:
        return VERDICT_BETTER
    if np.isfinite(high) and high < 0:
        return VERDICT_WORSE
    return VERDICT_NONE


@dataclass(frozen=True)
class Interval:
    """A mean difference with its confidence interval and the method behind it."""

    mean: float
    low: float
    high: float
    method: str
    confidence: float = 0.95
    p_value: float | None = None
    p_adjusted: float | None = None

    @property
    def verdict(self) -> str:
        return verdict(self.low, self.high)

    @property
    def contains_zero(self) -> bool:
        return bool(self.low <= 0.0 <= self.high)

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["verdict"] = self.verdict
        return {k: finite_or_none(v) for k, v in data.items()}


def finite_or_none(value: object) -> object:
    """``value``, or ``None`` for a non-finite float (JSON has no NaN or infinity)."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def resample_weights(rng: np.random.Generator, n_boot: int, n: int) -> np.ndarray:
    """Multiplicity of each review in each replicate, ``[n_boot, n]``.

    Equivalent to drawing the index matrix ``rng.integers(0, n, (n_boot, n))``
    and counting, done with one ``bincount`` over flattened (row, index) ids so
    that sums over a replicate become one matrix product.
    """
    idx = rng.integers(0, n, size=(n_boot, n))
    flat = (idx + n * np.arange(n_boot)[:, None]).ravel()
    return np.bincount(flat, minlength=n_boot * n).reshape(n_boot, n)


def paired_bootstrap(
    variant_counts: np.ndarray,
    baseline_counts: np.ndarray,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    chunk_size: int = 500,
    return_replicates: bool = False,
) -> (
    tuple[np.ndarray, np.ndarray, np.ndarray]
    | tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
):
    """Paired bootstrap of the mean-over-seeds micro-F1 difference.

    Args:
        variant_counts: per-review counts ``[S, N, ..., 3]`` (seeds, reviews,
            any number of metric axes such as aspect or task, then TP/FP/FN).
        baseline_counts: same shape; seed ``s`` is paired with the variant's
            seed ``s`` and review ``n`` is the same review in both.
        n_boot: number of replicates.
        confidence: central interval mass, e.g. 0.95.
        seed: seed of the resampling RNG (the result is deterministic).
        chunk_size: replicates per chunk, to bound memory at
            ``chunk_size * N`` integers.
        return_replicates: also return the replicate differences ``[n_boot, ...]``.

    Returns:
        ``(mean, low, high)`` arrays of shape ``[...]``: the observed mean
        difference over seeds and the percentile interval; plus the
        replicates when asked.
    """
    var = np.asarray(variant_counts, dtype=np.float64)
    base = np.asarray(baseline_counts, dtype=np.float64)
    if var.shape != base.shape:
        raise ValueError(f"variant and baseline counts differ: {var.shape} vs {base.shape}")
    if var.ndim < 3 or var.shape[-1] != 3:
        raise ValueError(f"counts must be [S, N, ..., 3], got {var.shape}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    n_seeds, n = var.shape[0], var.shape[1]
    metric_shape = var.shape[2:-1]
    # [S, N, K*3]: every metric axis is carried through one matrix product
    var2 = var.reshape(n_seeds, n, -1)
    base2 = base.reshape(n_seeds, n, -1)
    diff_obs = triple_f1(var.sum(axis=1)) - triple_f1(base.sum(axis=1))
    mean_obs = diff_obs.mean(axis=0)

    rng = np.random.default_rng(seed)
    reps = np.empty((n_boot,) + metric_shape, dtype=np.float64)
    for start in range(0, n_boot, chunk_size):
        b = min(chunk_size, n_boot - start)
        weights = resample_weights(rng, b, n).astype(np.float64)
        # [S, b, K*3] summed counts of every run in every replicate
        v_sum = (weights @ var2).reshape((n_seeds, b) + metric_shape + (3,))
        b_sum = (weights @ base2).reshape((n_seeds, b) + metric_shape + (3,))
        reps[start : start + b] = (triple_f1(v_sum) - triple_f1(b_sum)).mean(axis=0)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.percentile(reps, [100 * alpha, 100 * (1 - alpha)], axis=0)
    if return_replicates:
        return mean_obs, low, high, reps
    return mean_obs, low, high


def bootstrap_interval(
    variant_counts: np.ndarray,
    baseline_counts: np.ndarray,
    n_boot: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """:func:`paired_bootstrap` for one metric: counts ``[S, N, 3]`` -> :class:`Interval`."""
    mean, low, high = paired_bootstrap(
        variant_counts, baseline_counts, n_boot=n_boot, confidence=confidence, seed=seed
    )
    return Interval(float(mean), float(low), float(high), BOOTSTRAP_METHOD, confidence)


def paired_t_interval(
    variant_scores: Sequence[float], baseline_scores: Sequence[float], confidence: float = 0.95
) -> Interval:
    """Paired t-test over seeds and the t-interval of the mean difference.

    With one seed there is no interval (``low = high = nan``); with identical
    differences across seeds the interval collapses to the mean and the
    p-value is undefined (``None``).
    """
    v = np.asarray(variant_scores, dtype=np.float64)
    b = np.asarray(baseline_scores, dtype=np.float64)
    if v.shape != b.shape or v.ndim != 1 or v.size == 0:
        raise ValueError(f"need two equal-length 1-d score lists, got {v.shape} and {b.shape}")
    d = v - b
    mean = float(d.mean())
    if d.size < 2:
        return Interval(mean, float("nan"), float("nan"), TTEST_METHOD, confidence, None)
    sd = float(d.std(ddof=1))
    # equal differences up to rounding: scipy would return a meaningless p-value
    if sd <= 1e-12 * max(1.0, abs(mean)):
        return Interval(mean, mean, mean, TTEST_METHOD, confidence, None)
    half = float(stats.t.ppf(0.5 + confidence / 2.0, d.size - 1)) * sd / np.sqrt(d.size)
    p_value = float(stats.ttest_rel(v, b).pvalue)
    return Interval(mean, float(mean - half), float(mean + half), TTEST_METHOD, confidence, p_value)


# ------------------------------------------------------------------ two-level bootstrap

Score = Callable[[np.ndarray], np.ndarray]


def _micro_f1_score(summed: np.ndarray) -> np.ndarray:
    return triple_f1(summed)[..., None]


def replicate_scores(
    run_counts: Sequence[np.ndarray],
    score: Score,
    n_boot: int,
    rng: np.random.Generator,
    chunk_size: int = 500,
) -> tuple[np.ndarray, np.ndarray]:
    """Scores of ``R`` runs on the full test set and on ``n_boot`` review resamples.

    Args:
        run_counts: per run, the per-review counts ``[N, Q]`` (same reviews, same order).
        score: maps summed counts ``[..., Q]`` to scores ``[..., M]``
            (e.g. :meth:`acsa.evaluation.count_scores.CountLayout.score`).
        n_boot: replicates.
        rng: the generator; every replicate's review draw comes from it in
            order, so the replicates do not depend on ``chunk_size``.
        chunk_size: replicates per chunk (memory ``chunk_size * N``).

    Returns:
        ``(observed [R, M], replicates [n_boot, R, M])``; in each replicate one
        review resample is shared by all runs, which keeps them paired.
    """
    if not run_counts:
        raise ValueError("need at least one run")
    n = run_counts[0].shape[0]
    if any(c.ndim != 2 or c.shape != run_counts[0].shape for c in run_counts):
        raise ValueError("every run's counts must be [N, Q] with the same N and Q")
    if n_boot < 1 or chunk_size < 1:
        raise ValueError(f"n_boot and chunk_size must be positive, got {n_boot}, {chunk_size}")
    peak = max(int(np.abs(c).max(initial=0)) for c in run_counts)
    # integer sums below 2^24 are exact in float32, and single precision halves the matmul
    dtype = np.float32 if peak * n < 2**24 else np.float64
    counts = [np.asarray(c, dtype=dtype) for c in run_counts]
    observed = score(np.stack([c.sum(axis=0, dtype=np.float64) for c in counts]))
    reps = np.empty((n_boot,) + observed.shape, dtype=np.float64)
    for start in range(0, n_boot, chunk_size):
        b = min(chunk_size, n_boot - start)
        weights = resample_weights(rng, b, n).astype(dtype)
        sums = np.stack([weights @ c for c in counts], axis=1)  # [b, R, Q]
        reps[start : start + b] = score(sums.astype(np.float64))
    return observed, reps


@dataclass(frozen=True)
class PairedReplicates:
    """Bootstrap replicates of the paired differences of one variant against the baseline.

    Attributes:
        observed: ``[S, M]`` per-seed differences on the full test set.
        per_seed: ``[B, S, M]`` per-seed differences under each replicate's
            review resample (shared by all seeds).
        seed_counts: ``[B, S]`` each replicate's seed multiplicities (sum ``S``).
    """

    observed: np.ndarray
    per_seed: np.ndarray
    seed_counts: np.ndarray

    @property
    def n_seeds(self) -> int:
        return int(self.observed.shape[0])

    @property
    def mean(self) -> np.ndarray:
        """``[M]``: the observed mean difference over seeds."""
        return self.observed.mean(axis=0)

    @property
    def review_level(self) -> np.ndarray:
        """``[B, M]``: the review-only bootstrap (every seed once, test reviews resampled)."""
        return self.per_seed.mean(axis=1)

    @property
    def seed_level(self) -> np.ndarray:
        """``[B, M]``: mean over the resampled seeds of the observed differences."""
        return self.seed_counts @ self.observed / self.n_seeds

    def shared_test_variance(self) -> np.ndarray:
        """``[M]``: variance of the test-set sampling shared by all seeds.

        The mean covariance, across review resamples, of two different seeds'
        differences; with one seed, the variance of that seed's difference.
        """
        centred = self.per_seed - self.per_seed.mean(axis=0)
        s = self.n_seeds
        if s < 2:
            return (centred[:, 0] ** 2).mean(axis=0)
        total = (centred.sum(axis=1) ** 2).mean(axis=0)
        own = (centred**2).mean(axis=0).sum(axis=0)
        return np.maximum((total - own) / (s * (s - 1)), 0.0)

    def per_seed_test_variance(self) -> np.ndarray:
        """``[M]``: the test-set noise of one seed's difference that other seeds do not share.

        From ``var(review_level) = v_shared + v_own / S``.
        """
        own = self.review_level.var(axis=0) - self.shared_test_variance()
        return np.maximum(own * self.n_seeds, 0.0)

    def two_level(self, confidence: float = 0.95) -> np.ndarray:
        """``[B, M]`` two-level replicates (module docstring), expanded for ``confidence``."""
        mean = self.mean
        c = seed_expansion(self.n_seeds, confidence)
        return self.review_level + c * (self.seed_level - mean)


def paired_replicates(
    variant: np.ndarray,
    baseline: np.ndarray,
    variant_observed: np.ndarray,
    baseline_observed: np.ndarray,
    seed_counts: np.ndarray,
) -> PairedReplicates:
    """Pair the replicate scores ``[B, S, M]`` of a variant's and the baseline's runs.

    Seed ``s`` of the variant is paired with seed ``s`` of the baseline, and
    ``seed_counts[b, s]`` weighs that pair in replicate ``b`` (the same
    indices for both sides).
    """
    if variant.shape != baseline.shape or variant.ndim != 3:
        raise ValueError(f"replicates must be [B, S, M] alike: {variant.shape}, {baseline.shape}")
    if seed_counts.shape != variant.shape[:2]:
        raise ValueError(f"seed_counts must be {variant.shape[:2]}, got {seed_counts.shape}")
    return PairedReplicates(
        observed=np.asarray(variant_observed) - np.asarray(baseline_observed),
        per_seed=variant - baseline,
        seed_counts=np.asarray(seed_counts, dtype=np.float64),
    )


def two_level_bootstrap(
    variant_counts: np.ndarray,
    baseline_counts: np.ndarray,
    score: Score | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    chunk_size: int = 500,
) -> PairedReplicates:
    """Two-level bootstrap replicates of one variant against the baseline.

    Args:
        variant_counts: per-review counts ``[S, N, Q]`` of the variant's runs.
        baseline_counts: same shape; seed ``s`` pairs with the variant's seed ``s``.
        score: summed counts ``[..., Q]`` -> scores ``[..., M]``; default
            micro-F1 of ``Q = 3`` columns ``TP, FP, FN`` (``M = 1``).
        n_boot: replicates.
        seed: seed of the one generator: the review draws of every chunk in
            order, then the seed draws.
        chunk_size: replicates per chunk; the replicates do not depend on it.

    Use :func:`two_level_interval` and :func:`review_interval` on the result.
    """
    var = np.asarray(variant_counts)
    base = np.asarray(baseline_counts)
    if var.shape != base.shape or var.ndim != 3:
        raise ValueError(f"counts must both be [S, N, Q], got {var.shape} and {base.shape}")
    if score is None:
        if var.shape[-1] != 3:
            raise ValueError(f"the default score needs Q = 3 (TP, FP, FN), got {var.shape[-1]}")
        score = _micro_f1_score
    n_seeds = var.shape[0]
    rng = np.random.default_rng(seed)
    observed, reps = replicate_scores(list(var) + list(base), score, n_boot, rng, chunk_size)
    counts = resample_weights(rng, n_boot, n_seeds)
    return paired_replicates(
        reps[:, :n_seeds], reps[:, n_seeds:], observed[:n_seeds], observed[n_seeds:], counts
    )


def seed_expansion(n_seeds: int, confidence: float) -> float:
    """``t_{S-1, q} / z_q * sqrt(S / (S - 1))`` with ``q = (1 + confidence) / 2``.

    The factor that widens a percentile interval of a bootstrap mean over
    ``S`` normal values to the t-interval (module docstring).
    """
    if n_seeds < 2:
        raise ValueError(f"the seed level needs at least 2 seeds, got {n_seeds}")
    q = 0.5 + confidence / 2.0
    return float(stats.t.ppf(q, n_seeds - 1) / stats.norm.ppf(q) * np.sqrt(n_seeds / (n_seeds - 1)))


def _tail_count(n: int, level: float) -> float:
    """``n * level / 2``, the replicates in each tail, snapped to an integer within rounding.

    ``1 - 0.95`` is 0.050000000000000044 in floating point, so unsnapped the 2.5%
    point of 2,000 replicates would be the 51st value instead of the 50th, and the
    interval would exclude 0 where the p-value says it does not.
    """
    k = n * level / 2.0
    nearest = round(k)
    return float(nearest) if abs(k - nearest) <= 1e-9 * max(1.0, k) else k


def percentile_interval(reps: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """The ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` percentiles over axis 0.

    The inverted empirical CDF: with ``k`` = :func:`_tail_count` the low end is the
    ``ceil(k)``-th smallest replicate and the high end the ``(B - floor(k))``-th, which
    makes "the interval excludes 0" and "p < 1 - confidence" the same event.
    """
    ordered = np.sort(np.asarray(reps), axis=0)
    b = ordered.shape[0]
    k = _tail_count(b, 1.0 - confidence)
    low = ordered[max(int(np.ceil(k)), 1) - 1]
    high = ordered[min(b - int(np.floor(k)), b) - 1]
    return low, high


def _excludes_zero(reps: np.ndarray, level: float) -> bool:
    """Whether the ``1 - level`` :func:`percentile_interval` of ``reps`` excludes 0."""
    k = _tail_count(reps.size, level)
    return bool(np.count_nonzero(reps <= 0) < k or np.count_nonzero(reps >= 0) <= k)


def _inversion_p_value(reps: PairedReplicates, column: int) -> float:
    """The smallest level at which the expanded percentile interval excludes 0."""
    seed_dev = reps.seed_level[:, column] - reps.mean[column]
    review = reps.review_level[:, column]
    lo, hi = 1.0 / seed_dev.size, 0.999

    def excluded(level: float) -> bool:
        r = review + seed_expansion(reps.n_seeds, 1.0 - level) * seed_dev
        return _excludes_zero(r, level)

    if excluded(lo):
        return lo
    if not excluded(hi):
        return 1.0
    for _ in range(40):  # bisection on a log scale: relative precision ~1e-10
        mid = float(np.sqrt(lo * hi))
        if excluded(mid):
            hi = mid
        else:
            lo = mid
    return hi


def two_level_interval(
    reps: PairedReplicates, column: int = 0, confidence: float = 0.95, p_value: bool = True
) -> Interval:
    """The two-level interval of one score column (the verdict's interval).

    With fewer than :data:`MIN_SEEDS` seeds the interval is undefined
    (``nan``); the caller reports :func:`too_few_seeds` instead of a verdict.
    """
    mean = float(reps.mean[column])
    if reps.n_seeds < MIN_SEEDS:
        return Interval(mean, float("nan"), float("nan"), TWO_LEVEL_METHOD, confidence, None)
    low, high = percentile_interval(reps.two_level(confidence)[:, column], confidence)
    p = _inversion_p_value(reps, column) if p_value else None
    return Interval(mean, float(low), float(high), TWO_LEVEL_METHOD, confidence, p)


def review_interval(reps: PairedReplicates, column: int = 0, confidence: float = 0.95) -> Interval:
    """The review-only bootstrap (test-set sampling only) of one score column.

    The interval is the plain percentile interval of :func:`paired_bootstrap`;
    the p-value is twice the smaller share of replicates on either side of 0.
    """
    r = reps.review_level[:, column]
    alpha = (1.0 - confidence) / 2.0
    low, high = np.percentile(r, [100 * alpha, 100 * (1 - alpha)])
    tail = min(np.count_nonzero(r <= 0), np.count_nonzero(r >= 0))
    p = float(min(1.0, max(2.0 * tail, 1.0) / r.size))
    return Interval(
        float(reps.mean[column]), float(low), float(high), BOOTSTRAP_METHOD, confidence, p
    )


# ------------------------------------------------------------------ several variants


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values; ``None`` entries are not in the family.

    Sorted ascending, ``p_(i)`` becomes ``max_{j <= i} min(1, (K - j + 1) p_(j))``
    (``K`` tests); rejecting where the adjusted value is below ``alpha`` keeps
    the family-wise error rate at ``alpha``.
    """
    present = [(i, float(p)) for i, p in enumerate(p_values) if p is not None]
    k = len(present)
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (i, p) in enumerate(sorted(present, key=lambda x: x[1])):
        running = max(running, min(1.0, (k - rank) * p))
        out[i] = running
    return out


def adjusted_verdict(interval: Interval, p_adjusted: float | None, alpha: float) -> str:
    """better / worse when the adjusted p-value is below ``alpha``, by the sign of the mean."""
    if p_adjusted is None or not p_adjusted < alpha:
        return VERDICT_NONE
    if interval.mean > 0:
        return VERDICT_BETTER
    if interval.mean < 0:
        return VERDICT_WORSE
    return VERDICT_NONE

"""Is one loss configuration better than another? Paired statistics over seeds and reviews.

Two procedures, both reported by ``acsa compare``:

* **Paired bootstrap over test reviews, pooled across seeds** (the verdict rule).
  Every run of a variant with seed ``s`` is paired with the baseline run of the
  same seed; all runs are scored on the same test reviews. One bootstrap
  replicate draws ``N`` review indices with replacement (one draw shared by
  all seeds and both variants, which keeps the pairing), recomputes the
  micro-F1 of every run from its per-review TP/FP/FN counts, and takes the
  mean over seeds of ``F1(variant, s) - F1(baseline, s)``. The 95% interval is
  the 2.5 and 97.5 percentiles of the replicates. Micro-F1 is not an average
  over reviews, so the F1 is recomputed from the resampled counts rather than
  resampling per-review scores.
* **Paired t-test over seeds** (``scipy.stats.ttest_rel``) on the per-seed
  scores, with the t-interval ``mean +- t_{0.975, S-1} * sd / sqrt(S)``.

Why the bootstrap decides: the question users ask is whether the variant
will be better on reviews like these, and with a test set of about 1,500
reviews the sampling of the test set is the larger source of uncertainty;
the t-test treats the test set as fixed and, with 5 seeds (4 degrees of
freedom), has a wide and unstable interval, and none at all with 1 seed.
Seed-to-seed disagreement still enters the bootstrap: it shows up as
reviews on which the runs differ, and those are what the resampling varies.
The t-test is reported beside it so a reader sees when the two disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

NONE_LABEL = 0
VERDICT_BETTER = "better"
VERDICT_WORSE = "worse"
VERDICT_NONE = "no detectable difference"
BOOTSTRAP_METHOD = "paired bootstrap over test reviews, pooled across seeds (percentile interval)"
TTEST_METHOD = "paired t-test over seeds (t-interval)"


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


def f1_from_counts(counts: np.ndarray) -> np.ndarray:
    """Micro-F1 ``2TP / (2TP + FP + FN)`` over the last axis ``(TP, FP, FN)``; 0 where undefined."""
    counts = np.asarray(counts, dtype=np.float64)
    tp, fp, fn = counts[..., 0], counts[..., 1], counts[..., 2]
    denom = 2.0 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 2.0 * tp / np.where(denom > 0, denom, 1.0), 0.0)


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

    @property
    def verdict(self) -> str:
        return verdict(self.low, self.high)

    @property
    def contains_zero(self) -> bool:
        return bool(self.low <= 0.0 <= self.high)

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["verdict"] = self.verdict
        return {k: _jsonable(v) for k, v in data.items()}


def _jsonable(value: object) -> object:
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
    diff_obs = f1_from_counts(var.sum(axis=1)) - f1_from_counts(base.sum(axis=1))
    mean_obs = diff_obs.mean(axis=0)

    rng = np.random.default_rng(seed)
    reps = np.empty((n_boot,) + metric_shape, dtype=np.float64)
    for start in range(0, n_boot, chunk_size):
        b = min(chunk_size, n_boot - start)
        weights = resample_weights(rng, b, n).astype(np.float64)
        # [S, b, K*3] summed counts of every run in every replicate
        v_sum = (weights @ var2).reshape((n_seeds, b) + metric_shape + (3,))
        b_sum = (weights @ base2).reshape((n_seeds, b) + metric_shape + (3,))
        reps[start : start + b] = (f1_from_counts(v_sum) - f1_from_counts(b_sum)).mean(axis=0)
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

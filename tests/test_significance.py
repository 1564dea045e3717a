"""The comparison statistics against scipy and hand-written references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from acsa.evaluation.significance import (
    VERDICT_BETTER,
    VERDICT_NONE,
    VERDICT_WORSE,
    bootstrap_interval,
    f1_from_counts,
    paired_bootstrap,
    paired_t_interval,
    resample_weights,
    review_counts,
    verdict,
)


def _fake_predictions(rng: np.random.Generator, n: int, a: int, error: float) -> tuple:
    gold = rng.choice(4, size=(n, a), p=[0.8, 0.07, 0.03, 0.1])
    flip = rng.random((n, a)) < error
    pred = np.where(flip, rng.integers(0, 4, size=(n, a)), gold)
    return gold, pred


def _pair_counts(n_seeds: int, n: int, a: int, error: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    gold, _ = _fake_predictions(np.random.default_rng(99), n, a, 0.0)
    out = []
    for _ in range(n_seeds):
        flip = rng.random((n, a)) < error
        pred = np.where(flip, rng.integers(0, 4, size=(n, a)), gold)
        out.append(review_counts(gold, pred)[:, :, 0, :].sum(axis=1))  # pair task, all aspects
    return np.stack(out)  # [S, N, 3]


def test_review_counts_definitions() -> None:
    gold = np.array([[0, 1, 3, 2, 0]])
    pred = np.array([[0, 3, 3, 0, 2]])
    counts = review_counts(gold, pred)
    # pair: aspect 1 wrong polarity -> FP and FN; aspect 2 exact -> TP;
    # aspect 3 missed -> FN; aspect 4 spurious -> FP
    assert counts[0, :, 0, :].sum(axis=0).tolist() == [1, 2, 2]
    # aspect detection: aspects 1 and 2 detected, 3 missed, 4 spurious
    assert counts[0, :, 1, :].sum(axis=0).tolist() == [2, 1, 1]
    masked = review_counts(gold, pred, mask=np.array([[True, False, True, True, False]]))
    assert masked[0, :, 0, :].sum(axis=0).tolist() == [1, 0, 1]


def test_f1_from_counts_matches_formula_and_handles_empty() -> None:
    assert f1_from_counts(np.array([3, 1, 2])) == pytest.approx(6 / 9)
    assert f1_from_counts(np.array([0, 0, 0])) == 0.0


def test_resample_weights_equal_counting_the_index_matrix() -> None:
    w = resample_weights(np.random.default_rng(5), 7, 11)
    idx = np.random.default_rng(5).integers(0, 11, size=(7, 11))
    expected = np.stack([np.bincount(row, minlength=11) for row in idx])
    np.testing.assert_array_equal(w, expected)


def test_bootstrap_matches_naive_loop_exactly() -> None:
    var = _pair_counts(3, 40, 5, 0.2, seed=1)
    base = _pair_counts(3, 40, 5, 0.3, seed=2)
    n_boot = 200
    mean, low, high, reps = paired_bootstrap(
        var, base, n_boot=n_boot, seed=7, chunk_size=n_boot, return_replicates=True
    )
    idx = np.random.default_rng(7).integers(0, 40, size=(n_boot, 40))
    naive = []
    for row in idx:
        diffs = [
            f1_from_counts(var[s, row].sum(axis=0)) - f1_from_counts(base[s, row].sum(axis=0))
            for s in range(3)
        ]
        naive.append(np.mean(diffs))
    np.testing.assert_allclose(reps, naive, rtol=0, atol=1e-12)
    np.testing.assert_allclose([low, high], np.percentile(naive, [2.5, 97.5]), atol=1e-12)
    observed = np.mean(
        [f1_from_counts(var[s].sum(0)) - f1_from_counts(base[s].sum(0)) for s in range(3)]
    )
    assert mean == pytest.approx(observed)


def test_bootstrap_is_independent_of_chunking_for_one_chunk_draw() -> None:
    var = _pair_counts(2, 30, 4, 0.2, seed=3)
    base = _pair_counts(2, 30, 4, 0.25, seed=4)
    a = paired_bootstrap(var, base, n_boot=100, seed=1, chunk_size=100)
    b = paired_bootstrap(var, base, n_boot=100, seed=1, chunk_size=100)
    np.testing.assert_array_equal(np.array(a), np.array(b))


def test_bootstrap_agrees_with_scipy_bootstrap() -> None:
    n_seeds = 2
    var = _pair_counts(n_seeds, 300, 6, 0.15, seed=11)
    base = _pair_counts(n_seeds, 300, 6, 0.3, seed=12)
    # one 1-d sample per (run, count) so that scipy's paired resampling
    # draws the same reviews for every run, as ours does
    samples = [var[s, :, k] for s in range(n_seeds) for k in range(3)]
    samples += [base[s, :, k] for s in range(n_seeds) for k in range(3)]

    def statistic(*arrays: np.ndarray, axis: int = -1) -> np.ndarray:
        sums = [np.sum(x, axis=axis) for x in arrays]
        diffs = []
        for s in range(n_seeds):
            v = np.stack(sums[3 * s : 3 * s + 3], axis=-1)
            b = np.stack(sums[3 * (n_seeds + s) : 3 * (n_seeds + s) + 3], axis=-1)
            diffs.append(f1_from_counts(v) - f1_from_counts(b))
        return np.mean(diffs, axis=0)

    ref = stats.bootstrap(
        samples,
        statistic,
        paired=True,
        vectorized=True,
        n_resamples=4000,
        confidence_level=0.95,
        method="percentile",
        rng=np.random.default_rng(0),
    )
    interval = bootstrap_interval(var, base, n_boot=4000, seed=1)
    assert interval.mean == pytest.approx(statistic(*samples))
    width = ref.confidence_interval.high - ref.confidence_interval.low
    # Monte Carlo error of a percentile with 4000 replicates is a few percent of the width
    assert interval.low == pytest.approx(ref.confidence_interval.low, abs=0.08 * width)
    assert interval.high == pytest.approx(ref.confidence_interval.high, abs=0.08 * width)
    assert interval.verdict == VERDICT_BETTER


def test_identical_variant_gets_no_detectable_difference() -> None:
    counts = _pair_counts(3, 100, 5, 0.2, seed=5)
    interval = bootstrap_interval(counts, counts.copy(), n_boot=500)
    assert interval.contains_zero
    assert interval.mean == 0.0
    assert interval.verdict == VERDICT_NONE
    t = paired_t_interval([0.8, 0.81, 0.79], [0.8, 0.81, 0.79])
    assert t.contains_zero and t.verdict == VERDICT_NONE


def test_bootstrap_handles_metric_axes() -> None:
    rng = np.random.default_rng(0)
    gold, pred_a = _fake_predictions(rng, 50, 4, 0.1)
    _, pred_b = _fake_predictions(rng, 50, 4, 0.4)
    var = review_counts(gold, pred_a)[None]  # [1, N, A, 2, 3]
    base = review_counts(gold, pred_b)[None]
    mean, low, high = paired_bootstrap(var, base, n_boot=300)
    assert mean.shape == low.shape == high.shape == (4, 2)
    assert np.all(low <= mean + 1e-12) or np.all(np.isfinite(low))


def test_t_interval_matches_scipy() -> None:
    v = np.array([0.812, 0.805, 0.821, 0.799, 0.815])
    b = np.array([0.801, 0.806, 0.809, 0.790, 0.808])
    t = paired_t_interval(v, b)
    d = v - b
    half = stats.t.ppf(0.975, 4) * d.std(ddof=1) / np.sqrt(5)
    assert t.mean == pytest.approx(d.mean())
    assert t.low == pytest.approx(d.mean() - half)
    assert t.high == pytest.approx(d.mean() + half)
    assert t.p_value == pytest.approx(stats.ttest_rel(v, b).pvalue)
    ci = stats.ttest_rel(v, b).confidence_interval(0.95)
    assert (t.low, t.high) == pytest.approx((ci.low, ci.high))


def test_t_interval_degenerate_cases() -> None:
    one = paired_t_interval([0.8], [0.7])
    assert np.isnan(one.low) and one.verdict == VERDICT_NONE
    const = paired_t_interval([0.8, 0.9], [0.7, 0.8])
    assert const.low == const.high == pytest.approx(0.1)
    assert const.p_value is None


def test_verdict_rule() -> None:
    assert verdict(0.001, 0.02) == VERDICT_BETTER
    assert verdict(-0.02, -0.001) == VERDICT_WORSE
    assert verdict(-0.01, 0.01) == VERDICT_NONE
    assert verdict(0.0, 0.01) == VERDICT_NONE

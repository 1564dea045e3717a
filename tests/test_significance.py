"""The comparison statistics against scipy and hand-written references."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from acsa.evaluation.seed_power import minimum_detectable_difference, seed_advice, seeds_needed
from acsa.evaluation.significance import (
    BOOTSTRAP_METHOD,
    TWO_LEVEL_METHOD,
    VERDICT_BETTER,
    VERDICT_NONE,
    VERDICT_WORSE,
    Interval,
    adjusted_verdict,
    bootstrap_interval,
    holm,
    paired_bootstrap,
    paired_t_interval,
    percentile_interval,
    replicate_scores,
    resample_weights,
    review_counts,
    review_interval,
    seed_expansion,
    too_few_seeds,
    triple_f1,
    two_level_bootstrap,
    two_level_interval,
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


def test_triple_f1_matches_formula_and_handles_empty() -> None:
    assert triple_f1(np.array([3, 1, 2])) == pytest.approx(6 / 9)
    assert triple_f1(np.array([0, 0, 0])) == 0.0


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
            triple_f1(var[s, row].sum(axis=0)) - triple_f1(base[s, row].sum(axis=0))
            for s in range(3)
        ]
        naive.append(np.mean(diffs))
    np.testing.assert_allclose(reps, naive, rtol=0, atol=1e-12)
    np.testing.assert_allclose([low, high], np.percentile(naive, [2.5, 97.5]), atol=1e-12)
    observed = np.mean([triple_f1(var[s].sum(0)) - triple_f1(base[s].sum(0)) for s in range(3)])
    assert mean == pytest.approx(observed)


@pytest.mark.parametrize("chunk_size", [1, 37, 500, 4000])
def test_bootstrap_replicates_are_independent_of_chunking_and_all_distinct(
    chunk_size: int,
) -> None:
    # a generator re-created for every chunk repeats the first chunk's draws:
    # 4000 replicates in chunks of 500 would hold only 500 distinct values
    var = _pair_counts(2, 120, 4, 0.2, seed=3)
    base = _pair_counts(2, 120, 4, 0.25, seed=4)
    n_boot = 4000
    *_, reference = paired_bootstrap(
        var, base, n_boot=n_boot, seed=1, chunk_size=n_boot, return_replicates=True
    )
    mean, low, high, reps = paired_bootstrap(
        var, base, n_boot=n_boot, seed=1, chunk_size=chunk_size, return_replicates=True
    )
    # one generator whose review draws run on from chunk to chunk: the same replicates
    np.testing.assert_array_equal(reps, reference)
    assert (low, high) == pytest.approx(tuple(np.percentile(reference, [2.5, 97.5])), abs=1e-12)
    assert mean == pytest.approx(
        np.mean([triple_f1(var[s].sum(0)) - triple_f1(base[s].sum(0)) for s in range(2)])
    )
    # every resample of 120 reviews is a different one; their F1 differences nearly
    # all differ too (two resamples may share a value by chance)
    assert len(np.unique(reps)) > 0.95 * n_boot


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
            diffs.append(triple_f1(v) - triple_f1(b))
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
    # every (aspect, task) cell is the bootstrap of that cell's counts alone (the same
    # review draws), and its mean the observed difference of the two F1s
    for a in range(4):
        for task in range(2):
            one = paired_bootstrap(var[:, :, a, task], base[:, :, a, task], n_boot=300)
            np.testing.assert_allclose(
                [mean[a, task], low[a, task], high[a, task]], one, rtol=0, atol=1e-12
            )
            observed = triple_f1(var[0, :, a, task].sum(0)) - triple_f1(base[0, :, a, task].sum(0))
            assert mean[a, task] == pytest.approx(observed, abs=1e-12)
    assert np.all(low < high)


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


# ------------------------------------------------------------------ two-level bootstrap


def test_two_level_replicates_match_a_naive_loop() -> None:
    s, n, b = 3, 30, 150
    var = _pair_counts(s, n, 4, 0.2, seed=21)
    base = _pair_counts(s, n, 4, 0.3, seed=22)
    reps = two_level_bootstrap(var, base, n_boot=b, seed=5, chunk_size=40)
    # the same draws by hand: every chunk's review indices in order, then the seed indices
    rng = np.random.default_rng(5)
    review_idx = np.concatenate(
        [rng.integers(0, n, size=(min(40, b - k), n)) for k in range(0, b, 40)]
    )
    seed_idx = rng.integers(0, s, size=(b, s))

    def diff(seed: int, rows: np.ndarray) -> float:
        return float(
            triple_f1(var[seed, rows].sum(axis=0)) - triple_f1(base[seed, rows].sum(axis=0))
        )

    observed = np.array([diff(k, np.arange(n)) for k in range(s)])
    c = seed_expansion(s, 0.95)
    naive = [
        np.mean([diff(k, rows) for k in range(s)]) + c * (observed[picks].mean() - observed.mean())
        for rows, picks in zip(review_idx, seed_idx, strict=True)
    ]
    np.testing.assert_allclose(reps.two_level(0.95)[:, 0], naive, rtol=0, atol=1e-12)
    interval = two_level_interval(reps, 0)
    low, high = np.quantile(naive, [0.025, 0.975], method="inverted_cdf")
    assert (interval.low, interval.high) == pytest.approx((low, high), abs=1e-12)
    assert interval.mean == pytest.approx(observed.mean())
    assert interval.method == TWO_LEVEL_METHOD


@pytest.mark.parametrize("chunk_size", [1, 37, 500, 4000])
def test_replicates_are_independent_of_chunking_and_all_distinct(chunk_size: int) -> None:
    # the audit's bug: a generator re-created per chunk repeats the same draws
    var = _pair_counts(5, 200, 4, 0.2, seed=31)
    base = _pair_counts(5, 200, 4, 0.3, seed=32)
    n_boot = 4000
    reference = two_level_bootstrap(var, base, n_boot=n_boot, seed=9, chunk_size=4000)
    reps = two_level_bootstrap(var, base, n_boot=n_boot, seed=9, chunk_size=chunk_size)
    np.testing.assert_array_equal(reps.per_seed, reference.per_seed)
    np.testing.assert_array_equal(reps.seed_counts, reference.seed_counts)
    rows = reps.per_seed.reshape(n_boot, -1)
    assert len(np.unique(rows, axis=0)) == n_boot
    # 5 seeds have 126 distinct multisets; 4000 draws from one generator hit nearly all
    assert len(np.unique(reps.seed_counts, axis=0)) > 110


def test_review_level_is_the_review_only_bootstrap() -> None:
    var = _pair_counts(3, 120, 5, 0.2, seed=41)
    base = _pair_counts(3, 120, 5, 0.3, seed=42)
    reps = two_level_bootstrap(var, base, n_boot=300, seed=4)
    _, low, high, old = paired_bootstrap(var, base, n_boot=300, seed=4, return_replicates=True)
    np.testing.assert_allclose(reps.review_level[:, 0], old, atol=1e-12)
    review = review_interval(reps, 0)
    assert (review.low, review.high) == pytest.approx((float(low), float(high)))
    assert review.method == BOOTSTRAP_METHOD


def test_seed_level_alone_reproduces_the_t_interval() -> None:
    # every review of a run identical: resampling reviews changes nothing, so the
    # two-level interval is the expanded seed bootstrap, which should match the t-interval
    rng = np.random.default_rng(0)
    s, n = 10, 50
    diffs = rng.normal(0.01, 0.02, size=s)
    base = np.tile(np.array([40, 10, 10]), (s, n, 1))
    tp = np.round(40 * (1 + diffs) / (1 - diffs)).astype(int)  # F1 differences of ~diffs
    var = base.copy()
    var[:, :, 0] = tp[:, None]
    reps = two_level_bootstrap(var, base, n_boot=20000, seed=1)
    assert np.allclose(reps.review_level, reps.mean)
    interval = two_level_interval(reps, 0)
    f_var = triple_f1(var.sum(axis=1))
    f_base = triple_f1(base.sum(axis=1))
    t = paired_t_interval(f_var, f_base)
    assert interval.mean == pytest.approx(t.mean)
    half_t = (t.high - t.low) / 2
    assert (interval.high - interval.low) / 2 == pytest.approx(half_t, rel=0.12)
    # without the expansion the percentile interval is clearly narrower than the t-interval
    plain = percentile_interval(reps.seed_level[:, 0], 0.95)
    assert (plain[1] - plain[0]) / 2 < 0.85 * half_t


def test_p_value_inverts_the_interval_at_every_level() -> None:
    for k, (err_v, err_b) in enumerate([(0.2, 0.25), (0.2, 0.21), (0.25, 0.2), (0.2, 0.2)]):
        var = _pair_counts(4, 150, 5, err_v, seed=50 + k)
        base = _pair_counts(4, 150, 5, err_b, seed=60 + k)
        reps = two_level_bootstrap(var, base, n_boot=1000, seed=k)
        p = two_level_interval(reps, 0).p_value
        assert p is not None and 0 < p <= 1
        for level in (0.01, 0.05, 0.1, 0.3):
            excluded = not two_level_interval(reps, 0, 1 - level, p_value=False).contains_zero
            if abs(p - level) > 1e-6:
                assert excluded == (p < level), (k, level, p)


def _naive_percentile_interval(reps: list[float], level: float) -> tuple[float, float]:
    """Inverted empirical CDF with exact fractions: the smallest value whose CDF reaches q."""
    from fractions import Fraction

    ordered = sorted(reps)
    n = len(ordered)
    q = Fraction(level).limit_denominator(10_000) / 2

    def quantile(p: Fraction) -> float:
        return next(x for j, x in enumerate(ordered, 1) if Fraction(j, n) >= p)

    return quantile(q), quantile(1 - q)


def test_percentile_interval_order_statistics_and_the_zero_test_agree() -> None:
    from acsa.evaluation.significance import _excludes_zero

    # 2,000 replicates at 95%: the 50th and the 1,950th values (1 - 0.95 is not exactly
    # 0.05 in floating point; the 51st would be one replicate off)
    values = np.arange(1.0, 2001.0)
    assert percentile_interval(values, 0.95) == (50.0, 1950.0)
    rng = np.random.default_rng(3)
    for _ in range(400):
        n = int(rng.integers(1, 50))
        reps = (rng.integers(-3, 4, n) + rng.integers(-3, 4)).astype(np.float64)
        for level in (0.05, 0.1, 0.5, 1 / n, 2 / n, 4 / n, 0.37):
            if not 0 < level < 1:
                continue
            low, high = percentile_interval(reps, 1 - level)
            assert (low, high) == _naive_percentile_interval(list(reps), level), (n, level)
            # "p < level" (the zero test the p-value bisects on) is "the interval excludes 0"
            assert _excludes_zero(reps, level) == (not low <= 0 <= high), (list(reps), level)
    # exactly 50 of 2,000 replicates at or below 0: the 95% interval reaches 0, p >= 0.05
    boundary = np.concatenate([np.full(50, -1.0), np.ones(1950)])
    assert percentile_interval(boundary, 0.95)[0] == -1.0
    assert not _excludes_zero(boundary, 0.05)
    assert _excludes_zero(boundary[1:], 0.05)


def test_p_value_of_a_symmetric_null_is_exactly_one() -> None:
    from acsa.evaluation.significance import PairedReplicates

    # every seed's difference 0, the review resamples split evenly around 0: no level
    # below 1 excludes 0, so p is 1 (not a bisection result a hair above it)
    b, s = 400, 4
    per_seed = np.repeat(np.where(np.arange(b) % 2 == 0, 0.01, -0.01)[:, None, None], s, axis=1)
    reps = PairedReplicates(np.zeros((s, 1)), per_seed, np.ones((b, s)))
    assert two_level_interval(reps, 0).p_value == 1.0
    # shifted above 0: every resample excludes it, p is the floor of the search, 1 / B
    shifted = PairedReplicates(np.zeros((s, 1)), per_seed + 0.02, np.ones((b, s)))
    assert two_level_interval(shifted, 0).p_value == pytest.approx(1 / b, rel=1e-6)


def test_too_few_seeds_gives_no_interval() -> None:
    var = _pair_counts(2, 50, 4, 0.1, seed=1)
    base = _pair_counts(2, 50, 4, 0.4, seed=2)
    reps = two_level_bootstrap(var, base, n_boot=100)
    interval = two_level_interval(reps, 0)
    assert np.isnan(interval.low) and interval.p_value is None
    assert too_few_seeds(2) == "too few seeds: 2; need >= 3"
    with pytest.raises(ValueError, match="at least 2 seeds"):
        seed_expansion(1, 0.95)


def test_shared_and_own_test_variance() -> None:
    # three copies of one seed: all test-set noise is shared, none is seed-specific
    one = _pair_counts(1, 200, 5, 0.2, seed=3)
    other = _pair_counts(1, 200, 5, 0.3, seed=4)
    reps = two_level_bootstrap(np.repeat(one, 3, 0), np.repeat(other, 3, 0), n_boot=500)
    assert reps.shared_test_variance()[0] == pytest.approx(reps.review_level[:, 0].var())
    assert reps.per_seed_test_variance()[0] == pytest.approx(0.0, abs=1e-12)
    # independent runs per seed: most test-set noise is each seed's own
    reps = two_level_bootstrap(
        _pair_counts(6, 200, 5, 0.2, seed=5), _pair_counts(6, 200, 5, 0.2, seed=6), n_boot=500
    )
    assert reps.per_seed_test_variance()[0] > reps.shared_test_variance()[0]


@pytest.mark.parametrize("n_seeds", [1, 2, 4])
def test_shared_test_variance_is_the_mean_covariance_of_two_seeds(n_seeds: int) -> None:
    reps = two_level_bootstrap(
        _pair_counts(n_seeds, 150, 4, 0.2, seed=7),
        _pair_counts(n_seeds, 150, 4, 0.3, seed=8),
        n_boot=300,
    )
    d = reps.per_seed[:, :, 0]
    centred = d - d.mean(axis=0)
    if n_seeds == 1:
        expected = float((centred[:, 0] ** 2).mean())
    else:
        pairs = [
            float((centred[:, i] * centred[:, j]).mean())
            for i in range(n_seeds)
            for j in range(n_seeds)
            if i != j
        ]
        expected = max(float(np.mean(pairs)), 0.0)
    assert reps.shared_test_variance()[0] == pytest.approx(expected, rel=1e-9, abs=1e-15)
    own = max((reps.review_level[:, 0].var() - expected) * n_seeds, 0.0)
    assert reps.per_seed_test_variance()[0] == pytest.approx(own, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("n_seeds", [2, 3, 10])
def test_seed_expansion_formula(n_seeds: int) -> None:
    for confidence in (0.9, 0.95):
        q = 0.5 + confidence / 2
        expected = (
            stats.t.ppf(q, n_seeds - 1) / stats.norm.ppf(q) * np.sqrt(n_seeds / (n_seeds - 1))
        )
        assert seed_expansion(n_seeds, confidence) == pytest.approx(expected, rel=1e-12)


def test_two_level_rejects_bad_shapes() -> None:
    from acsa.evaluation.significance import paired_replicates

    counts = _pair_counts(3, 10, 3, 0.2, seed=1)
    with pytest.raises(ValueError, match=r"counts must both be \[S, N, Q\]"):
        two_level_bootstrap(counts, counts[:2])
    with pytest.raises(ValueError, match=r"counts must both be \[S, N, Q\]"):
        two_level_bootstrap(counts[0], counts[0])
    with pytest.raises(ValueError, match="the default score needs Q = 3"):
        two_level_bootstrap(counts[..., :2], counts[..., :2])
    reps = np.zeros((5, 3, 1))
    with pytest.raises(ValueError, match=r"seed_counts must be \(5, 3\), got \(5, 2\)"):
        paired_replicates(reps, reps, np.zeros((3, 1)), np.zeros((3, 1)), np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"replicates must be \[B, S, M\] alike"):
        paired_replicates(reps, reps[:, :2], np.zeros((3, 1)), np.zeros((3, 1)), np.ones((5, 3)))


def test_bootstrap_rejects_bad_shapes_and_levels() -> None:
    counts = _pair_counts(2, 10, 3, 0.2, seed=1)
    for bad in (counts[0], counts[..., :2], np.zeros((2, 10, 4))):
        with pytest.raises(ValueError, match=r"counts must be \[S, N, \.\.\., 3\]"):
            paired_bootstrap(bad, bad)
    with pytest.raises(ValueError, match="variant and baseline counts differ"):
        paired_bootstrap(counts, counts[:, :5])
    for level in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"confidence must be in \(0, 1\)"):
            paired_bootstrap(counts, counts, confidence=level)


# ------------------------------------------------------------------ Holm, decisions, seed advice


def test_holm_against_hand_computed_values() -> None:
    raw = [0.01, 0.04, None, 0.03, 0.005]
    # sorted 0.005, 0.01, 0.03, 0.04 with K = 4: x4 = 0.02, x3 = 0.03, x2 = 0.06, x1 = 0.04 -> 0.06
    assert holm(raw) == pytest.approx([0.03, 0.06, None, 0.06, 0.02])
    assert holm([0.9, 0.8]) == pytest.approx([1.0, 1.0])
    assert holm([0.02]) == pytest.approx([0.02])
    assert holm([None, None]) == [None, None]
    rng = np.random.default_rng(0)
    for _ in range(50):
        p = list(rng.random(6) ** 3)
        adj = holm(p)
        assert all(a >= q for a, q in zip(adj, p, strict=True))
        assert all(a <= min(1.0, 6 * q) + 1e-15 for a, q in zip(adj, p, strict=True))
        order = np.argsort(p)
        assert np.all(np.diff(np.asarray(adj)[order]) >= 0)


def test_adjusted_verdict_uses_the_adjusted_p_value_and_the_sign() -> None:
    up = Interval(0.01, 0.001, 0.02, TWO_LEVEL_METHOD, p_value=0.01)
    down = Interval(-0.01, -0.02, -0.001, TWO_LEVEL_METHOD, p_value=0.01)
    assert adjusted_verdict(up, 0.03, 0.05) == VERDICT_BETTER
    assert adjusted_verdict(down, 0.03, 0.05) == VERDICT_WORSE
    assert adjusted_verdict(up, 0.06, 0.05) == VERDICT_NONE  # significant alone, not after Holm
    assert adjusted_verdict(up, None, 0.05) == VERDICT_NONE


def test_minimum_detectable_difference_has_the_stated_power() -> None:
    # with no test-set term the formula is the paired-t power approximation; the
    # exact power (noncentral t) at the computed difference should be close to 0.8
    sd, n = 0.004, 8
    mde = minimum_detectable_difference(sd, 0.0, n)
    df, nc = n - 1, mde / (sd / np.sqrt(n))
    crit = stats.t.ppf(0.975, df)
    power = stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc)
    assert power == pytest.approx(0.8, abs=0.03)
    # the shared test-set term does not shrink with seeds
    assert minimum_detectable_difference(sd, 0.002, 10**6) == pytest.approx(
        (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * 0.002, rel=1e-3
    )


def test_seeds_needed_is_the_first_count_that_suffices() -> None:
    sd, shared, own = 0.005, 0.0005, 0.002
    for delta in (0.005, 0.01):
        k = seeds_needed(delta, sd, shared, own_sd=own)
        assert k is not None and k >= 3
        assert minimum_detectable_difference(sd, shared, k, own_sd=own) <= delta
        if k > 3:
            assert minimum_detectable_difference(sd, shared, k - 1, own_sd=own) > delta
    assert seeds_needed(0.005, sd, 0.003) is None  # (1.96 + 0.84) * 0.3 points > 0.5 points


def test_seed_advice_from_replicates() -> None:
    var = _pair_counts(5, 200, 5, 0.2, seed=7)
    base = _pair_counts(5, 200, 5, 0.25, seed=8)
    reps = two_level_bootstrap(var, base, n_boot=400)
    advice = seed_advice(reps, 0)  # the default targets: 0.5 and 1 point
    assert advice is not None and advice.n_seeds == 5
    d = triple_f1(var.sum(axis=1)) - triple_f1(base.sum(axis=1))
    assert advice.seed_sd == pytest.approx(d.std(ddof=1))
    expected = minimum_detectable_difference(
        advice.seed_sd, advice.test_sd, 5, own_sd=advice.own_test_sd
    )
    assert advice.mde == pytest.approx(expected)
    assert set(advice.to_dict()["seeds_for"]) == {"0.005", "0.01"}
    assert seed_advice(two_level_bootstrap(var[:1], base[:1], n_boot=50), 0) is None


# ------------------------------------------------------------ arguments and defaults


def test_t_interval_rejects_mismatched_or_empty_scores() -> None:
    # each condition alone must raise (not only all three together)
    with pytest.raises(ValueError, match="equal-length"):
        paired_t_interval([0.8, 0.7, 0.9], [0.8, 0.7])  # 1-d, non-empty, other length
    with pytest.raises(ValueError, match="equal-length"):
        paired_t_interval([[0.8, 0.7]], [[0.8, 0.6]])  # same shape, 2-d
    with pytest.raises(ValueError, match="equal-length"):
        paired_t_interval([], [])  # same shape, 1-d, empty


def test_t_interval_degenerate_threshold_is_relative_to_large_means() -> None:
    # differences equal up to a relative 1e-13 of a large mean: rounding, not spread
    b = np.zeros(3)
    v = 1e6 + np.array([0.0, 1e-7, 2e-7])
    t = paired_t_interval(v, b)
    assert t.p_value is None
    assert t.low == t.high == t.mean == pytest.approx(1e6)
    # a real spread at the same scale is an ordinary t-interval
    spread = paired_t_interval(1e6 + np.array([0.0, 1.0, 2.0]), b)
    assert spread.p_value is not None and spread.low < spread.mean < spread.high


def test_interval_default_confidence_is_95_percent() -> None:
    assert Interval(0.01, 0.0, 0.02, BOOTSTRAP_METHOD).confidence == 0.95


def test_bootstrap_defaults_are_the_documented_ones() -> None:
    counts = _pair_counts(3, 60, 4, 0.2, seed=2)
    other = _pair_counts(3, 60, 4, 0.3, seed=3)
    default = paired_bootstrap(counts, other)
    explicit = paired_bootstrap(counts, other, n_boot=2000, confidence=0.95, seed=0)
    np.testing.assert_array_equal(np.asarray(default), np.asarray(explicit))
    assert not np.array_equal(
        np.asarray(default), np.asarray(paired_bootstrap(counts, other, seed=1))
    )
    interval = bootstrap_interval(counts, other)
    mean, low, high = paired_bootstrap(counts, other, n_boot=2000, seed=0)
    assert (interval.mean, interval.low, interval.high) == (mean, low, high)
    assert (interval.low, interval.high) != tuple(
        float(x) for x in paired_bootstrap(counts, other, n_boot=2001, seed=0)[1:]
    )


def test_replicate_scores_of_one_run_and_bad_arguments() -> None:
    rng = np.random.default_rng(0)
    counts = rng.integers(0, 3, size=(40, 3))

    def score(summed: np.ndarray) -> np.ndarray:
        return triple_f1(summed)[..., None]

    observed, reps = replicate_scores([counts], score, 50, np.random.default_rng(1))
    assert observed.shape == (1, 1) and reps.shape == (50, 1, 1)
    assert observed[0, 0] == pytest.approx(float(triple_f1(counts.sum(0))))
    with pytest.raises(ValueError, match="at least one run"):
        replicate_scores([], score, 50, rng)
    with pytest.raises(ValueError, match="must be positive"):
        replicate_scores([counts], score, 0, rng)
    with pytest.raises(ValueError, match="must be positive"):
        replicate_scores([counts], score, 10, rng, chunk_size=0)
    with pytest.raises(ValueError, match="same N and Q"):
        replicate_scores([counts, counts[:-1]], score, 10, rng)


def test_review_interval_p_value_is_twice_the_smaller_tail() -> None:
    from acsa.evaluation.significance import PairedReplicates

    # one seed: the review level is the per-seed replicate itself
    r = np.array([-0.02, 0.0, 0.01, 0.02, 0.03, 0.01, 0.02, 0.04, 0.05, 0.01])
    reps = PairedReplicates(np.array([[0.02]]), r[:, None, None], np.ones((10, 1)))
    interval = review_interval(reps)
    assert interval.p_value == pytest.approx(2 * 2 / 10)  # -0.02 and 0.0 are <= 0
    assert interval.mean == pytest.approx(0.02)
    far = PairedReplicates(np.array([[0.1]]), (r + 1.0)[:, None, None], np.ones((10, 1)))
    assert review_interval(far).p_value == pytest.approx(1 / 10)  # no replicate <= 0


def test_a_zero_mean_is_never_better_or_worse() -> None:
    zero = Interval(0.0, -0.01, 0.01, TWO_LEVEL_METHOD)
    assert adjusted_verdict(zero, 0.001, 0.05) == VERDICT_NONE


def test_minimum_detectable_difference_from_two_seeds() -> None:
    mde = minimum_detectable_difference(0.004, 0.0, 2)
    expected = (stats.t.ppf(0.975, 1) + stats.t.ppf(0.8, 1)) * 0.004 / np.sqrt(2)
    assert mde == pytest.approx(expected)
    with pytest.raises(ValueError, match="at least 2 seeds"):
        minimum_detectable_difference(0.004, 0.0, 1)


def test_seeds_needed_default_has_no_per_seed_test_noise() -> None:
    sd, shared = 0.005, 0.0005
    k = seeds_needed(0.01, sd, shared)
    assert k == seeds_needed(0.01, sd, shared, own_sd=0.0)
    assert k is not None and k < seeds_needed(0.01, sd, shared, own_sd=0.01)


def test_seed_advice_from_two_seeds() -> None:
    var = _pair_counts(2, 200, 5, 0.2, seed=7)
    base = _pair_counts(2, 200, 5, 0.25, seed=8)
    advice = seed_advice(two_level_bootstrap(var, base, n_boot=100), 0)
    assert advice is not None and advice.n_seeds == 2


def test_replicate_scores_with_a_single_replicate() -> None:
    counts = np.array([[1, 0, 1], [2, 1, 0], [0, 0, 1]])
    observed, reps = replicate_scores(
        [counts], lambda s: s, 1, np.random.default_rng(0), chunk_size=1
    )
    assert reps.shape == (1, 1, 3)
    np.testing.assert_array_equal(observed, [[3, 1, 2]])


def test_replicate_scores_are_exact_beyond_single_precision() -> None:
    # a count of 2^24 + 1 is not a float32 number: such sums must be done in float64
    for big in (np.array([[2**24 + 1, 0, 3]]), np.array([[2**24 + 1, 0, 3], [0, 0, 0]])):
        observed, reps = replicate_scores([big], lambda s: s, 50, np.random.default_rng(0))
        assert observed[0, 0] == 2**24 + 1
        # every replicate holds the big review k times: k * (2^24 + 1), exactly
        k = reps[:, 0, 2] / 3
        np.testing.assert_array_equal(reps[:, 0, 0], k * (2**24 + 1))


def test_review_interval_p_value_when_the_upper_tail_is_smaller() -> None:
    from acsa.evaluation.significance import PairedReplicates

    # replicates of exactly 0 belong to both tails
    r = np.array([-0.05] * 7 + [0.0, 0.0, 0.01])
    reps = PairedReplicates(np.array([[-0.03]]), r[:, None, None], np.ones((10, 1)))
    assert review_interval(reps).p_value == pytest.approx(2 * 3 / 10)


def test_seeds_needed_can_answer_exactly_max_seeds() -> None:
    sd, shared = 0.01, 0.0
    k = seeds_needed(0.01, sd, shared)
    assert k is not None and k > 3
    assert seeds_needed(0.01, sd, shared, max_seeds=k) == k
    assert seeds_needed(0.01, sd, shared, max_seeds=k - 1) is None


def test_seed_advice_defaults_to_the_first_column() -> None:
    var = _pair_counts(4, 200, 5, 0.2, seed=7)
    base = _pair_counts(4, 200, 5, 0.3, seed=8)
    reps = two_level_bootstrap(var, base, n_boot=100)
    assert seed_advice(reps) == seed_advice(reps, 0)
    assert seed_advice(reps).seed_sd == pytest.approx(reps.observed[:, 0].std(ddof=1))


def test_review_counts_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match=r"gold and pred must both be \[N, A\]"):
        review_counts(np.zeros((4, 2), int), np.zeros((4, 3), int))
    with pytest.raises(ValueError, match=r"gold and pred must both be \[N, A\]"):
        review_counts(np.zeros(4, int), np.zeros(4, int))


def test_two_level_bootstrap_default_replicates() -> None:
    var = _pair_counts(3, 40, 4, 0.2, seed=1)
    base = _pair_counts(3, 40, 4, 0.3, seed=2)
    default = two_level_bootstrap(var, base)
    assert default.per_seed.shape[0] == 2000
    np.testing.assert_array_equal(
        default.per_seed, two_level_bootstrap(var, base, n_boot=2000).per_seed
    )

"""Calibration of the verdict rules on simulated comparisons (Monte Carlo, no training).

Each trial draws a new test set of 1,500 reviews x 11 aspects and new runs
(``tests/helpers/comparison_sim.py``); the rules see only per-review counts,
as in ``acsa compare``. The full table (1,000 trials per cell, more
scenarios and seed counts) is ``benchmarks/significance_calibration.py``.
"""

from __future__ import annotations

import pytest

from tests.helpers.comparison_sim import detection_rates, mean_difference, run_f1_sd

# logit sd of the per-run seed effect; with the per-cell randomness one run's
# pair F1 then varies by about 0.6 points over seeds (0.45 at 0.02)
SEED_SD = 0.05


def test_identical_variants_get_no_verdict_in_at_least_95_percent_of_trials() -> None:
    # (a) same per-review correctness probabilities, independent seed effects from
    # the same distribution; the review-only rule, which holds the seeds fixed,
    # calls them different far more often than 5% of the time
    assert 0.5 < 100 * run_f1_sd(SEED_SD) < 0.8
    rates = detection_rates(
        200, n_seeds=5, seed_sd=SEED_SD, n_boot=200, seed=1, rules=("two_level", "review_only")
    )
    assert 1.0 - rates["two_level"] >= 0.95, rates
    assert rates["review_only"] >= 0.09, rates  # measured 0.15 over 1,000 trials


def test_equal_quality_variants_that_err_on_other_reviews() -> None:
    # identical in distribution but not review by review: the test set's sampling
    # matters, which the t-test over seeds holds fixed; the two-level rule counts it
    rates = detection_rates(
        200, n_seeds=10, seed_sd=SEED_SD, rho=0.7, n_boot=200, seed=2, rules=("two_level", "t_test")
    )
    assert 1.0 - rates["two_level"] >= 0.95, rates
    assert rates["t_test"] >= 0.09, rates  # measured 0.16 over 1,000 trials


def test_a_one_point_difference_is_detected_with_ten_seeds() -> None:
    # (b) a real 1-point pair-F1 difference, one run's F1 varying by ~0.45 points over seeds
    shift = 0.127
    assert 100 * mean_difference(shift, 0.02) == pytest.approx(1.0, abs=0.1)
    assert 0.4 < 100 * run_f1_sd(0.02) < 0.5
    rates = detection_rates(100, n_seeds=10, seed_sd=0.02, shift=shift, n_boot=200, seed=3)
    assert rates["two_level"] >= 0.8, rates

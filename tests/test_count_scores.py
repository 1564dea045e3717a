"""Metrics from summed per-review counts equal compute_metrics on the same (resampled) labels."""

from __future__ import annotations

import numpy as np
import pytest

from acsa.evaluation.count_scores import HEADLINE, CountLayout, per_review_counts
from acsa.evaluation.metrics import compute_metrics


def _labels(rng: np.random.Generator, n: int, a: int, masked: float) -> tuple:
    gold = rng.choice(4, size=(n, a), p=[0.6, 0.15, 0.05, 0.2])
    flip = rng.random((n, a)) < 0.3
    pred = np.where(flip, rng.integers(0, 4, size=(n, a)), gold)
    mask = rng.random((n, a)) >= masked
    return gold, pred, mask


@pytest.mark.parametrize("masked", [0.0, 0.2])
def test_scores_equal_compute_metrics_on_resampled_reviews(masked: float) -> None:
    rng = np.random.default_rng(3)
    n, a = 60, 5
    gold, pred, mask = _labels(rng, n, a, masked)
    # an aspect without neutral anywhere and one fully masked in part of the
    # data exercise the "absent polarity" and "aspect without cells" rules
    gold[:, 1] = np.where(gold[:, 1] == 2, 3, gold[:, 1])
    pred[:, 1] = np.where(pred[:, 1] == 2, 0, pred[:, 1])
    mask[: n // 2, 4] = False
    counts, layout = per_review_counts(gold, pred, mask)
    assert counts.shape == (n, layout.width)
    aspects = [f"a{j}" for j in range(a)]
    for trial in range(30):
        idx = rng.integers(0, n, size=n) if trial else np.arange(n)
        if trial == 1:
            idx = rng.integers(0, n // 2, size=n)  # aspect 4 has no scored cell at all
        w = np.bincount(idx, minlength=n)
        scores = layout.score(w @ counts)
        m = compute_metrics(gold[idx], pred[idx], aspects, mask[idx])
        for name in HEADLINE:
            assert scores[layout.column(name)] == pytest.approx(m[name], abs=1e-12), name
        for j, asp in enumerate(aspects):
            for name in ("pair_f1", "aspect_f1"):
                got = scores[layout.column(name, j)]
                assert got == pytest.approx(m["per_aspect"][asp][name], abs=1e-12)


def test_score_broadcasts_over_leading_axes_and_checks_width() -> None:
    gold, pred, mask = _labels(np.random.default_rng(0), 20, 3, 0.0)
    counts, layout = per_review_counts(gold, pred, mask)
    w = np.random.default_rng(1).integers(0, 3, size=(4, 2, 20))
    batched = layout.score(w @ counts)
    assert batched.shape == (4, 2, layout.n_scores)
    np.testing.assert_allclose(batched[2, 1], layout.score(w[2, 1] @ counts))
    with pytest.raises(ValueError, match="count columns"):
        layout.score(np.zeros(layout.width + 1))
    with pytest.raises(ValueError, match="per-aspect"):
        CountLayout(3).column("sentiment_macro_f1", 0)

"""The stricter out-of-fold guard (issue 18): thresholds (and blends) are adopted only when
their pooled out-of-fold gain exceeds a margin and they win on most folds."""

from __future__ import annotations

import numpy as np
import pytest

from acsa.evaluation.decision import (
    DEFAULT_MARGIN,
    DecisionRule,
    cross_validated_check,
    decision_summary,
    out_of_fold_verdict,
)


def _under_predicting(seed: int, shift: float, n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    """Gold drawn from calibrated probabilities; the model's 'none' logit raised by ``shift``
    (it under-predicts mentions, which thresholds repair: a little for a small shift)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, 3, 4)) * 2.0
    logits[..., 0] += 2.0
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    gold = (rng.uniform(size=(n, 3, 1)) > probs.cumsum(-1)).sum(-1).clip(0, 3)
    logits[..., 0] += shift
    shifted = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    return shifted.astype(np.float32), gold


def test_a_tiny_out_of_fold_gain_is_refused_a_clear_one_adopted() -> None:
    aspects = ["A", "B", "C"]
    probs, gold = _under_predicting(2, 0.1)
    # the old rule (gain > 0) would have adopted these thresholds
    loose = cross_validated_check(probs, gold, margin=0.0)
    assert loose is not None and 0.0 < loose.gain < DEFAULT_MARGIN and loose.adopted
    tiny = DecisionRule.fit(probs, gold, None, aspects)
    assert not tiny.fitted_on["adopted"] and np.isnan(tiny.thresholds).all()
    assert tiny.fitted_on["cv_gain_pair_f1"] == pytest.approx(loose.gain, abs=1e-6)
    assert "not above the margin" in tiny.fitted_on["reason"]
    assert len(tiny.fitted_on["cv_fold_gains"]) == 5
    summary = decision_summary(tiny)
    assert summary["rule"] == "argmax" and "margin" in summary["why"]
    probs, gold = _under_predicting(1, 0.5)
    clear = DecisionRule.fit(probs, gold, None, aspects)
    assert clear.fitted_on["adopted"] and clear.fitted_on["cv_gain_pair_f1"] > DEFAULT_MARGIN
    assert "better on" in clear.fitted_on["reason"]
    assert decision_summary(clear)["rule"] == "mention_threshold"
    # the margin is an option
    assert not DecisionRule.fit(probs, gold, None, aspects, margin=0.5).fitted_on["adopted"]


def test_a_gain_carried_by_one_fold_is_refused() -> None:
    gold = np.zeros((50, 1), dtype=np.int64)
    gold[::2] = 3
    fold = np.arange(50) % 5
    fallback = np.zeros_like(gold)
    candidate = fallback.copy()
    lucky = (fold == 0) & (gold[:, 0] == 3)
    candidate[lucky] = 3  # right only on fold 0
    check = out_of_fold_verdict(gold, None, fold, candidate, fallback, margin=0.0)
    assert check.gain > 0.05 and not check.adopted
    assert "only 1 of 5 folds" in check.reason
    everywhere = np.where(gold == 3, 3, 0)
    won = out_of_fold_verdict(gold, None, fold, everywhere, fallback, margin=DEFAULT_MARGIN)
    assert won.adopted and won.fold_gains == pytest.approx((1.0,) * 5)

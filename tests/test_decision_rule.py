"""The decision rule (acsa.evaluation.decision): thresholds fitted on validation, saved."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from acsa.errors import CheckpointError
from acsa.evaluation import compute_metrics
from acsa.evaluation.decision import (
    DECISION_FILE,
    DecisionRule,
    cross_validated_gain,
    decide,
    fit_thresholds,
)


def _case(seed: int, n: int = 200, a: int = 3, boost: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities that know the gold class, noisily; mostly 'none' as in ACSA data."""
    rng = np.random.default_rng(seed)
    gold = rng.choice(4, size=(n, a), p=[0.75, 0.08, 0.05, 0.12])
    logits = rng.normal(size=(n, a, 4))
    logits[np.arange(n)[:, None], np.arange(a)[None, :], gold] += boost
    logits[..., 0] += 0.8  # 'none' favoured, as a model trained on imbalanced data does
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    return probs.astype(np.float32), gold


def _pair_f1(gold: np.ndarray, pred: np.ndarray, mask: np.ndarray | None = None) -> float:
    return compute_metrics(gold, pred, [f"a{i}" for i in range(gold.shape[1])], mask)["pair_f1"]


def test_decide_follows_the_rule_cell_by_cell() -> None:
    probs, _ = _case(0)
    t = np.array([0.3, np.nan, 0.7])
    labels = decide(probs, t)
    for i, j in itertools.product(range(probs.shape[0]), range(probs.shape[1])):
        p = probs[i, j].astype(np.float64)
        if np.isnan(t[j]):
            expected = int(np.argmax(p))
        else:
            expected = 1 + int(np.argmax(p[1:])) if 1.0 - p[0] >= t[j] else 0
        assert labels[i, j] == expected, (i, j, p)


def test_decide_without_thresholds_is_the_argmax() -> None:
    probs, _ = _case(1)
    np.testing.assert_array_equal(decide(probs), probs.argmax(-1))
    np.testing.assert_array_equal(decide(probs, np.full(3, np.nan)), probs.argmax(-1))
    with pytest.raises(ValueError, match="thresholds must have shape"):
        decide(probs, np.array([0.5]))


def test_aspect_objective_is_each_aspects_best_threshold_by_brute_force() -> None:
    probs, gold = _case(2, a=4)
    grid = np.round(np.arange(0.1, 0.91, 0.05), 2)
    t = fit_thresholds(probs, gold, objective="aspect", grid=grid, min_mentions=1)
    for a in range(4):
        p, g = probs[:, a : a + 1], gold[:, a : a + 1]
        argmax_f1 = _pair_f1(g, decide(p))
        best = max(_pair_f1(g, decide(p, np.array([c]))) for c in grid)
        got = _pair_f1(g, decide(p, t[a : a + 1]))
        assert got == pytest.approx(max(best, argmax_f1))
        if np.isnan(t[a]):
            assert argmax_f1 >= best - 1e-12


def test_micro_objective_never_loses_to_argmax_and_beats_aspect_on_the_fitted_split() -> None:
    for seed in range(6):
        probs, gold = _case(10 + seed, a=5)
        argmax_f1 = _pair_f1(gold, decide(probs))
        micro = _pair_f1(gold, decide(probs, fit_thresholds(probs, gold, min_mentions=1)))
        aspect = _pair_f1(
            gold, decide(probs, fit_thresholds(probs, gold, objective="aspect", min_mentions=1))
        )
        assert micro >= argmax_f1 - 1e-12
        # coordinate ascent on the micro-F1 ends at a point no single aspect can improve,
        # which the per-aspect optimum need not be
        assert micro >= aspect - 0.005


def test_micro_objective_reaches_the_exhaustive_optimum_on_two_aspects() -> None:
    probs, gold = _case(3, n=150, a=2)
    grid = np.round(np.arange(0.1, 0.91, 0.1), 2)
    t = fit_thresholds(probs, gold, grid=grid, min_mentions=1)
    options = [np.nan, *grid]
    best = max(
        _pair_f1(gold, decide(probs, np.array(pair)))
        for pair in itertools.product(options, options)
    )
    assert _pair_f1(gold, decide(probs, t)) == pytest.approx(best)


def test_rare_aspects_keep_the_argmax_rule() -> None:
    probs, gold = _case(4, a=3)
    gold[:, 1] = 0
    gold[:4, 1] = 3  # four mentions: below min_mentions=5
    t = fit_thresholds(probs, gold, min_mentions=5)
    assert np.isnan(t[1])
    assert np.isnan(fit_thresholds(probs, gold, min_mentions=10_000)).all()


def test_masked_cells_are_left_out() -> None:
    probs, gold = _case(5, a=2)
    mask = np.ones(gold.shape, dtype=bool)
    mask[::3, 0] = False
    t = fit_thresholds(probs, gold, mask, min_mentions=1)
    # changing the gold label of masked cells changes nothing
    other = gold.copy()
    other[~mask] = 3
    np.testing.assert_array_equal(t, fit_thresholds(probs, other, mask, min_mentions=1))


def test_a_perfect_argmax_keeps_the_argmax_rule() -> None:
    gold = np.array([[0], [1], [2], [3], [0], [3]] * 3)
    probs = np.full(gold.shape + (4,), 0.02, dtype=np.float32)
    probs[np.arange(len(gold)), 0, gold[:, 0]] = 0.94
    # every threshold between 0.06 and 0.94 ties with the argmax: the argmax is kept
    assert np.isnan(fit_thresholds(probs, gold, min_mentions=1)).all()


def test_thresholds_find_mentions_that_argmax_misses() -> None:
    # a mention spread over two polarities: argmax says 'none', the summed mass says mentioned
    gold = np.array([[3]] * 10 + [[0]] * 10)
    probs = np.zeros((20, 1, 4), dtype=np.float32)
    probs[:10, 0] = [0.4, 0.0, 0.25, 0.35]
    probs[10:, 0] = [0.9, 0.05, 0.0, 0.05]
    t = fit_thresholds(probs, gold, min_mentions=1)
    assert 0.1 < t[0] <= 0.6
    assert _pair_f1(gold, decide(probs, t)) == 1.0
    assert _pair_f1(gold, decide(probs)) == 0.0


def test_bad_arguments_are_rejected() -> None:
    probs, gold = _case(6)
    with pytest.raises(ValueError, match="objective"):
        fit_thresholds(probs, gold, objective="macro")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="gold must have shape"):
        fit_thresholds(probs, gold[:, :2])
    with pytest.raises(ValueError, match=r"\[N, A, 4\]"):
        fit_thresholds(probs[..., :3], gold)


def test_rule_round_trips_through_decision_json(tmp_path: Path) -> None:
    probs, gold = _case(7, a=3)
    gold[:, 2] = 0  # no mentions: argmax kept, saved as null
    rule = DecisionRule.fit(probs, gold, None, ["A", "B", "C"], min_mentions=3, cv_folds=0)
    assert rule.fitted_on["adopted"] and rule.fitted_on["cv_gain_pair_f1"] is None
    path = rule.save(tmp_path)
    assert path.name == DECISION_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["thresholds"]["C"] is None
    assert data["fitted_on"]["gold_mentions"]["C"] == 0
    assert data["fitted_on"]["pair_f1_thresholds"] >= data["fitted_on"]["pair_f1_argmax"]
    loaded = DecisionRule.load(tmp_path, ("A", "B", "C"))
    assert loaded is not None
    np.testing.assert_array_equal(loaded.thresholds, rule.thresholds)
    np.testing.assert_array_equal(loaded.decide(probs), rule.decide(probs))
    assert DecisionRule.load(tmp_path / "elsewhere") is None


def test_damaged_or_foreign_decision_files_are_one_line_errors(tmp_path: Path) -> None:
    rule = DecisionRule(("A", "B"), np.array([0.3, np.nan]))
    rule.save(tmp_path)
    with pytest.raises(CheckpointError, match="another model"):
        DecisionRule.load(tmp_path, ("A", "C"))
    path = tmp_path / DECISION_FILE
    data = json.loads(path.read_text(encoding="utf-8"))
    data["thresholds"]["A"] = 1.5
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(CheckpointError, match="outside"):
        DecisionRule.load(tmp_path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CheckpointError, match="unreadable"):
        DecisionRule.load(tmp_path)


def test_cross_validated_gain_is_the_pooled_out_of_fold_difference() -> None:
    probs, gold = _case(8, n=100, a=3)
    folds = 4
    fold = np.random.default_rng(0).permutation(100) % folds
    pred = np.zeros_like(gold)
    for k in range(folds):
        t = fit_thresholds(probs[fold != k], gold[fold != k], min_mentions=2)
        pred[fold == k] = decide(probs[fold == k], t)
    expected = _pair_f1(gold, pred) - _pair_f1(gold, decide(probs))
    got = cross_validated_gain(probs, gold, folds=folds, min_mentions=2)
    assert got == pytest.approx(expected)
    assert cross_validated_gain(probs[:5], gold[:5], folds=4) == 0.0  # too few reviews


def test_thresholds_are_kept_only_when_they_beat_the_argmax_out_of_fold() -> None:
    # spread mentions (argmax says none): thresholds win on every fold and are kept
    rng = np.random.default_rng(0)
    gold = rng.choice([0, 3], size=(300, 2), p=[0.7, 0.3])
    probs = np.zeros((300, 2, 4), dtype=np.float32)
    mentioned = gold == 3
    probs[mentioned] = [0.4, 0.0, 0.25, 0.35]
    probs[~mentioned] = [0.9, 0.05, 0.0, 0.05]
    probs += rng.uniform(0, 0.02, size=probs.shape).astype(np.float32)
    probs /= probs.sum(-1, keepdims=True)
    kept = DecisionRule.fit(probs, gold, None, ["A", "B"])
    assert kept.fitted_on["adopted"] and kept.fitted_on["cv_gain_pair_f1"] > 0
    assert not np.isnan(kept.thresholds).any()
    # gold drawn from the probabilities (a calibrated model): on these 400 reviews the
    # thresholds fitted on 4/5 lose on the held-out fifth, so the argmax is kept
    calibrated, cal_gold = _calibrated_case(400)
    dropped = DecisionRule.fit(calibrated, cal_gold, None, ["A", "B", "C"])
    assert dropped.fitted_on["cv_gain_pair_f1"] < 0 and not dropped.fitted_on["adopted"]
    assert np.isnan(dropped.thresholds).all()
    np.testing.assert_array_equal(dropped.decide(calibrated), calibrated.argmax(-1))
    # in-sample the thresholds would have looked better: that is what the check guards
    in_sample = fit_thresholds(calibrated, cal_gold)
    assert _pair_f1(cal_gold, decide(calibrated, in_sample)) > dropped.fitted_on["pair_f1_argmax"]


def _calibrated_case(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gold labels drawn from the probabilities themselves: the model is calibrated."""
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(n, 3, 4)) * 2.0
    logits[..., 0] += 2.0
    probs = (np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)).astype(np.float32)
    cumulative = probs.astype(np.float64).cumsum(-1)
    gold = (rng.uniform(size=(n, 3, 1)) > cumulative).sum(-1).clip(0, 3)
    return probs, gold


def test_seed_scheme_runs_get_thresholds_on_canonical_probabilities(tmp_path: Path) -> None:
    """Under label_scheme: seed, 'mentioned' means positive or negative; the rule still
    round-trips: the run's test scores equal a reloaded model's."""
    from acsa import api
    from acsa.training.config import config_from_dict
    from acsa.training.run import train
    from tests.test_training import small_config, write_synthetic_data

    data = write_synthetic_data(tmp_path / "data", sizes=(160, 60, 60))
    raw = small_config(data, tmp_path / "run", epochs=2, threshold_cv_folds=0, baseline=False)
    raw = raw.model_dump(mode="python")
    raw["data"]["label_scheme"] = "seed"
    result = train(config_from_dict(raw), quiet=True)
    assert result.decision is not None
    assert (result.model_dir / DECISION_FILE).is_file()
    scored = result.test_predictions
    assert scored is not None and not (scored.pred == 2).any()  # seed cannot say neutral
    assert (scored.probabilities[..., 2] == 0).all()
    np.testing.assert_array_equal(scored.pred, result.decision.decide(scored.probabilities))
    again = api.evaluate(result.output_dir, data / "test.csv")
    assert again["pair_f1"] == pytest.approx(result.metrics["test"]["pair_f1"])

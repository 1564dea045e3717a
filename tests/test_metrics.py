"""Metrics of GUIDE.md section 2 against hand-computed cases and a naive reference."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from acsa.evaluation import (
    compute_metrics,
    detection_counts,
    f1_from_counts,
    pair_counts,
    prf_from_counts,
    scalar_metrics,
)

ASPECTS = ["Battery", "Camera", "Price"]

# Three aspects, two reviews; each cell exercises one edge of the pair definition:
#   (0, Battery) gold positive, pred negative -> right aspect, wrong polarity: FP and FN
#   (0, Camera)  gold negative, pred none     -> FN only
#   (0, Price)   gold none,     pred neutral  -> FP only
#   (1, Battery) gold neutral,  pred neutral  -> TP
GOLD = np.array([[3, 1, 0], [2, 0, 0]])
PRED = np.array([[1, 0, 2], [2, 0, 0]])


def test_overall_hand_computed() -> None:
    m = compute_metrics(GOLD, PRED, ASPECTS)
    # pairs: TP 1, FP 2, FN 2
    assert (m["pair_tp"], m["pair_fp"], m["pair_fn"]) == (1, 2, 2)
    assert m["pair_precision"] == pytest.approx(1 / 3)
    assert m["pair_recall"] == pytest.approx(1 / 3)
    assert m["pair_f1"] == pytest.approx(1 / 3)
    # detection: gold mentions 3, predicted 3, both 2
    assert m["aspect_precision"] == pytest.approx(2 / 3)
    assert m["aspect_recall"] == pytest.approx(2 / 3)
    assert m["aspect_f1"] == pytest.approx(2 / 3)
    # sentiment over the 3 gold-polarity cells: (pos->neg), (neg->none), (neu->neu):
    # F1 neg 0 (one wrong prediction, one miss), neu 1, pos 0 -> mean 1/3
    assert m["sentiment_macro_f1"] == pytest.approx(1 / 3)
    # seed style (none -> neutral), support-weighted per aspect:
    #   Battery gold [pos, neu] pred [neg, neu]: neu F1 1 (w 1), pos 0 (w 1) -> 1/2
    #   Camera  gold [neg, neu] pred [neu, neu]: neg 0 (w 1), neu P 1/2 R 1 F1 2/3 (w 1) -> 1/3
    #   Price   gold [neu, neu] pred [neu, neu] -> 1
    assert m["seed_weighted_f1"] == pytest.approx((1 / 2 + 1 / 3 + 1) / 3)
    assert (m["num_reviews"], m["num_cells"], m["num_masked_cells"]) == (2, 6, 0)
    assert m["aspects"] == ASPECTS
    assert m["labels"] == ["none", "negative", "neutral", "positive"]


def test_per_aspect_hand_computed() -> None:
    m = compute_metrics(GOLD, PRED, ASPECTS)
    bat, cam, pri = (m["per_aspect"][a] for a in ASPECTS)
    assert (bat["pair_tp"], bat["pair_fp"], bat["pair_fn"]) == (1, 1, 1)
    assert bat["pair_f1"] == pytest.approx(0.5)
    assert bat["aspect_f1"] == pytest.approx(1.0)
    assert bat["sentiment_macro_f1"] == pytest.approx(1 / 3)  # neg 0, neu 1, pos 0
    assert bat["seed_weighted_f1"] == pytest.approx(0.5)
    assert (bat["support_mentioned"], bat["predicted_mentioned"]) == (2, 2)
    assert (bat["support_neutral"], bat["support_positive"], bat["support_none"]) == (1, 1, 0)

    # a missed mention is an FN only; nothing was predicted, so precision is 0 by zero_division
    assert (cam["pair_tp"], cam["pair_fp"], cam["pair_fn"]) == (0, 0, 1)
    assert cam["pair_precision"] == cam["pair_recall"] == cam["pair_f1"] == 0.0
    assert cam["aspect_recall"] == 0.0
    assert cam["sentiment_macro_f1"] == 0.0

    # a spurious mention is an FP only
    assert (pri["pair_tp"], pri["pair_fp"], pri["pair_fn"]) == (0, 1, 0)
    assert pri["aspect_precision"] == pri["aspect_f1"] == 0.0
    assert pri["sentiment_macro_f1"] == 0.0  # no gold polarity cell to score
    assert pri["seed_weighted_f1"] == pytest.approx(1.0)

    assert m["confusion"]["Battery"] == [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0]]
    assert m["confusion"]["Camera"] == [[1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert m["confusion"]["Price"] == [[1, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]


def test_sentiment_none_prediction_costs_recall_only() -> None:
    # gold: neg, neg, pos, pos; pred: neg, none, pos, neg
    # neg: TP 1, FP 1 (the pos->neg cell), FN 1 (the none) -> P 1/2, R 1/2, F1 1/2
    # pos: TP 1, FP 0, FN 1 -> P 1, R 1/2, F1 2/3; neutral absent on both sides: left out
    gold = np.array([[1], [1], [3], [3]])
    pred = np.array([[1], [0], [3], [1]])
    m = compute_metrics(gold, pred, ["A"])
    assert m["sentiment_macro_f1"] == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_sentiment_absent_polarity_not_counted_but_predicted_one_is() -> None:
    perfect = compute_metrics(np.array([[3], [3], [1]]), np.array([[3], [3], [1]]), ["A"])
    assert perfect["sentiment_macro_f1"] == pytest.approx(1.0)
    # a predicted neutral with no gold neutral enters the mean with F1 0:
    # neg F1 1, pos P 1 R 1/2 F1 2/3, neu 0
    wrong = compute_metrics(np.array([[3], [3], [1]]), np.array([[3], [2], [1]]), ["A"])
    assert wrong["sentiment_macro_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)


def test_all_none_gives_zero_with_zero_division() -> None:
    zeros = np.zeros((4, 3), dtype=np.int64)
    m = compute_metrics(zeros, zeros, ASPECTS)
    for key in ("pair_f1", "pair_precision", "pair_recall", "aspect_f1", "sentiment_macro_f1"):
        assert m[key] == 0.0
    # the seed-style metric calls every empty cell a correct "neutral": saturated
    assert m["seed_weighted_f1"] == pytest.approx(1.0)


def test_masked_cells_are_ignored_everywhere() -> None:
    # an extra review whose cells are all masked, holding garbage and wrong predictions,
    # plus a masked cell in a real review
    gold = np.vstack([GOLD, [[-100, 3, 7]]])
    pred = np.vstack([PRED, [[2, 0, 3]]])
    mask = np.ones(gold.shape, dtype=bool)
    mask[2] = False
    base = compute_metrics(GOLD, PRED, ASPECTS)
    m = compute_metrics(gold, pred, ASPECTS, mask=mask)
    assert (m["num_reviews"], m["num_cells"], m["num_masked_cells"]) == (3, 6, 3)
    for key in ("num_reviews", "num_cells", "num_masked_cells"):
        base.pop(key)
        m.pop(key)
    assert m == base

    mask2 = np.ones(GOLD.shape, dtype=bool)
    mask2[0, 0] = False  # hide the wrong-polarity cell: one FP and one FN fewer
    m2 = compute_metrics(GOLD, PRED, ASPECTS, mask=mask2)
    assert (m2["pair_tp"], m2["pair_fp"], m2["pair_fn"]) == (1, 1, 1)
    assert m2["per_aspect"]["Battery"]["num_cells"] == 1
    assert sum(map(sum, m2["confusion"]["Battery"])) == 1


def test_aspect_without_known_cells_scores_zero_with_an_empty_confusion() -> None:
    mask = np.ones(GOLD.shape, dtype=bool)
    mask[:, 2] = False  # no known Price label anywhere
    m = compute_metrics(GOLD, PRED, ASPECTS, mask=mask)
    assert m["confusion"]["Price"] == [[0] * 4 for _ in range(4)]
    price = m["per_aspect"]["Price"]
    assert price["num_cells"] == 0 and price["pair_f1"] == 0.0 and price["aspect_f1"] == 0.0
    assert price["sentiment_macro_f1"] == 0.0 and price["seed_weighted_f1"] == 0.0
    # an aspect without known cells is left out of the seed-style mean
    assert m["seed_weighted_f1"] == pytest.approx(
        np.mean([m["per_aspect"][a]["seed_weighted_f1"] for a in ("Battery", "Camera")])
    )


def test_metrics_are_plain_json() -> None:
    m = compute_metrics(GOLD, PRED, ASPECTS)
    assert json.loads(json.dumps(m, allow_nan=False)) == m
    flat = scalar_metrics(m, prefix="eval_")
    assert flat["eval_pair_f1"] == pytest.approx(1 / 3)
    assert "eval_per_aspect" not in flat and "eval_aspects" not in flat
    assert all(isinstance(v, float) for v in flat.values())


def test_invalid_inputs_raise() -> None:
    with pytest.raises(
        ValueError, match=r"must both have shape \[N, A\]; got \(2, 3\) and \(2, 2\)"
    ):
        compute_metrics(GOLD, PRED[:, :2], ASPECTS)
    with pytest.raises(ValueError, match=r"must both have shape \[N, A\]; got \(6,\) and \(6,\)"):
        compute_metrics(GOLD.ravel(), PRED.ravel(), ASPECTS)
    with pytest.raises(ValueError, match=r"mask must have shape \(2, 3\), got \(2, 2\)"):
        compute_metrics(GOLD, PRED, ASPECTS, mask=np.ones((2, 2), dtype=bool))
    with pytest.raises(ValueError, match="aspect names"):
        compute_metrics(GOLD, PRED, ASPECTS[:2])
    with pytest.raises(ValueError, match="canonical"):
        compute_metrics(GOLD, np.array([[1, 0, 4], [2, 0, 0]]), ASPECTS)
    with pytest.raises(ValueError, match="boolean"):
        compute_metrics(GOLD, PRED, ASPECTS, mask=np.ones(GOLD.shape, dtype=int))


def test_counts_helpers() -> None:
    assert prf_from_counts(1, 2, 2) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert prf_from_counts(0, 0, 0) == (0.0, 0.0, 0.0)
    # a single prediction or a single gold mention is enough for a defined ratio
    assert prf_from_counts(1, 0, 3) == pytest.approx((1.0, 0.25, 0.4))
    assert prf_from_counts(1, 3, 0) == pytest.approx((0.25, 1.0, 0.4))
    assert prf_from_counts(0, 1, 1) == (0.0, 0.0, 0.0)
    p, r, f = prf_from_counts(np.array([1, 0, 2]), np.array([0, 0, 2]), np.array([0, 1, 0]))
    np.testing.assert_allclose(p, [1.0, 0.0, 0.5])
    np.testing.assert_allclose(r, [1.0, 0.0, 1.0])
    np.testing.assert_allclose(f, [1.0, 0.0, 2 / 3])
    assert f1_from_counts(3, 1, 2) == pytest.approx(6 / 9)
    # vectorized: one F1 per bootstrap replicate
    f1 = f1_from_counts(np.array([3, 0]), np.array([1, 0]), np.array([2, 0]))
    np.testing.assert_allclose(f1, [6 / 9, 0.0])

    tp, fp, fn = pair_counts(GOLD, PRED)
    assert tp.tolist() == [0, 1] and fp.tolist() == [2, 0] and fn.tolist() == [2, 0]
    cells = pair_counts(GOLD, PRED, per_aspect=True)
    assert cells.tp.shape == GOLD.shape
    np.testing.assert_array_equal(cells.fp.sum(axis=1), fp)
    dtp, dfp, dfn = detection_counts(GOLD, PRED)
    assert (dtp.sum(), dfp.sum(), dfn.sum()) == (2, 1, 1)
    # one count per review by default, one per cell with per_aspect
    assert (dtp.tolist(), dfp.tolist(), dfn.tolist()) == ([1, 1], [1, 0], [1, 0])
    cells = detection_counts(GOLD, PRED, per_aspect=True)
    assert cells.tp.shape == GOLD.shape
    np.testing.assert_array_equal(cells.fn.sum(axis=1), dfn)


def _naive(gold: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Slow loop straight from the definitions, the reference for the vectorized code."""
    tp = fp = fn = dtp = dfp = dfn = 0
    for n in range(gold.shape[0]):
        for a in range(gold.shape[1]):
            if not mask[n, a]:
                continue
            g, p = int(gold[n, a]), int(pred[n, a])
            if p != 0 and g != 0 and p == g:
                tp += 1
            if p != 0 and p != g:
                fp += 1
            if g != 0 and p != g:
                fn += 1
            dtp += g != 0 and p != 0
            dfp += g == 0 and p != 0
            dfn += g != 0 and p == 0

    def prf(t: int, f_p: int, f_n: int) -> tuple[float, float, float]:
        prec = t / (t + f_p) if t + f_p else 0.0
        rec = t / (t + f_n) if t + f_n else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        return prec, rec, f1

    pp, pr, pf = prf(tp, fp, fn)
    ap, ar, af = prf(dtp, dfp, dfn)
    return {
        "pair_precision": pp,
        "pair_recall": pr,
        "pair_f1": pf,
        "pair_tp": tp,
        "pair_fp": fp,
        "pair_fn": fn,
        "aspect_precision": ap,
        "aspect_recall": ar,
        "aspect_f1": af,
    }


def _naive_sentiment_macro_f1(gold: np.ndarray, pred: np.ndarray, mask: np.ndarray) -> float:
    cells = [
        (int(g), int(p))
        for g, p, m in zip(gold.ravel(), pred.ravel(), mask.ravel(), strict=True)
        if m and g
    ]
    scores = []
    for c in (1, 2, 3):
        tp = sum(g == c and p == c for g, p in cells)
        fp = sum(g != c and p == c for g, p in cells)
        fn = sum(g == c and p != c for g, p in cells)
        if tp + fp + fn:  # a polarity absent on both sides is left out
            scores.append(2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores) if scores else 0.0


@st.composite
def _label_arrays(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 12))
    a = draw(st.integers(1, 4))
    # skew toward none, as in real data
    labels = st.sampled_from([0, 0, 0, 1, 2, 3])
    gold = draw(arrays(np.int64, (n, a), elements=labels))
    pred = draw(arrays(np.int64, (n, a), elements=labels))
    mask = draw(arrays(np.bool_, (n, a), elements=st.sampled_from([True, True, True, False])))
    return gold, pred, mask


@settings(max_examples=150, deadline=None)
@given(_label_arrays())
def test_pair_and_detection_match_naive_loop(data: tuple[np.ndarray, ...]) -> None:
    gold, pred, mask = data
    aspects = [f"a{j}" for j in range(gold.shape[1])]
    m = compute_metrics(gold, pred, aspects, mask=mask)
    for key, value in _naive(gold, pred, mask).items():
        assert m[key] == pytest.approx(value), key
    assert m["sentiment_macro_f1"] == pytest.approx(_naive_sentiment_macro_f1(gold, pred, mask))
    # per-review counts sum to the overall ones and reproduce the F1
    tp, fp, fn = pair_counts(gold, pred, mask)
    assert (tp.sum(), fp.sum(), fn.sum()) == (m["pair_tp"], m["pair_fp"], m["pair_fn"])
    assert f1_from_counts(tp.sum(), fp.sum(), fn.sum()) == pytest.approx(m["pair_f1"])
    # per-aspect counts sum to the overall ones
    for key in ("pair_tp", "pair_fp", "pair_fn"):
        assert sum(m["per_aspect"][a][key] for a in aspects) == m[key]
    assert sum(m["per_aspect"][a]["num_cells"] for a in aspects) == m["num_cells"]
    # and every per-aspect ratio is the naive one of that aspect's column
    for j, a in enumerate(aspects):
        column = (gold[:, j : j + 1], pred[:, j : j + 1], mask[:, j : j + 1])
        for key, value in _naive(*column).items():
            assert m["per_aspect"][a][key] == pytest.approx(value), (a, key)
        assert m["per_aspect"][a]["sentiment_macro_f1"] == pytest.approx(
            _naive_sentiment_macro_f1(*column)
        )


def test_agrees_with_significance_review_counts() -> None:
    # acsa.evaluation.significance (the comparison's bootstrap) keeps its own counts;
    # both must follow the same definition
    from acsa.evaluation import significance

    rng = np.random.default_rng(0)
    gold = rng.choice(4, size=(50, 5), p=[0.7, 0.1, 0.05, 0.15])
    pred = rng.choice(4, size=(50, 5), p=[0.7, 0.1, 0.05, 0.15])
    mask = rng.random((50, 5)) > 0.1
    counts = significance.review_counts(gold, pred, mask)
    mine = pair_counts(gold, pred, mask, per_aspect=True)
    det = detection_counts(gold, pred, mask, per_aspect=True)
    for k in range(3):
        np.testing.assert_array_equal(counts[..., 0, k], mine[k])
        np.testing.assert_array_equal(counts[..., 1, k], det[k])


def test_no_aspects_give_zero_scores_not_one() -> None:
    empty = np.zeros((3, 0), dtype=np.int64)
    metrics = compute_metrics(empty, empty, [])
    assert metrics["seed_weighted_f1"] == 0.0
    assert metrics["pair_f1"] == 0.0

"""Blend weights between the network and the TF-IDF model, fitted on validation with a guard.

The model ``acsa train`` saves by default mixes the canonical probabilities of
the network and of the TF-IDF baseline fitted beside it, per aspect ``a``::

    p = w_a * p_network + (1 - w_a) * p_tfidf,   w_a in {0, 0.1, ..., 1}

This is Caruana et al.'s ensemble selection (ICML 2004, "Ensemble selection
from libraries of models") for a library of two models: greedy selection with
replacement for ``M`` rounds yields weights on the grid ``k / M``; with two
models the grid is searched exhaustively instead. The weights minimise the
validation log-loss of the gold class (a proper scoring rule: smooth, one
optimum per aspect, unlike the pair-F1 of argmax labels, which is flat almost
everywhere on a few hundred reviews); the decision rule
(:class:`acsa.evaluation.decision.DecisionRule`) is then fitted on the blended
probabilities, so thresholds turn the better probabilities into labels.

The guard (:func:`fit_blend`): the whole pipeline (weights, then the decision
rule) is fitted on 4/5 of the validation reviews and decides the other fifth,
five times, and is judged against the network's own pipeline (its decision
rule fitted on the same 4/5) by :func:`acsa.evaluation.decision.out_of_fold_verdict`:
the blend is kept only when it wins on reviews it was not fitted on, by the
margin, and on most folds. Otherwise every weight is 1 (the network alone) and
the saved model is exactly the network's. Nothing here sees the test split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from acsa.evaluation.decision import (
    DEFAULT_CV_FOLDS,
    DEFAULT_MARGIN,
    DecisionRule,
    OutOfFoldCheck,
    decide,
    fold_assignment,
    out_of_fold_verdict,
    pair_f1,
)

__all__ = ["BLEND_GRID", "BlendFit", "blend", "fit_blend", "fit_blend_weights"]

BLEND_GRID = np.round(np.linspace(0.0, 1.0, 11), 2)
"""Candidate network weights (the TF-IDF model gets ``1 - w``)."""

BlendMode = Literal["aspect", "global"]
_TINY = 1e-7


def blend(p_network: np.ndarray, p_tfidf: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``w * p_network + (1 - w) * p_tfidf`` per aspect: float32 ``[N, A, 4]``."""
    w = np.asarray(weights, dtype=np.float32)[None, :, None]
    return (
        w * np.asarray(p_network, np.float32) + (1.0 - w) * np.asarray(p_tfidf, np.float32)
    ).astype(np.float32)


def _log_loss(
    p_network: np.ndarray,
    p_tfidf: np.ndarray,
    gold: np.ndarray,
    valid: np.ndarray,
    grid: np.ndarray,
) -> np.ndarray:
    """``[A, K]`` summed negative log-probability of the gold class, per aspect and weight."""
    rows = np.arange(gold.shape[0])[:, None]
    cols = np.arange(gold.shape[1])[None, :]
    g = np.where(valid, gold, 0)
    net = p_network[rows, cols, g].astype(np.float64)
    tfidf = p_tfidf[rows, cols, g].astype(np.float64)
    out = np.zeros((gold.shape[1], grid.size))
    for k, w in enumerate(grid):
        nll = -np.log(np.maximum(w * net + (1.0 - w) * tfidf, _TINY))
        out[:, k] = np.where(valid, nll, 0.0).sum(0)
    return out


def fit_blend_weights(
    p_network: np.ndarray,
    p_tfidf: np.ndarray,
    gold: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    mode: BlendMode = "global",
    grid: np.ndarray = BLEND_GRID,
) -> np.ndarray:
    """Network weights ``[A]`` on ``grid`` minimising the validation log-loss.

    ``aspect``: one weight per aspect; ``global``: one weight for all. Ties go to
    the larger weight (nearer the network alone).
    """
    gold = np.asarray(gold)
    valid = np.ones(gold.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    grid = np.asarray(grid, dtype=np.float64)
    loss = _log_loss(np.asarray(p_network), np.asarray(p_tfidf), gold, valid, grid)
    if mode == "global":
        total = loss.sum(0)
        best = np.flatnonzero(total <= total.min() + 1e-9).max()
        return np.full(gold.shape[1], grid[best])
    if mode != "aspect":
        raise ValueError(f"mode must be 'aspect' or 'global', got {mode!r}")
    best = [np.flatnonzero(row <= row.min() + 1e-9).max() for row in loss]
    return grid[np.asarray(best, dtype=np.int64)]


@dataclass
class BlendFit:
    """What :func:`fit_blend` decided.

    Attributes:
        weights: ``[A]`` network weights to use (all 1.0 when the blend is not kept).
        fitted_weights: the weights fitted on the whole validation split.
        adopted: whether the blend is kept.
        check: the out-of-fold verdict (``None`` without one).
        rule: the decision rule fitted on the validation probabilities blended
            with ``fitted_weights`` (``None`` when thresholds are off); it
            decides the saved model's labels only when ``adopted``.
        fitted_on: plain JSON for ``blend.json`` and ``metrics.json``.
    """

    weights: np.ndarray
    fitted_weights: np.ndarray
    adopted: bool
    check: OutOfFoldCheck | None
    rule: DecisionRule | None = None
    fitted_on: dict[str, Any] = field(default_factory=dict)


def _decided(
    probs: np.ndarray,
    gold: np.ndarray,
    valid: np.ndarray,
    fit: np.ndarray,
    held: np.ndarray,
    aspects: Sequence[str],
    rule_options: dict[str, Any] | None,
) -> np.ndarray:
    """Labels of ``held`` by the decision rule fitted on ``fit`` (argmax without options)."""
    if rule_options is None:
        return decide(probs[held])
    rule = DecisionRule.fit(probs[fit], gold[fit], valid[fit], aspects, **rule_options)
    return rule.decide(probs[held])


def fit_blend(
    p_network: np.ndarray,
    p_tfidf: np.ndarray,
    gold: np.ndarray,
    mask: np.ndarray | None,
    aspects: Sequence[str],
    *,
    mode: BlendMode = "global",
    folds: int = DEFAULT_CV_FOLDS,
    margin: float = DEFAULT_MARGIN,
    rule_options: dict[str, Any] | None = None,
    seed: int = 0,
) -> BlendFit:
    """Fit blend weights on the validation split and keep them only if they win out of fold.

    Args:
        p_network, p_tfidf: canonical validation probabilities ``[N, A, 4]``.
        gold, mask: the validation labels ``[N, A]`` and known cells.
        aspects: the aspect names.
        mode: ``aspect`` or ``global`` weights.
        folds: folds of the out-of-fold check (``< 2``: kept without a check).
        margin: the pooled out-of-fold pair-F1 gain the blend must exceed.
        rule_options: :meth:`DecisionRule.fit` options (``min_mentions``,
            ``cv_folds``, ``margin``) when the decision rule is fitted after
            the blend, on both sides of the check; ``None``: argmax labels.
        seed: the fold assignment's seed.
    """
    gold = np.asarray(gold)
    valid = np.ones(gold.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    p_network = np.asarray(p_network, dtype=np.float32)
    p_tfidf = np.asarray(p_tfidf, dtype=np.float32)
    aspects = tuple(str(a) for a in aspects)
    fitted = fit_blend_weights(p_network, p_tfidf, gold, valid, mode=mode)
    network_only = np.ones_like(fitted)
    info: dict[str, Any] = {
        "split": "validation",
        "reviews": int(gold.shape[0]),
        "mode": mode,
        "objective": "validation log-loss of the gold class, weights on a 0.1 grid",
        "fitted_weights": {a: float(w) for a, w in zip(aspects, fitted, strict=True)},
    }
    check = None
    if np.all(fitted == 1.0):
        adopted, reason = False, "blend: the network alone fits validation best"
    else:
        fold = fold_assignment(gold.shape[0], folds, seed)
        if folds < 2:
            adopted, reason = True, "blend: no out-of-fold check (cv_folds 0)"
        elif fold is None:
            adopted, reason = False, "blend: too few validation reviews to fold; network kept"
        else:
            blended_pred = np.zeros(gold.shape, dtype=np.int64)
            network_pred = np.zeros(gold.shape, dtype=np.int64)
            for k in range(folds):
                fit, held = fold != k, fold == k
                w = fit_blend_weights(
                    p_network[fit], p_tfidf[fit], gold[fit], valid[fit], mode=mode
                )
                mixed = blend(p_network, p_tfidf, w)
                blended_pred[held] = _decided(mixed, gold, valid, fit, held, aspects, rule_options)
                network_pred[held] = _decided(
                    p_network, gold, valid, fit, held, aspects, rule_options
                )
            check = out_of_fold_verdict(
                gold, valid, fold, blended_pred, network_pred, margin=margin, what="blend"
            )
            adopted, reason = check.adopted, check.reason
    weights = fitted if adopted else network_only
    rule = None
    if rule_options is not None:
        rule = DecisionRule.fit(
            blend(p_network, p_tfidf, fitted), gold, valid, aspects, **rule_options
        )
    info.update(
        {
            "weights": {a: float(w) for a, w in zip(aspects, weights, strict=True)},
            "adopted": adopted,
            "reason": reason,
            "margin": margin,
            "cv_folds": folds,
            **(
                {}
                if check is None
                else {k: v for k, v in check.to_json().items() if k.startswith("cv_")}
            ),
            "pair_f1_argmax": {
                "network": round(pair_f1(gold, decide(p_network), valid), 6),
                "tfidf": round(pair_f1(gold, decide(p_tfidf), valid), 6),
                "blend": round(pair_f1(gold, decide(blend(p_network, p_tfidf, fitted)), valid), 6),
            },
        }
    )
    return BlendFit(weights, fitted, adopted, check, rule, info)

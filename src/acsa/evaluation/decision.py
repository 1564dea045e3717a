"""From a model's logits to canonical labels: the probabilities, and the decision rule.

Every consumer of a model (training's test report, ``acsa evaluate``,
``acsa predict``, :class:`acsa.api.Predictor`, the server) decides labels
through :func:`decide`, so a change of rule changes them all at once.

Two rules:

* **argmax** (no thresholds): the most probable of the four canonical classes.
* **mention thresholds** (fitted on validation, saved with the model as
  ``decision.json``): aspect ``a`` is mentioned when ``P(mentioned) = 1 -
  P(none) >= t_a``, and then gets the most probable of the three polarities.
  An aspect whose threshold is NaN (``null`` in the file) keeps the argmax rule.

Under class imbalance (80-90 % of the cells are ``none``) the argmax rule
misses mentions whose probability mass is spread over three polarities; one
threshold on the summed mass per aspect, chosen to maximise pair-F1 on the
validation split, recovers them. For a calibrated model the F1-optimal
threshold is about half the attainable F1 (Lipton, Elkan and Naryanaswamy,
ECML-PKDD 2014, arXiv:1402.1892), well below 0.5 for ACSA data.

Thresholds are not always worth it: a model trained with cross-entropy is often
calibrated well enough that its argmax is already near the optimum, and then
thresholds fitted on a validation split only add that split's noise. So
:meth:`DecisionRule.fit` keeps them only when they beat the argmax on reviews
they were not fitted on (:func:`cross_validated_check`, 5 folds of the
validation split), by a margin: the pooled out-of-fold gain must exceed
``margin`` (:data:`DEFAULT_MARGIN`, half a pair-F1 point) *and* the thresholds
must win on most folds (:func:`out_of_fold_verdict`). A bare "gain > 0" once
passed thresholds that cost 0.5 points on the smartphone test split: a gain
of a few tenths of a point on ~1,900 validation reviews is within the noise
of the split (issue 18).

Example:
    >>> import numpy as np
    >>> probs = np.array([[[0.40, 0.0, 0.30, 0.30]], [[0.90, 0.05, 0.0, 0.05]]])
    >>> decide(probs).tolist()                      # argmax: 'none' wins the first review
    [[0], [0]]
    >>> decide(probs, np.array([0.5])).tolist()     # P(mentioned) 0.6 >= 0.5: neutral
    [[2], [0]]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from acsa.data.label_space import CANONICAL_CLASSES, NONE, LabelSpace
from acsa.errors import CheckpointError
from acsa.evaluation.f1 import f1_from_counts

__all__ = [
    "ARGMAX_KEY",
    "DECISION_FILE",
    "DEFAULT_CV_FOLDS",
    "DEFAULT_MARGIN",
    "DEFAULT_MIN_MENTIONS",
    "THRESHOLD_GRID",
    "DecisionRule",
    "OutOfFoldCheck",
    "canonical_probabilities",
    "cross_validated_check",
    "cross_validated_gain",
    "fold_assignment",
    "out_of_fold_verdict",
    "pair_f1",
    "decide",
    "decision_summary",
    "fit_thresholds",
]

DECISION_FILE = "decision.json"
"""The decision rule's file inside a saved model folder."""

DEFAULT_MIN_MENTIONS = 5
"""Gold validation mentions an aspect needs before its threshold is fitted."""

DEFAULT_CV_FOLDS = 5
"""Folds of the check that thresholds beat the argmax on reviews they were not fitted on."""

DEFAULT_MARGIN = 0.005
"""Out-of-fold pair-F1 gain (0.005 = half a point) a learned choice (thresholds, blend
weights) must exceed to be adopted. About one standard error of the pooled pair-F1
on the shared validation splits (1,900 and 570 reviews); smaller gains are noise."""

THRESHOLD_GRID = np.round(np.arange(0.05, 0.951, 0.01), 2)
"""Candidate thresholds. The extremes are left out: a threshold near 0 or 1 chosen
on a few validation cells does not transfer to new reviews."""

Objective = Literal["micro", "aspect"]
_OBJECTIVES = ("micro", "aspect")
_FORMAT = "acsa-decision"
_FORMAT_VERSION = 1
_RULE = "mention_threshold"
# F1 differences below this are ties (counts are integers; this only absorbs rounding)
_EPS = 1e-12


def canonical_probabilities(logits: np.ndarray, label_space: LabelSpace) -> np.ndarray:
    """Softmax over each aspect's classes, in canonical order: float32 ``[N, A, 4]``.

    Args:
        logits: ``[N, A, C]`` in the label scheme's class order.
        label_space: the scheme the model was trained with. Under ``seed``
            (positive, negative, neutral) the ``neutral`` probability is that of
            canonical ``none`` (see :meth:`LabelSpace.to_canonical`), and
            canonical ``neutral`` gets 0.
    """
    from acsa.numeric import softmax

    # the one softmax (numpy), on every runtime: training's and a reloaded model's
    # probabilities agree to the last bit, and no runtime needs torch for it
    probs = softmax(logits)
    if label_space.num_classes == len(CANONICAL_CLASSES):
        return probs
    canonical = np.zeros(probs.shape[:2] + (len(CANONICAL_CLASSES),), dtype=probs.dtype)
    for scheme_index, index in enumerate(label_space.to_canonical(np.arange(probs.shape[-1]))):
        canonical[..., index] += probs[..., scheme_index]
    return canonical


def _check_probs(probabilities: np.ndarray) -> np.ndarray:
    probs = np.asarray(probabilities)
    if probs.ndim != 3 or probs.shape[-1] != len(CANONICAL_CLASSES):
        raise ValueError(
            f"probabilities must be [N, A, {len(CANONICAL_CLASSES)}] in canonical order, "
            f"got shape {probs.shape}"
        )
    return probs


def _mention_scores(probs: np.ndarray) -> np.ndarray:
    # float64 so that fitting and deciding compare the same numbers
    return 1.0 - probs[..., NONE].astype(np.float64)


def decide(probabilities: np.ndarray, thresholds: np.ndarray | None = None) -> np.ndarray:
    """Canonical labels ``[N, A]`` from canonical probabilities ``[N, A, 4]``.

    Args:
        probabilities: ``[N, A, 4]`` (none, negative, neutral, positive).
        thresholds: ``None`` for the argmax rule (ties go to the lower canonical
            index, ``none`` first); or ``[A]`` thresholds on ``1 - P(none)``,
            NaN where an aspect keeps the argmax rule.
    """
    probs = _check_probs(probabilities)
    labels = probs.argmax(-1).astype(np.int64)
    if thresholds is None:
        return labels
    t = np.asarray(thresholds, dtype=np.float64)
    if t.shape != (probs.shape[1],):
        raise ValueError(f"thresholds must have shape ({probs.shape[1]},), got {t.shape}")
    fitted = ~np.isnan(t)
    if not fitted.any():
        return labels
    mentioned = _mention_scores(probs) >= np.where(fitted, t, np.inf)
    polarity = probs[..., 1:].argmax(-1) + 1
    thresholded = np.where(mentioned, polarity, NONE)
    return np.where(fitted, thresholded, labels).astype(np.int64)


# ---------------------------------------------------------------- fitting


def _count_at_least(scores: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """How many of ``scores`` are >= each grid value (vectorised through a sort)."""
    ordered = np.sort(scores)
    return ordered.size - np.searchsorted(ordered, grid, side="left")


@dataclass(frozen=True)
class _CandidateCounts:
    """Per aspect and candidate rule (column 0: argmax, then one per grid value)."""

    hits: np.ndarray  # [A, K] exact gold pairs predicted
    predicted: np.ndarray  # [A, K] predicted mentions (known cells)
    disagree: np.ndarray  # [A, K] known cells whose mention decision differs from argmax
    gold: np.ndarray  # [A] gold mentions


def _candidate_counts(
    probs: np.ndarray, gold: np.ndarray, valid: np.ndarray, grid: np.ndarray
) -> _CandidateCounts:
    score = _mention_scores(probs)
    polarity = probs[..., 1:].argmax(-1) + 1
    # argmax != none implies argmax == the most probable polarity
    arg_mentioned = valid & (probs.argmax(-1) != NONE)
    gold_mentioned = valid & (gold != NONE)
    # a cell is an exact pair when predicted as mentioned, whatever the rule
    pair_if_mentioned = gold_mentioned & (polarity == gold)
    num_aspects, k = probs.shape[1], grid.size + 1
    hits = np.zeros((num_aspects, k), dtype=np.int64)
    predicted = np.zeros((num_aspects, k), dtype=np.int64)
    disagree = np.zeros((num_aspects, k), dtype=np.int64)
    for a in range(num_aspects):
        s = score[:, a]
        hits[a, 0] = int((pair_if_mentioned[:, a] & arg_mentioned[:, a]).sum())
        predicted[a, 0] = int(arg_mentioned[:, a].sum())
        hits[a, 1:] = _count_at_least(s[pair_if_mentioned[:, a]], grid)
        predicted[a, 1:] = _count_at_least(s[valid[:, a]], grid)
        above_in_argmax = _count_at_least(s[arg_mentioned[:, a]], grid)
        above_elsewhere = predicted[a, 1:] - above_in_argmax
        disagree[a, 1:] = above_elsewhere + (predicted[a, 0] - above_in_argmax)
    return _CandidateCounts(hits, predicted, disagree, gold_mentioned.sum(0).astype(np.int64))


def _f1(hits: np.ndarray, predicted: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """Pair F1 of candidates: TP = hits, FP = predicted - hits, FN = gold - hits."""
    return f1_from_counts(hits, predicted - hits, gold - hits)


def _pick(f1: np.ndarray, disagree: np.ndarray) -> int:
    """The best candidate; among ties the one nearest the argmax rule (fewest changed cells,
    then the lower index: the argmax rule itself, then lower thresholds)."""
    best = np.flatnonzero(f1 >= f1.max() - _EPS)
    return int(best[np.argmin(disagree[best])])


def fit_thresholds(
    probs: np.ndarray,
    gold: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    min_mentions: int = DEFAULT_MIN_MENTIONS,
    objective: Objective = "micro",
    grid: np.ndarray = THRESHOLD_GRID,
    rounds: int = 10,
) -> np.ndarray:
    """Per-aspect thresholds ``[A]`` on ``1 - P(none)`` that maximise validation pair-F1.

    Args:
        probs: validation probabilities ``[N, A, 4]`` (canonical order).
        gold: validation canonical labels ``[N, A]``.
        mask: ``[N, A]`` bool, False where the gold label is unknown (left out).
        min_mentions: an aspect with fewer gold mentions keeps the argmax rule
            (NaN): a threshold fitted on a handful of cells is noise.
        objective: ``micro`` maximises the pair micro-F1 of the whole split (the
            headline metric) by coordinate ascent over the aspects, each
            aspect's candidates scored against the others' current choice;
            ``aspect`` maximises each aspect's own pair-F1, which the micro-F1
            rewards only approximately (an aspect with many mentions weighs more).
        grid: candidate thresholds, ascending.
        rounds: at most this many coordinate-ascent passes (``micro``).

    Returns:
        float64 ``[A]``; NaN where the argmax rule is kept (too few mentions, or
        no candidate beats it). A candidate replaces the argmax rule only when
        it scores strictly higher; among equal scores the one changing fewest
        validation decisions wins.
    """
    if objective not in _OBJECTIVES:
        raise ValueError(f"objective must be one of {_OBJECTIVES}, got {objective!r}")
    if min_mentions < 1:
        raise ValueError(f"min_mentions must be >= 1, got {min_mentions}")
    probs = _check_probs(probs)
    gold = np.asarray(gold)
    if gold.shape != probs.shape[:2]:
        raise ValueError(f"gold must have shape {probs.shape[:2]}, got {gold.shape}")
    valid = np.ones(gold.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if valid.shape != gold.shape:
        raise ValueError(f"mask must have shape {gold.shape}, got {valid.shape}")
    grid = np.asarray(grid, dtype=np.float64)
    if grid.ndim != 1 or grid.size == 0 or np.any(np.diff(grid) <= 0):
        raise ValueError("grid must be a non-empty ascending 1-D array")

    counts = _candidate_counts(probs, gold, valid, grid)
    eligible = np.flatnonzero(counts.gold >= min_mentions)
    choice = np.zeros(probs.shape[1], dtype=np.int64)  # 0 = argmax
    if objective == "aspect":
        for a in eligible:
            f1 = _f1(counts.hits[a], counts.predicted[a], counts.gold[a])
            new = _pick(f1, counts.disagree[a])
            if f1[new] > f1[0] + _EPS:
                choice[a] = new
    else:
        rows = np.arange(choice.size)
        total_gold = int(counts.gold.sum())
        for _ in range(rounds):
            changed = False
            for a in eligible:
                tp_rest = counts.hits[rows, choice].sum() - counts.hits[a, choice[a]]
                pred_rest = counts.predicted[rows, choice].sum() - counts.predicted[a, choice[a]]
                f1 = _f1(tp_rest + counts.hits[a], pred_rest + counts.predicted[a], total_gold)
                new = _pick(f1, counts.disagree[a])
                if f1[new] > f1[choice[a]] + _EPS:
                    choice[a], changed = new, True
            if not changed:
                break
    thresholds = np.full(choice.size, np.nan)
    fitted = choice > 0
    thresholds[fitted] = grid[choice[fitted] - 1]
    return thresholds


def _pair_f1(gold: np.ndarray, pred: np.ndarray, valid: np.ndarray) -> float:
    from acsa.evaluation.metrics import pair_counts

    counts = pair_counts(gold, pred, valid)
    return float(f1_from_counts(counts.tp.sum(), counts.fp.sum(), counts.fn.sum()))


def pair_f1(gold: np.ndarray, pred: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Pair micro-F1 of canonical labels ``pred`` against ``gold`` (``[N, A]``)."""
    gold = np.asarray(gold)
    valid = np.ones(gold.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    return _pair_f1(gold, np.asarray(pred), valid)


def fold_assignment(n: int, folds: int = DEFAULT_CV_FOLDS, seed: int = 0) -> np.ndarray | None:
    """A fold number ``[n]`` per review (random, balanced); ``None`` when there are fewer
    than two reviews per fold or fewer than two folds (no check possible)."""
    if folds < 2 or n < 2 * folds:
        return None
    return np.random.default_rng(seed).permutation(n) % folds


@dataclass(frozen=True)
class OutOfFoldCheck:
    """Whether a learned choice beat its fallback on reviews it was not fitted on.

    Attributes:
        gain: pooled out-of-fold pair micro-F1 of the choice minus the fallback's.
        fold_gains: the same difference on each fold alone.
        margin: the gain the choice had to exceed.
        adopted: ``gain > margin`` and the choice won on more than half the folds.
        reason: one sentence saying why.
    """

    gain: float
    fold_gains: tuple[float, ...]
    margin: float
    adopted: bool
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "cv_gain_pair_f1": round(self.gain, 6),
            "cv_fold_gains": [round(g, 6) for g in self.fold_gains],
            "margin": self.margin,
            "adopted": self.adopted,
            "reason": self.reason,
        }


def out_of_fold_verdict(
    gold: np.ndarray,
    mask: np.ndarray | None,
    fold: np.ndarray,
    candidate: np.ndarray,
    fallback: np.ndarray,
    *,
    margin: float = DEFAULT_MARGIN,
    what: str = "thresholds",
) -> OutOfFoldCheck:
    """Judge out-of-fold predictions ``candidate`` against ``fallback`` (both ``[N, A]``,
    each fold decided by a choice fitted on the other folds).

    Adopted only when the pooled gain exceeds ``margin`` *and* the candidate is
    strictly better on more than half of the folds. The first condition asks for
    an effect larger than the split's noise, the second that it is not carried
    by one lucky fold (a sign test over the folds, the cheap half of a
    significance test: with 5 folds, 3 wins). A paired bootstrap over reviews
    would be the other choice; it needs thousands of resamples for the same
    verdict on the shared sets and has no knob a user can read.
    """
    gold = np.asarray(gold)
    valid = np.ones(gold.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    gain = _pair_f1(gold, candidate, valid) - _pair_f1(gold, fallback, valid)
    fold_gains = []
    for k in np.unique(fold):
        rows = fold == k
        fold_gains.append(
            _pair_f1(gold[rows], candidate[rows], valid[rows])
            - _pair_f1(gold[rows], fallback[rows], valid[rows])
        )
    wins = sum(g > _EPS for g in fold_gains)
    points = f"out-of-fold gain {100 * gain:+.2f} points"
    if gain <= margin:
        adopted, reason = False, f"{points}, not above the margin of {100 * margin:.2f}"
    elif 2 * wins <= len(fold_gains):
        adopted, reason = False, f"{points}, but better on only {wins} of {len(fold_gains)} folds"
    else:
        adopted = True
        reason = (
            f"{points} > margin {100 * margin:.2f}, better on {wins} of {len(fold_gains)} folds"
        )
    return OutOfFoldCheck(
        float(gain), tuple(float(g) for g in fold_gains), margin, adopted, f"{what}: {reason}"
    )


def cross_validated_check(
    probs: np.ndarray,
    gold: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    folds: int = DEFAULT_CV_FOLDS,
    seed: int = 0,
    margin: float = DEFAULT_MARGIN,
    **fit_options: Any,
) -> OutOfFoldCheck | None:
    """Thresholds against the argmax on reviews they were not fitted on.

    The split's reviews are dealt into ``folds`` random folds; each fold is
    decided by thresholds fitted (:func:`fit_thresholds` with ``fit_options``)
    on the other folds, and the out-of-fold labels are judged against the
    argmax rule's by :func:`out_of_fold_verdict`. ``None`` when the split is too
    small to fold (fewer than two reviews per fold).
    """
    probs = _check_probs(probs)
    gold = np.asarray(gold)
    valid = np.ones(gold.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    fold = fold_assignment(gold.shape[0], folds, seed)
    if fold is None:
        return None
    pred = np.zeros(gold.shape, dtype=np.int64)
    for k in range(folds):
        fit, held = fold != k, fold == k
        thresholds = fit_thresholds(probs[fit], gold[fit], valid[fit], **fit_options)
        pred[held] = decide(probs[held], thresholds)
    return out_of_fold_verdict(gold, valid, fold, pred, decide(probs), margin=margin)


def cross_validated_gain(
    probs: np.ndarray,
    gold: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    folds: int = DEFAULT_CV_FOLDS,
    seed: int = 0,
    **fit_options: Any,
) -> float:
    """Pooled out-of-fold pair-F1 of thresholds minus the argmax's
    (:func:`cross_validated_check`'s ``gain``); 0.0 for a split too small to fold.

    Fitted on the whole split, thresholds never score below the argmax there;
    this estimate can.
    """
    check = cross_validated_check(probs, gold, mask, folds=folds, seed=seed, **fit_options)
    return 0.0 if check is None else check.gain


# ---------------------------------------------------------------- the saved rule

ARGMAX_KEY = "argmax"
"""metrics.json key of the scores under the plain argmax rule, beside the headline."""


@dataclass(frozen=True, eq=False)
class DecisionRule:
    """Per-aspect mention thresholds saved with a model (``decision.json``).

    Attributes:
        aspects: the ``A`` aspect names, in the model's column order.
        thresholds: float ``[A]``; NaN where the aspect keeps the argmax rule.
        fitted_on: how the thresholds were chosen (split, review and mention
            counts, objective, validation pair-F1 before and after).
    """

    aspects: tuple[str, ...]
    thresholds: np.ndarray
    fitted_on: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        t = np.asarray(self.thresholds, dtype=np.float64)
        if t.shape != (len(self.aspects),):
            raise ValueError(f"{len(self.aspects)} aspects but thresholds of shape {t.shape}")
        object.__setattr__(self, "thresholds", t)

    @classmethod
    def fit(
        cls,
        probs: np.ndarray,
        gold: np.ndarray,
        mask: np.ndarray | None,
        aspects: Sequence[str],
        *,
        min_mentions: int = DEFAULT_MIN_MENTIONS,
        objective: Objective = "micro",
        cv_folds: int = DEFAULT_CV_FOLDS,
        margin: float = DEFAULT_MARGIN,
        split: str = "validation",
    ) -> DecisionRule:
        """Fit :func:`fit_thresholds` and record what it was fitted on, and why kept.

        With ``cv_folds >= 2`` the thresholds are kept only when
        :func:`cross_validated_check` adopts them (out-of-fold gain above
        ``margin``, better on most folds); otherwise every aspect keeps the
        argmax rule (a well-calibrated model whose argmax is already near the F1
        optimum gains nothing from thresholds but their noise). ``fitted_on``
        records the gain, the per-fold gains, the margin and the reason.
        """
        options = {"min_mentions": min_mentions, "objective": objective}
        probs = _check_probs(probs)
        gold = np.asarray(gold)
        valid = np.ones(gold.shape, bool) if mask is None else np.asarray(mask, bool)
        thresholds = fit_thresholds(probs, gold, valid, **options)
        fitted_in_sample = thresholds
        check = None
        reason = "thresholds: no out-of-fold check (cv_folds 0)"
        if cv_folds >= 2:
            check = cross_validated_check(
                probs, gold, valid, folds=cv_folds, margin=margin, **options
            )
            reason = "thresholds: too few validation reviews to fold; argmax kept"
            if check is not None:
                reason = check.reason
            if check is None or not check.adopted:
                thresholds = np.full(thresholds.shape, np.nan)
        if np.isnan(fitted_in_sample).all():
            reason = "thresholds: no aspect had enough validation mentions or beat the argmax"
        mentions = (valid & (gold != NONE)).sum(0)
        fitted_on = {
            "split": split,
            "reviews": int(gold.shape[0]),
            "objective": f"{objective} pair-F1",
            "min_mentions": int(min_mentions),
            "grid": [float(THRESHOLD_GRID[0]), float(THRESHOLD_GRID[-1]), 0.01],
            "gold_mentions": {a: int(n) for a, n in zip(aspects, mentions, strict=True)},
            "cv_folds": int(cv_folds),
            "cv_gain_pair_f1": None if check is None else round(check.gain, 6),
            "cv_fold_gains": None if check is None else [round(g, 6) for g in check.fold_gains],
            "margin": float(margin),
            "adopted": bool((~np.isnan(thresholds)).any()),
            "reason": reason,
            "pair_f1_argmax": round(_pair_f1(gold, decide(probs), valid), 6),
            "pair_f1_thresholds": round(_pair_f1(gold, decide(probs, thresholds), valid), 6),
        }
        return cls(tuple(str(a) for a in aspects), thresholds, fitted_on)

    @property
    def fitted_aspects(self) -> list[str]:
        """The aspects that use a threshold (the others keep the argmax rule)."""
        return [a for a, t in zip(self.aspects, self.thresholds, strict=True) if not math.isnan(t)]

    def decide(self, probabilities: np.ndarray) -> np.ndarray:
        """:func:`decide` with these thresholds."""
        return decide(probabilities, self.thresholds)

    def to_json(self) -> dict[str, Any]:
        """The content of ``decision.json``."""
        return {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "rule": _RULE,
            "description": (
                "an aspect is mentioned when 1 - P(none) >= its threshold, and then gets its "
                "most probable polarity; null: the most probable of the 4 classes (argmax)"
            ),
            "thresholds": {
                a: (None if math.isnan(t) else float(t))
                for a, t in zip(self.aspects, self.thresholds, strict=True)
            },
            "fitted_on": self.fitted_on,
        }

    def save(self, model_dir: str | Path) -> Path:
        """Write ``decision.json`` into the model folder (atomically)."""
        from acsa.files import write_json

        return write_json(Path(model_dir) / DECISION_FILE, self.to_json(), allow_nan=False)

    @classmethod
    def from_json(cls, data: Any, source: str | Path = DECISION_FILE) -> DecisionRule:
        """Parse :meth:`to_json`'s mapping (CheckpointError, one line, if it is damaged)."""
        try:
            if not isinstance(data, Mapping) or data.get("format") != _FORMAT:
                raise ValueError("not an acsa decision file")
            if data.get("rule") != _RULE:
                raise ValueError(f"unknown rule {data.get('rule')!r}")
            raw = data["thresholds"]
            if not isinstance(raw, Mapping) or not raw:
                raise ValueError("thresholds must map aspect names to numbers or null")
            values = []
            for name, value in raw.items():
                if value is None:
                    values.append(math.nan)
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    if not 0.0 <= float(value) <= 1.0:
                        raise ValueError(f"threshold of {name!r} is outside [0, 1]")
                    values.append(float(value))
                else:
                    raise ValueError(f"threshold of {name!r} is not a number or null")
            fitted_on = data.get("fitted_on") or {}
            if not isinstance(fitted_on, Mapping):
                raise ValueError("fitted_on must be a mapping")
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(
                f"{source}: damaged decision rule ({exc}); delete it to use the argmax rule, "
                "or train again"
            ) from None
        return cls(tuple(str(a) for a in raw), np.asarray(values), dict(fitted_on))

    @classmethod
    def load(
        cls, model_dir: str | Path, aspects: Sequence[str] | None = None
    ) -> DecisionRule | None:
        """The rule saved in ``model_dir``, or ``None`` when there is no ``decision.json``.

        Args:
            model_dir: a saved model folder.
            aspects: the model's aspects; the file must name the same ones, in order.

        Raises:
            CheckpointError: the file is unreadable, damaged or names other aspects.
        """
        import json

        path = Path(model_dir) / DECISION_FILE
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CheckpointError(
                f"{path}: unreadable decision rule ({type(exc).__name__}); delete it to use "
                "the argmax rule, or train again"
            ) from None
        rule = cls.from_json(data, path)
        if aspects is not None and tuple(aspects) != rule.aspects:
            raise CheckpointError(
                f"{path}: thresholds for aspects {list(rule.aspects)} but the model has "
                f"{list(aspects)}; the file belongs to another model"
            )
        return rule


def decision_summary(rule: DecisionRule | None) -> dict[str, Any]:
    """What metrics.json says about the rule behind its headline scores (``None``: argmax)."""
    if rule is None:
        return {"rule": "argmax", "thresholds": None}
    info = rule.to_json()
    fitted = rule.fitted_on
    out = {
        "rule": info["rule"] if rule.fitted_aspects else "argmax",
        "file": "model/decision.json",
        "thresholds": info["thresholds"],
        "cv_gain_pair_f1": fitted.get("cv_gain_pair_f1"),
        "cv_fold_gains": fitted.get("cv_fold_gains"),
        "margin": fitted.get("margin"),
        "why": fitted.get("reason"),
        "validation_pair_f1_argmax": fitted.get("pair_f1_argmax"),
        "validation_pair_f1_thresholds": fitted.get("pair_f1_thresholds"),
    }
    if not rule.fitted_aspects:
        out["reason"] = (
            "thresholds did not beat the argmax on held-out validation reviews"
            if fitted.get("adopted") is False and fitted.get("cv_gain_pair_f1") is not None
            else "no aspect had enough validation mentions, or none beat the argmax"
        )
    return out

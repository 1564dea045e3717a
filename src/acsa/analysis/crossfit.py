"""Out-of-fold class probabilities for every (review, aspect) cell by k-fold cross-fitting.

Each review is predicted by a model that never saw it: the reviews are cut into
``folds`` parts (copies of one text, compared by :func:`acsa.data.readers.text_key`,
always in the same part, so a copy cannot vouch for its twin's label), a
:class:`~acsa.models.tfidf.TfidfAspectModel` is fitted on the other parts and
predicts this one. The folds run in ``jobs`` worker processes (joblib).

Another model can be cross-fitted instead (``acsa analyze --encoder config``: the
configured network) by passing a :data:`FoldFitter`; its folds run one after the
other in this process (a network training uses every core itself).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from acsa.data.reviews import LabeledReviews, text_key
from acsa.errors import ArgumentError
from acsa.models.tfidf import TfidfAspectModel, TfidfModelConfig

NUM_CLASSES = 4

# (reviews, train_idx, test_idx) -> float [len(test_idx), A, 4] canonical-order probabilities
FoldFitter = Callable[[LabeledReviews, np.ndarray, np.ndarray], np.ndarray]


def fold_of_reviews(texts: list[str], folds: int, seed: int) -> np.ndarray:
    """``int [N]``: the fold of each review; copies of one text share a fold.

    Groups of texts are shuffled with ``seed`` and dealt round-robin, so fold
    sizes differ by at most the size of one group.
    """
    if folds < 2:
        raise ArgumentError("{folds:{got}}: needs at least 2 folds", got=folds)
    group_of: dict[str, int] = {}
    groups = np.array([group_of.setdefault(text_key(t), len(group_of)) for t in texts])
    if len(group_of) < folds:
        raise ArgumentError(
            "{folds:{got}}: only {groups} distinct review texts; use fewer folds or more reviews",
            got=folds,
            groups=len(group_of),
        )
    order = np.random.default_rng(seed).permutation(len(group_of))
    fold_of_group = np.empty(len(group_of), dtype=np.int64)
    fold_of_group[order] = np.arange(len(group_of)) % folds
    return fold_of_group[groups]


def _fit_predict(
    reviews: LabeledReviews, train_idx: np.ndarray, test_idx: np.ndarray, config: TfidfModelConfig
) -> np.ndarray:
    model = TfidfAspectModel.from_config(config).fit_reviews(reviews.subset(train_idx))
    return model.predict_proba([reviews.texts[i] for i in test_idx])


def out_of_fold_proba(
    reviews: LabeledReviews,
    folds: int = 5,
    *,
    config: TfidfModelConfig | None = None,
    seed: int = 0,
    jobs: int = 1,
    fit_predict: FoldFitter | None = None,
) -> np.ndarray:
    """``float64 [N, A, 4]`` out-of-fold probabilities (canonical class order).

    Args:
        reviews: the split to analyse.
        folds: number of cross-fitting folds (k).
        config: the TF-IDF model's options (defaults: the reference baseline).
        seed: shuffles the reviews into folds.
        jobs: worker processes (one fold each at a time); 1 runs in this process.
        fit_predict: fits another model on a fold's training part and returns the
            probabilities of its held-out part (``config`` and ``jobs`` are then unused).
    """
    from joblib import Parallel, delayed

    config = config or TfidfModelConfig()
    fold = fold_of_reviews(reviews.texts, folds, seed)
    parts = [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(folds)]
    if fit_predict is not None:
        results = [fit_predict(reviews, train_idx, test_idx) for train_idx, test_idx in parts]
    else:
        results = Parallel(n_jobs=max(1, jobs))(
            delayed(_fit_predict)(reviews, train_idx, test_idx, config)
            for train_idx, test_idx in parts
        )
    out = np.zeros((len(reviews), len(reviews.aspects), NUM_CLASSES), dtype=np.float64)
    for (_, test_idx), probs in zip(parts, results, strict=True):
        out[test_idx] = probs
    return out

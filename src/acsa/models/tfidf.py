"""The TF-IDF baseline: word and character n-gram TF-IDF, one logistic regression per aspect.

The bar every neural model must clear (GUIDE.md section 6). Features are the
horizontal stack of two scikit-learn ``TfidfVectorizer``\\ s fitted on the
training texts (what a ``FeatureUnion`` computes): word 1- to
``word_ngram_max``-grams and character n-grams inside word boundaries
(``char_wb``, ``char_ngram_min`` to ``char_ngram_max``), both with sublinear
TF and ``min_df``. Each aspect gets one multinomial ``LogisticRegression``
over the canonical classes ``none, negative, neutral, positive`` it has in
training; an aspect with a single class in training predicts that class with
probability 1. With the defaults this scores pair micro-F1 0.810 on the shared
smartphone test split and 0.708 on the cosmetics one (the data READMEs).

:class:`TfidfAspectModel` is a scikit-learn estimator (``BaseEstimator``: the
constructor's plain hyper-parameters are its ``get_params``, fitted
attributes end in ``_``, ``sklearn.base.clone`` gives an unfitted copy), but
not a standard classifier: ``X`` is a list of texts and ``y`` an ``[N, A]``
label matrix with a mask of known cells. Its tags say so (string input, no
2-D array, multi-output target), so scikit-learn's ``check_estimator``, whose
common checks feed numeric 2-D ``X``, skips them; the API checks that need no
data (clone, repr, nothing set in ``__init__``, ``set_params``) pass.
:meth:`TfidfAspectModel.from_config` builds one from the ``model:`` section.

Saved without pickle (:meth:`TfidfAspectModel.save_pretrained`)::

    acsa_model.json        format tag, model config (encoder: tfidf), label space,
                           aspects and the classes each aspect's classifier has
    tfidf_features.json    vocabulary (terms in column order) and IDF of each vectorizer
    model.safetensors      coef.<i> [K_i, F] and intercept.<i> [K_i] per fitted aspect

Example:
    >>> import numpy as np
    >>> texts = ["pin tốt", "pin tốt lắm", "pin kém", "pin kém quá", "camera đẹp", "camera đẹp lắm"]
    >>> labels = np.array([[3, 0], [3, 0], [1, 0], [1, 0], [0, 3], [0, 3]])
    >>> model = TfidfAspectModel(min_df=1).fit(
    ...     texts, labels, np.ones_like(labels, dtype=bool), ["Battery", "Camera"])
    >>> model.predict_proba(["pin tốt"]).shape
    (1, 2, 4)
    >>> model.predict(["pin kém"]).tolist()
    [[1, 0]]
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import Tags
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from acsa.data.label_space import CANONICAL_CLASSES, LabelSpace
from acsa.models.config import TfidfModelConfig
from acsa.models.saved import TFIDF_FEATURES_FILE, WEIGHTS_FILE, write_metadata
from acsa.models.tfidf_scorer import log_probabilities, nfc, nfc_lower, read_tfidf_arrays

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix, spmatrix
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    from acsa.data.reviews import LabeledReviews

__all__ = ["TfidfAspectModel", "TfidfModelConfig"]
_NUM_CLASSES = len(CANONICAL_CLASSES)


def _vectorizers(config: TfidfModelConfig) -> dict[str, TfidfVectorizer]:
    """Unfitted vectorizers, by name, in feature-column order."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    # a preprocessor replaces sklearn's own lowercasing, so it does both jobs
    common = {
        "preprocessor": nfc_lower if config.lowercase else nfc,
        "sublinear_tf": config.sublinear_tf,
        "min_df": config.min_df,
        "dtype": np.float64,
    }
    out = {
        "word": TfidfVectorizer(analyzer="word", ngram_range=(1, config.word_ngram_max), **common)
    }
    if config.char_ngram_max:
        out["char"] = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(config.char_ngram_min, config.char_ngram_max), **common
        )
    return out


class TfidfAspectModel(BaseEstimator):
    """TF-IDF features and one logistic regression per aspect, a scikit-learn estimator.

    ``fit(X, y, mask, aspects)`` takes texts and an ``[N, A]`` canonical label
    matrix, so it is not a standard classifier (see the module docstring); the
    hyper-parameters are checked when fitting (:class:`TfidfModelConfig`'s
    ranges), as scikit-learn estimators do.

    Args:
        word_ngram_max, char_ngram_min, char_ngram_max, min_df, C, max_iter,
            sublinear_tf, lowercase: see :class:`TfidfModelConfig` (the same
            defaults: the reference baseline).

    Attributes (after :meth:`fit` or :meth:`from_pretrained`):
        aspects_: aspect names, in label-column order.
        vectorizers_: ``{"word": TfidfVectorizer, "char": TfidfVectorizer}``.
        classifiers_: per aspect a fitted ``LogisticRegression``, or ``None`` for
            an aspect with one class in training.
        aspect_classes_: per aspect the canonical classes its classifier knows.
    """

    def __init__(
        self,
        word_ngram_max: int = 2,
        char_ngram_min: int = 2,
        char_ngram_max: int = 5,
        min_df: int = 2,
        C: float = 8.0,  # noqa: N803 - scikit-learn's name
        max_iter: int = 1000,
        sublinear_tf: bool = True,
        lowercase: bool = True,
    ) -> None:
        self.word_ngram_max = word_ngram_max
        self.char_ngram_min = char_ngram_min
        self.char_ngram_max = char_ngram_max
        self.min_df = min_df
        self.C = C
        self.max_iter = max_iter
        self.sublinear_tf = sublinear_tf
        self.lowercase = lowercase

    def __sklearn_tags__(self) -> Tags:
        # texts in, an [N, A] label matrix out: scikit-learn's common checks, written for
        # numeric 2-D X, skip an estimator whose input is not a 2-D array
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        return tags

    @classmethod
    def from_config(cls, config: TfidfModelConfig | None = None) -> TfidfAspectModel:
        """An unfitted model with the hyper-parameters of a ``model:`` section (default: the
        reference baseline)."""
        return cls(**(config or TfidfModelConfig()).model_dump(exclude={"encoder"}))

    @property
    def config(self) -> TfidfModelConfig:
        """The hyper-parameters as a validated ``model:`` section (what is saved)."""
        return TfidfModelConfig(**self.get_params())

    # ------------------------------------------------------------------ properties
    @property
    def label_space(self) -> LabelSpace:
        """The aspects with the 4 canonical classes (the model always predicts those)."""
        self._check_fitted()
        return LabelSpace(self.aspects_, "with_none")

    @property
    def aspects(self) -> tuple[str, ...]:
        """The fitted aspect names (``aspects_``)."""
        self._check_fitted()
        return self.aspects_

    @property
    def num_features(self) -> dict[str, int]:
        self._check_fitted()
        return {name: len(v.vocabulary_) for name, v in self.vectorizers_.items()}

    def _check_fitted(self) -> None:
        check_is_fitted(
            self, "aspects_", msg="the model is not fitted; call fit() or from_pretrained() first"
        )

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        X: Sequence[str],  # noqa: N803 - scikit-learn's name
        y: np.ndarray,
        mask: np.ndarray | None = None,
        aspects: Sequence[str] | None = None,
    ) -> TfidfAspectModel:
        """Fit the vectorizers on the texts ``X`` and one classifier per aspect.

        Args:
            X: ``N`` training texts.
            y: ``int [N, A]`` canonical labels (0 none, 1 negative, 2 neutral, 3 positive).
            mask: ``bool [N, A]``; cells where it is False are left out of that
                aspect's classifier. ``None`` uses every cell.
            aspects: the ``A`` aspect names (default ``aspect1`` ... ``aspectA``).

        Returns:
            ``self``.

        Raises:
            ValueError: shapes, labels or hyper-parameters out of range.
        """
        config = self.config  # checks the hyper-parameters
        texts = list(X)
        labels = np.asarray(y)
        mask = np.ones(labels.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        n = len(texts)
        if labels.ndim != 2 or labels.shape[0] != n or mask.shape != labels.shape:
            raise ValueError(
                f"expected labels and mask of shape [{n}, A] for {n} texts, got labels "
                f"{labels.shape} and mask {mask.shape}"
            )
        if aspects is None:
            aspects = [f"aspect{a + 1}" for a in range(labels.shape[1])]
        if labels.shape[1] != len(aspects):
            raise ValueError(f"got {len(aspects)} aspect names for {labels.shape[1]} label columns")
        known = labels[mask]
        if known.size and (known.min() < 0 or known.max() >= _NUM_CLASSES):
            raise ValueError(f"labels must be canonical class indices 0..{_NUM_CLASSES - 1}")
        if n == 0:
            raise ValueError("cannot fit on zero texts")

        vectorizers = _vectorizers(config)
        features = _stack([v.fit_transform(texts) for v in vectorizers.values()])
        # One BLAS thread: L-BFGS's vector updates are too small for a second thread to
        # pay, and OpenBLAS threads spin while they wait (on the smartphone split, on a
        # loaded machine: 23 s wall / 23 s CPU with one thread, 44 s / 77 s with two).
        with threadpool_limits(limits=1, user_api="blas"):
            self._fit_classifiers(features, labels, mask, aspects, config)
        self.vectorizers_ = vectorizers
        self.aspects_ = tuple(str(a) for a in aspects)
        return self

    def _fit_classifiers(
        self,
        features: csr_matrix,
        labels: np.ndarray,
        mask: np.ndarray,
        aspects: Sequence[str],
        config: TfidfModelConfig,
    ) -> None:
        from sklearn.linear_model import LogisticRegression

        classifiers: list[LogisticRegression | None] = []
        aspect_classes: list[list[int]] = []
        for a in range(len(aspects)):
            rows = np.flatnonzero(mask[:, a])
            labels_a = labels[rows, a].astype(np.int64)
            classes = np.unique(labels_a).tolist() if rows.size else [0]
            aspect_classes.append([int(c) for c in classes])
            if len(classes) < 2:
                classifiers.append(None)
                continue
            clf = LogisticRegression(C=config.C, max_iter=config.max_iter, solver="lbfgs")
            clf.fit(features[rows], labels_a)
            # keep float32 precision: the saved file stores float32, and the model
            # must predict the same before and after a save/load round trip
            clf.coef_ = clf.coef_.astype(np.float32).astype(np.float64)
            clf.intercept_ = clf.intercept_.astype(np.float32).astype(np.float64)
            classifiers.append(clf)
        self.classifiers_ = classifiers
        self.aspect_classes_ = aspect_classes

    def fit_reviews(self, reviews: LabeledReviews) -> TfidfAspectModel:
        """:meth:`fit` on an :class:`acsa.data.LabeledReviews` (texts, labels, mask, aspects)."""
        return self.fit(reviews.texts, reviews.labels, reviews.mask, reviews.aspects)

    # ------------------------------------------------------------------ prediction
    def transform(self, texts: Sequence[str]) -> csr_matrix:
        """The sparse TF-IDF matrix ``[N, F]`` of ``texts``."""
        self._check_fitted()
        return _stack([v.transform(list(texts)) for v in self.vectorizers_.values()])

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """``float64 [N, A, 4]`` class probabilities, canonical order (none, neg, neu, pos).

        A class an aspect never had in training gets probability 0.
        """
        features = self.transform(texts)
        n = features.shape[0]
        out = np.zeros((n, len(self.aspects_), _NUM_CLASSES), dtype=np.float64)
        pairs = zip(self.classifiers_, self.aspect_classes_, strict=True)
        for a, (clf, classes) in enumerate(pairs):
            if clf is None:
                out[:, a, classes[0]] = 1.0
            elif n:
                out[:, a, classes] = clf.predict_proba(features)
        return out

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        """``int64 [N, A]`` canonical labels: the most probable class per aspect."""
        return self.predict_proba(texts).argmax(-1).astype(np.int64)

    def predict_logits(self, texts: Sequence[str]) -> np.ndarray:
        """``float32 [N, A, 4]`` log-probabilities, canonical order, usable as logits.

        A softmax over the last axis gives back :meth:`predict_proba` (a class
        with probability 0 gets ``log(1e-12)``), so code written for the neural
        models' ``[N, A, C]`` logits (decision rules, reports) works unchanged.
        """
        return log_probabilities(self.predict_proba(texts))

    # ------------------------------------------------------------------ saving
    def save_pretrained(self, directory: str | Path) -> Path:
        """Write ``acsa_model.json``, ``tfidf_features.json`` and ``model.safetensors``."""
        from safetensors.numpy import save_file

        self._check_fitted()
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        tensors: dict[str, np.ndarray] = {}
        for a, clf in enumerate(self.classifiers_):
            if clf is not None:
                tensors[f"coef.{a}"] = np.ascontiguousarray(clf.coef_, dtype=np.float32)
                tensors[f"intercept.{a}"] = np.ascontiguousarray(clf.intercept_, dtype=np.float32)
        save_file(tensors, str(out / WEIGHTS_FILE), metadata={"format": "np"})
        features = {
            name: {
                "vocabulary": _terms_in_column_order(v.vocabulary_),
                "idf": [float(x) for x in v.idf_],
            }
            for name, v in self.vectorizers_.items()
        }
        (out / TFIDF_FEATURES_FILE).write_text(
            json.dumps(features, ensure_ascii=False), encoding="utf-8"
        )
        write_metadata(
            out,
            self.config,
            self.label_space,
            aspect_classes=self.aspect_classes_,
            num_features=self.num_features,
        )
        return out

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> TfidfAspectModel:
        """Rebuild a model written by :meth:`save_pretrained`, without refitting.

        Raises:
            CheckpointError: a file is missing, corrupt or inconsistent (one line);
                nothing is unpickled.
        """
        from sklearn.linear_model import LogisticRegression

        arrays = read_tfidf_arrays(directory)
        model = cls.from_config(arrays.config)
        model.vectorizers_ = _vectorizers(arrays.config)
        for name, vectorizer in model.vectorizers_.items():
            vectorizer.vocabulary_ = {t: i for i, t in enumerate(arrays.vocabularies[name])}
            vectorizer.idf_ = arrays.idf[name]
        num_features = sum(len(terms) for terms in arrays.vocabularies.values())
        classifiers: list[LogisticRegression | None] = []
        for coef, intercept, classes in zip(
            arrays.coef, arrays.intercept, arrays.aspect_classes, strict=True
        ):
            if coef is None or intercept is None:
                classifiers.append(None)
                continue
            clf = LogisticRegression(C=model.C, max_iter=model.max_iter, solver="lbfgs")
            clf.classes_ = np.asarray(classes, dtype=np.int64)
            clf.coef_ = coef.astype(np.float64)
            clf.intercept_ = intercept.astype(np.float64)
            clf.n_features_in_ = num_features
            clf.n_iter_ = np.zeros(1, dtype=np.int32)
            classifiers.append(clf)
        model.classifiers_ = classifiers
        model.aspect_classes_ = arrays.aspect_classes
        model.aspects_ = arrays.aspects
        return model


def _stack(parts: list[spmatrix]) -> csr_matrix:
    from scipy.sparse import hstack

    return hstack(parts, format="csr") if len(parts) > 1 else parts[0].tocsr()


def _terms_in_column_order(vocabulary: dict[str, int]) -> list[str]:
    terms = [""] * len(vocabulary)
    for term, column in vocabulary.items():
        terms[column] = term
    return terms

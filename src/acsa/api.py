"""Use a saved model: load it, predict aspects and sentiments, evaluate it on labelled data.

This is what the command line (``acsa predict``, ``acsa evaluate``), a
server and Python users call::

    from acsa import api

    predictor = api.load("runs/quickstart/model")   # or the run folder
    for p in predictor.predict(["pin trâu, giá hơi cao"]):
        print(p.aspects)                             # {'Battery': 'positive', 'Price': 'negative'}
    metrics = api.evaluate("runs/quickstart", "data/test.csv")

A :class:`Predictor` wraps a backend (:mod:`acsa.models.backend`) that turns
texts into logits; probabilities are reported in the canonical class order
(none, negative, neutral, positive) whatever the label scheme, and labels are
decided by :meth:`Predictor.decide`, the one place the decision rule lives:
the per-aspect mention thresholds saved with the model (``decision.json``,
fitted on validation by ``acsa train``), or the argmax for a model folder
without that file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from acsa.data.label_space import CANONICAL_CLASSES, LabelSpace

if TYPE_CHECKING:
    from acsa.data import DataConfig
    from acsa.evaluation.decision import DecisionRule
    from acsa.explain import Explanation
    from acsa.models.backend import ModelBackend

__all__ = [
    "Prediction",
    "Predictor",
    "evaluate",
    "is_blank",
    "load",
    "model_text_column",
    "predict",
]

DEFAULT_BATCH_SIZE = 256
# decimals of the class probabilities in to_payload (the server's answer, acsa predict's JSON)
PROBABILITY_DECIMALS = 6
_RUN_CONFIG = "config.yaml"
_RUN_METRICS = "metrics.json"


@dataclass(frozen=True, eq=False)
class Prediction:
    """One review's prediction.

    Attributes:
        text: the review.
        labels: ``[A]`` canonical labels (0 none, 1 negative, 2 neutral, 3 positive).
        probabilities: ``[A, 4]`` canonical-order class probabilities.
        aspect_names: the ``A`` aspect names, in column order.
    """

    text: str
    labels: np.ndarray
    probabilities: np.ndarray
    aspect_names: tuple[str, ...]

    @property
    def empty(self) -> bool:
        """A blank review (empty or whitespace only): no aspect, never sent to the model."""
        return is_blank(self.text)

    @property
    def aspects(self) -> dict[str, str]:
        """The mentioned aspects and their sentiment: ``{"Battery": "positive", ...}``."""
        return {
            a: CANONICAL_CLASSES[int(v)]
            for a, v in zip(self.aspect_names, self.labels, strict=True)
            if v != 0
        }

    def to_record(self) -> dict[str, Any]:
        """The JSON record of ``acsa predict --json``: ``{text, aspects, confidence, empty}``.

        ``empty`` is true for a blank review (no aspects: nothing to predict from).
        """
        from acsa.evaluation.report import prediction_record

        record = prediction_record(self.text, self.labels, self.aspect_names, self.probabilities)
        record["empty"] = self.empty
        return record

    def to_payload(self) -> dict[str, Any]:
        """:meth:`to_record` plus every aspect's four class probabilities.

        ``"probabilities": {"Battery": {"none": ..., "negative": ..., "neutral": ...,
        "positive": ...}, ...}``, rounded to :data:`PROBABILITY_DECIMALS`: the
        entry of ``acsa serve``'s ``/v1/predict`` and of ``acsa predict --json
        --probabilities``.
        """
        record = self.to_record()
        rows = np.round(np.asarray(self.probabilities, dtype=np.float64), PROBABILITY_DECIMALS)
        record["probabilities"] = {
            aspect: dict(zip(CANONICAL_CLASSES, row, strict=True))
            for aspect, row in zip(self.aspect_names, rows.tolist(), strict=True)
        }
        return record


def is_blank(text: str) -> bool:
    """An empty or whitespace-only review: predicted as mentioning no aspect."""
    return not text.strip()


def blank_mask(texts: Sequence[str]) -> np.ndarray:
    """``[N]`` bool: which texts are blank (:func:`is_blank`)."""
    return np.fromiter((is_blank(t) for t in texts), dtype=bool, count=len(texts))


class Predictor:
    """A loaded model, ready to predict.

    Args:
        backend: what computes the logits (see :mod:`acsa.models.backend`).
        model_dir: the folder it was loaded from; its ``decision.json`` (when
            there) is the decision rule, and the run's ``config.yaml`` and
            ``metrics.json`` beside it fill :attr:`info`.
        decision: a :class:`acsa.evaluation.decision.DecisionRule` to use instead
            of the one in ``model_dir``.

    Attributes:
        decision: the rule :meth:`decide` applies (``None``: argmax).
    """

    def __init__(
        self,
        backend: ModelBackend,
        model_dir: str | Path | None = None,
        decision: DecisionRule | None = None,
    ) -> None:
        from acsa.evaluation.decision import DecisionRule

        self.backend = backend
        self._torch_backend: Any = None  # loaded by explain() for a model run on ONNX Runtime
        self.model_dir = Path(model_dir) if model_dir is not None else None
        if decision is None and self.model_dir is not None:
            decision = DecisionRule.load(self.model_dir, backend.label_space.aspects)
        self.decision = decision
        self.info: dict[str, Any] = _model_info(backend, self.model_dir)
        thresholds = decision is not None and bool(decision.fitted_aspects)
        self.info["decision"] = "mention_threshold" if thresholds else "argmax"

    @classmethod
    def load(
        cls, model_dir: str | Path, runtime: str | None = None, threads: int | None = None
    ) -> Predictor:
        """Load a saved model folder (``save_pretrained`` format) or a run folder holding one.

        ``runtime``: ``"auto"`` (or ``None``, the default) runs the folder's
        ``model.onnx`` with onnxruntime when ``acsa train`` exported it and
        checked that it gives PyTorch's labels, PyTorch otherwise;
        ``"onnx"`` or ``"torch"`` force one (see
        :func:`acsa.models.backend.choose_runtime`). ``threads``: ONNX
        Runtime's intra-op threads (``None``: as many as PyTorch's).
        """
        from acsa.models.saved import resolve_model_dir

        return cls.from_folder(resolve_model_dir(model_dir), runtime, threads)

    @classmethod
    def from_folder(
        cls, folder: Path, runtime: str | None = None, threads: int | None = None
    ) -> Predictor:
        """Load the model folder ``folder`` itself, as
        :func:`acsa.models.saved.resolve_model_dir` returned it (a caller that
        already resolved the path passes it on instead of resolving it again)."""
        from acsa.models.backend import load_backend

        return cls(load_backend(folder, runtime, threads), folder)

    @property
    def runtime(self) -> str:
        """What runs the network: ``"onnx"`` (ONNX Runtime) or ``"torch"`` (its own backend)."""
        return str(getattr(self.backend, "runtime", "torch"))

    @property
    def label_space(self) -> LabelSpace:
        return self.backend.label_space

    @property
    def aspects(self) -> tuple[str, ...]:
        return self.label_space.aspects

    def predict_proba(
        self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE
    ) -> np.ndarray:
        """Class probabilities ``[N, A, 4]`` (none, negative, neutral, positive), input order.

        A blank text (:func:`is_blank`) is not sent to the model: its aspects get
        ``P(none) = 1``, since there is nothing to read a sentiment from.
        """
        from acsa.evaluation.decision import canonical_probabilities

        texts = list(texts)
        blank = blank_mask(texts)
        probs = np.zeros((len(texts), len(self.aspects), len(CANONICAL_CLASSES)), np.float32)
        probs[blank, :, 0] = 1.0
        if not blank.all():
            kept = [t for t, b in zip(texts, blank, strict=True) if not b]
            logits = self.backend.predict_logits(kept, batch_size)
            probs[~blank] = canonical_probabilities(logits, self.label_space)
        return probs

    def predict_labels(
        self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(labels [N, A], probabilities [N, A, 4])``; blank texts mention no aspect."""
        texts = list(texts)
        probs = self.predict_proba(texts, batch_size)
        labels = self.decide(probs)
        labels[blank_mask(texts)] = 0
        return labels, probs

    def decide(self, probabilities: np.ndarray) -> np.ndarray:
        """Canonical labels ``[N, A]`` from :meth:`predict_proba`'s probabilities, under the
        model's saved rule (mention thresholds), or the argmax without one."""
        from acsa.evaluation.decision import decide

        if self.decision is None:
            return decide(probabilities)
        return self.decision.decide(probabilities)

    def predict(
        self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE
    ) -> list[Prediction]:
        """One :class:`Prediction` per text, in input order."""
        texts = list(texts)
        labels, probs = self.predict_labels(texts, batch_size)
        return [Prediction(text, labels[i], probs[i], self.aspects) for i, text in enumerate(texts)]

    def explain(
        self, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE, n_steps: int | None = None
    ) -> list[Explanation]:
        """One :class:`acsa.explain.Explanation` per text: its :class:`Prediction` and, for
        each aspect it says is mentioned, every token's contribution to that aspect's label.

        Offline and Hugging Face encoders: Integrated Gradients on the input
        embeddings (``n_steps``, default 16 for the offline encoder and 32 for a
        Hugging Face one: :mod:`acsa.explain.offline_ig`, :mod:`acsa.explain.hf_ig`);
        TF-IDF model: exact linear contributions; a blend: the blend of its
        parts'. Offsets are into the texts as given, also for a model with word
        segmentation. The ONNX runtime raises :class:`acsa.explain.ExplainError`.
        """
        from acsa.explain import Explanation, explain_labels

        predictions = self.predict(texts, batch_size)
        labels = np.stack([p.labels for p in predictions]) if predictions else np.zeros((0, 0))
        evidence = explain_labels(self._explained_backend(), list(texts), labels, n_steps)
        return [Explanation(p, e) for p, e in zip(predictions, evidence, strict=True)]

    def _explained_backend(self) -> Any:
        """The backend explanations read: this one, or for a model run on ONNX Runtime
        (by default after ``acsa train``) the PyTorch backend of the same folder, loaded
        once (the graph has no gradients to attribute with)."""
        from acsa.models.saved import has_weights

        if self.runtime != "onnx" or self.model_dir is None or not has_weights(self.model_dir):
            return self.backend
        if self._torch_backend is None:
            from acsa.models.backend import load_backend

            self._torch_backend = load_backend(self.model_dir, "torch")
        return self._torch_backend


def load(
    model_dir: str | Path, runtime: str | None = None, threads: int | None = None
) -> Predictor:
    """:meth:`Predictor.load`."""
    return Predictor.load(model_dir, runtime, threads)


def _predictor(model: str | Path | Predictor) -> Predictor:
    return model if isinstance(model, Predictor) else Predictor.load(model)


def _evaluated(model_dir: str | Path) -> Predictor:
    """A model folder loaded for :func:`evaluate`: on PyTorch when it has its weights (the
    runtime training scored it with, so the metrics match its ``metrics.json``), else as
    :meth:`Predictor.load` chooses (a folder holding only ``model.onnx``)."""
    from acsa.models.saved import has_weights, resolve_model_dir

    folder = resolve_model_dir(model_dir)
    return Predictor.from_folder(folder, "torch" if has_weights(folder) else None)


def predict(
    model: str | Path | Predictor,
    texts: Sequence[str],
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> list[Prediction]:
    """Predict the aspects and sentiments of raw review texts (a model folder or a Predictor)."""
    return _predictor(model).predict(texts, batch_size)


def evaluate(
    model: str | Path | Predictor,
    data_path: str | Path,
    output_dir: str | Path | None = None,
    *,
    data_config: DataConfig | None = None,
    plots: bool = True,
    batch_size: int = DEFAULT_BATCH_SIZE,
    text_column: str | None = None,
) -> dict[str, Any]:
    """Score a saved model on a labelled file; write the report when ``output_dir`` is given.

    A model folder is run on PyTorch when it holds its weights (as training scored
    it), whatever ONNX Runtime would run by default; pass a :class:`Predictor` to
    choose.

    The file is read with ``data_config`` when given, else with the data
    section of the run's ``config.yaml`` beside the model (label aliases,
    column names), else with defaults and the model's aspects; ``text_column``
    (when given) names the column holding the reviews.

    Returns:
        The metrics of GUIDE.md section 2 under the model's decision rule (as in
        ``metrics.json``), plus ``decision`` (the rule) and ``argmax`` (the
        overall scores under the plain argmax rule).
    """
    from acsa.data import DataConfig, load_split
    from acsa.evaluation import compute_metrics, scalar_metrics
    from acsa.evaluation.decision import ARGMAX_KEY, decide, decision_summary
    from acsa.evaluation.scoring import SplitPredictions, score_and_report
    from acsa.files import check_writable_dir

    predictor = model if isinstance(model, Predictor) else _evaluated(model)
    label_space = predictor.label_space
    if data_config is None and predictor.model_dir is not None:
        data_config = _run_data_config(predictor.model_dir)
    if data_config is None:
        data_config = DataConfig(aspects=list(label_space.aspects), label_scheme=label_space.scheme)
    update: dict[str, Any] = {
        "aspects": list(label_space.aspects),
        "label_scheme": label_space.scheme,
    }
    if text_column is not None:
        update["text_column"] = text_column
    data_config = _model_columns(Path(data_path), data_config.model_copy(update=update))
    if output_dir is not None:
        check_writable_dir(output_dir)
    reviews = load_split(Path(data_path), data_config)
    probs = predictor.predict_proba(reviews.texts, batch_size)
    scored = SplitPredictions(
        aspects=label_space.aspects,
        texts=list(reviews.texts),
        gold=reviews.labels,
        mask=reviews.mask,
        pred=predictor.decide(probs),
        probabilities=probs,
    )
    # as in a training run's metrics.json: the rule behind the scores, and the argmax's
    argmax = compute_metrics(reviews.labels, decide(probs), list(label_space.aspects), reviews.mask)
    extra = {"decision": decision_summary(predictor.decision), ARGMAX_KEY: scalar_metrics(argmax)}
    return score_and_report(
        scored, Path(output_dir) if output_dir is not None else None, extra=extra, plots=plots
    )


def _model_columns(path: Path, config: DataConfig) -> DataConfig:
    """``config`` for a wide CSV scored against the model's aspects (``config.aspects``).

    Evaluating cannot change the aspects (the ``data.aspects`` and
    ``data.ignore_columns`` a training error suggests), so a missing aspect
    column is an error that says what the model needs, and a column that is no
    aspect of the model (an id, a date) is left out with a warning.
    """
    import logging

    from acsa.data import file_aspects
    from acsa.data.readers import detect_format
    from acsa.errors import DataError

    if not path.is_file() or detect_format(path, config) != "wide_csv":
        return config
    columns = file_aspects(path, config)
    present = {c.casefold() for c in columns}
    missing = [a for a in config.aspects if a.casefold() not in present]
    if missing:
        raise DataError(
            f"{path} row 1: no column for the model's aspect "
            f"{', '.join(repr(m) for m in missing)} (columns: "
            f"{', '.join(repr(c) for c in columns)}); the file needs one column per aspect "
            "the model predicts"
        )
    known = {a.casefold() for a in config.aspects}
    extra = [c for c in columns if c.casefold() not in known]
    if not extra:
        return config
    logging.getLogger(__name__).warning(
        "%s: not scored: column(s) %s, which are not aspects of the model",
        path,
        ", ".join(repr(c) for c in extra),
    )
    return config.model_copy(update={"ignore_columns": [*config.ignore_columns, *extra]})


# ---------------------------------------------------------------- the run beside a model


def _beside_model(model_dir: Path, name: str) -> Path | None:
    """``name`` in the model folder or in the run folder that holds it."""
    for candidate in (model_dir / name, model_dir.parent / name):
        if candidate.is_file():
            return candidate
    return None


def _run_config(model_dir: Path) -> Mapping[str, Any] | None:
    path = _beside_model(model_dir, _RUN_CONFIG)
    if path is None:
        return None
    from acsa.files import read_yaml

    try:
        raw = read_yaml(path)
    except Exception:  # noqa: BLE001 - a damaged run config only loses optional information
        return None
    return raw if isinstance(raw, dict) else None


def _run_data_config(model_dir: Path) -> DataConfig | None:
    """The data section of the run that produced ``model_dir``, if its config is there."""
    from acsa.data import DataConfig

    section = (_run_config(model_dir) or {}).get("data")
    if not isinstance(section, dict):
        return None
    try:
        return DataConfig.model_validate(section)
    except Exception:  # noqa: BLE001 - a stale config only loses the aliases
        return None


def model_text_column(model_dir: str | Path) -> str | None:
    """The text column the model was trained on (its run's ``data.text_column``), if known.

    ``acsa predict`` and ``acsa evaluate`` look for it first in a file's columns.
    """
    from acsa.models.saved import resolve_model_dir

    try:
        path = resolve_model_dir(model_dir)
    except Exception:  # noqa: BLE001 - the loader says what is wrong with the folder
        return None
    section = (_run_config(path) or {}).get("data")
    column = section.get("text_column") if isinstance(section, dict) else None
    return column if isinstance(column, str) and column.strip() else None


def _model_info(backend: ModelBackend, model_dir: Path | None) -> dict[str, Any]:
    """Encoder kind, label space, the run's loss section and test metrics (when found)."""
    from acsa.files import read_json_mapping

    info: dict[str, Any] = {
        "encoder": getattr(backend, "kind", None),
        "aspects": list(backend.label_space.aspects),
        "label_scheme": backend.label_space.scheme,
        "loss": None,
        "test_metrics": None,
    }
    if model_dir is None:
        return info
    loss = (_run_config(model_dir) or {}).get("loss")
    info["loss"] = dict(loss) if isinstance(loss, dict) else None
    metrics_path = _beside_model(model_dir, _RUN_METRICS)
    metrics = read_json_mapping(metrics_path) if metrics_path is not None else None
    if metrics is not None and "pair_f1" in metrics:
        info["test_metrics"] = {
            k: v
            for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
    return info

"""A saved model that blends the network with the TF-IDF model fitted beside it.

The folder is the network's, as always, plus::

    tfidf/        the TF-IDF model (TfidfAspectModel.save_pretrained; predicted in numpy)
    blend.json    per-aspect network weights w: p = w * p_network + (1 - w) * p_tfidf

:class:`BlendedBackend` wraps the network's backend (PyTorch or ONNX Runtime)
and returns the log of the blended canonical probabilities, so the softmax
and the decision rule every consumer applies (``decision.json``, fitted on the
blended validation probabilities) work unchanged. A folder without
``blend.json`` loads exactly as before. The weights are fitted by
:mod:`acsa.evaluation.blend`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from acsa.data.label_space import LabelSpace
from acsa.errors import CheckpointError
from acsa.models.saved import BLEND_FILE, BLEND_TFIDF_DIR

__all__ = [
    "BLEND_FILE",
    "TFIDF_DIR",
    "BlendedBackend",
    "blend_log_probabilities",
    "clear_blend",
    "is_blended",
    "read_blend_weights",
    "save_blend",
]

TFIDF_DIR = BLEND_TFIDF_DIR
_FORMAT = "acsa-blend"
_TINY = 1e-12


def is_blended(model_dir: str | Path) -> bool:
    """Whether a saved model folder holds a blend (``blend.json``)."""
    return (Path(model_dir) / BLEND_FILE).is_file()


def clear_blend(model_dir: str | Path) -> None:
    """Remove a blend from a model folder (``blend.json``, ``tfidf/``): the network alone."""
    import shutil

    root = Path(model_dir)
    (root / BLEND_FILE).unlink(missing_ok=True)
    if (root / TFIDF_DIR).is_dir():
        shutil.rmtree(root / TFIDF_DIR)


def save_blend(
    model_dir: str | Path,
    tfidf_model: Any,
    weights: Mapping[str, float],
    fitted_on: Mapping[str, Any],
) -> Path:
    """Write the TF-IDF model into ``<model_dir>/tfidf`` and the weights into ``blend.json``."""
    from acsa.files import write_json

    root = Path(model_dir)
    tfidf_model.save_pretrained(root / TFIDF_DIR)
    data = {
        "format": _FORMAT,
        "format_version": 1,
        "description": (
            "per aspect, p = w * p_network + (1 - w) * p_tfidf over the canonical classes; "
            f"the TF-IDF model is in {TFIDF_DIR}/"
        ),
        "weights": {str(a): float(w) for a, w in weights.items()},
        "fitted_on": dict(fitted_on),
    }
    return write_json(root / BLEND_FILE, data, allow_nan=False)


def read_blend_weights(model_dir: str | Path, aspects: Sequence[str]) -> np.ndarray:
    """The network weights ``[A]`` in ``aspects`` order (CheckpointError, one line, if damaged)."""
    path = Path(model_dir) / BLEND_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, Mapping) or data.get("format") != _FORMAT:
            raise ValueError("not an acsa blend file")
        raw = data["weights"]
        if not isinstance(raw, Mapping) or list(raw) != list(aspects):
            raise ValueError(f"weights for aspects {list(raw)} but the model has {list(aspects)}")
        weights = []
        for name, value in raw.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"weight of {name!r} is not a number")
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"weight of {name!r} is outside [0, 1]")
            weights.append(float(value))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(
            f"{path}: unreadable blend ({type(exc).__name__}); train again"
        ) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(
            f"{path}: damaged blend ({exc}); delete it and {TFIDF_DIR}/ to use the network "
            "alone (and its decision.json no longer fits), or train again"
        ) from None
    return np.asarray(weights, dtype=np.float32)


def _load_scorer(folder: Path) -> Any:
    from acsa.models.tfidf_scorer import TfidfScorer  # numpy only: no scikit-learn import

    return TfidfScorer.from_pretrained(folder)


def _check_aspects(tfidf: Any, label_space: LabelSpace) -> None:
    if tuple(tfidf.aspects) != tuple(label_space.aspects):
        raise CheckpointError(
            f"the blend's TF-IDF model has aspects {list(tfidf.aspects)}, the network "
            f"{list(label_space.aspects)}; train again"
        )


def blend_log_probabilities(
    network_logits: np.ndarray, tfidf_probabilities: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """``log(w * softmax(network_logits) + (1 - w) * p_tfidf)``: float32 ``[N, A, 4]``."""
    from acsa.numeric import softmax

    # the softmax acsa.evaluation.decision.canonical_probabilities applies
    p_net = softmax(network_logits)
    w = np.asarray(weights, dtype=np.float32)[None, :, None]
    mixed = w * p_net + (1.0 - w) * np.asarray(tfidf_probabilities, dtype=np.float32)
    return np.log(np.maximum(mixed, _TINY)).astype(np.float32)


class BlendedBackend:
    """The network's backend and the TF-IDF model, blended per aspect.

    The TF-IDF part predicts with :class:`acsa.models.tfidf_scorer.TfidfScorer`
    (numpy: the same probabilities as the scikit-learn model, without importing
    scikit-learn); :attr:`tfidf`, the scikit-learn model itself, is loaded only
    when asked for (explanations read its vectorizers).

    Args:
        network: the network's backend (``TorchBackend`` or ``OnnxBackend``);
            its label scheme must be ``with_none`` (4 canonical classes).
        scorer: the TF-IDF part's :class:`~acsa.models.tfidf_scorer.TfidfScorer`,
            or a ``Future`` of it while it loads.
        weights: ``[A]`` network weights.
        tfidf_dir: the folder the TF-IDF part was saved in (for :attr:`tfidf`).
    """

    def __init__(
        self, network: Any, scorer: Any, weights: np.ndarray, tfidf_dir: Path | None = None
    ) -> None:
        if network.label_space.scheme != "with_none":
            raise CheckpointError(
                "a blend needs label_scheme with_none, the network has "
                f"{network.label_space.scheme}"
            )
        if not isinstance(scorer, Future):
            _check_aspects(scorer, network.label_space)
        self.network = network
        self._scorer = scorer
        self._tfidf_dir = tfidf_dir
        self._tfidf: Any = None
        self.weights = np.asarray(weights, dtype=np.float32)
        self.label_space: LabelSpace = network.label_space
        self.kind: str = network.kind

    @property
    def scorer(self) -> Any:
        """The TF-IDF part's scorer (waits for it when it is still loading beside the network)."""
        if isinstance(self._scorer, Future):
            self._scorer = self._scorer.result()
            _check_aspects(self._scorer, self.label_space)
        return self._scorer

    @property
    def tfidf(self) -> Any:
        """The TF-IDF part as its scikit-learn ``TfidfAspectModel`` (explanations read it)."""
        if self._tfidf is None:
            from acsa.models.tfidf import TfidfAspectModel  # imports scikit-learn

            if self._tfidf_dir is None:
                raise CheckpointError("the blend was not loaded from a folder; load it again")
            self._tfidf = TfidfAspectModel.from_pretrained(self._tfidf_dir)
        return self._tfidf

    @property
    def runtime(self) -> str:
        """The network's runtime (``"torch"`` or ``"onnx"``); TF-IDF runs in numpy."""
        return str(getattr(self.network, "runtime", "torch"))

    @classmethod
    def load(
        cls, model_dir: str | Path, network: Any, *, background: bool = True
    ) -> BlendedBackend:
        """Wrap ``network`` with the TF-IDF model and weights saved in ``model_dir``.

        With ``background``, the TF-IDF part loads in a thread while the caller goes
        on (reading its input, running the network); its first use waits for it, and
        an error loading it is raised there.
        """
        import threading

        root = Path(model_dir)
        folder = root / TFIDF_DIR
        if not folder.is_dir():
            raise CheckpointError(
                f"{root}: {BLEND_FILE} names a blend but the {TFIDF_DIR}/ folder is missing; "
                "copy the whole model folder, or train again"
            )
        weights = read_blend_weights(root, network.label_space.aspects)
        if not background:
            return cls(network, _load_scorer(folder), weights, folder)
        # Reading the vocabulary (a JSON file of about 2 MB) overlaps the network's
        # work in a thread: the network releases the GIL while it computes.
        pending: Future[Any] = Future()

        def load_scorer() -> None:
            try:
                pending.set_result(_load_scorer(folder))
            except BaseException as exc:  # raised where the model is first used
                pending.set_exception(exc)

        threading.Thread(target=load_scorer, name="acsa-tfidf-load", daemon=True).start()
        return cls(network, pending, weights, folder)

    def predict_logits(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """Log blended probabilities ``[N, A, 4]`` (a softmax gives the blend back)."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.label_space.num_aspects, 4), dtype=np.float32)
        # The TF-IDF part (mostly Python) runs in a thread beside the network, whose
        # runtime releases the GIL while it computes.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="acsa-tfidf") as pool:
            tfidf = pool.submit(
                lambda: self.scorer.predict_proba(texts, chunk_size=max(1, batch_size))
            )
            network_logits = self.network.predict_logits(texts, batch_size)
            return blend_log_probabilities(network_logits, tfidf.result(), self.weights)

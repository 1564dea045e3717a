"""Backends: what turns review texts into logits for a saved model.

A backend holds a loaded model and answers ``predict_logits(texts,
batch_size) -> [N, A, C]`` (the label scheme's class order, input order
kept). :class:`acsa.api.Predictor` goes through this interface only, so
another kind of model or runtime (a TF-IDF baseline, an ONNX Runtime session)
is one more class with the same three members, registered in
:data:`BACKENDS` under the ``encoder`` kind its saved ``acsa_model.json``
names; no caller changes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from acsa.data.label_space import LabelSpace
from acsa.errors import CheckpointError
from acsa.models.saved import ONNX_FILE, has_onnx, onnx_only, onnx_verified, read_metadata

if TYPE_CHECKING:
    from acsa.models.featurizer import Featurizer
    from acsa.models.model import AcsaModel
    from acsa.models.tfidf import TfidfAspectModel
    from acsa.models.tfidf_scorer import TfidfScorer


class ModelBackend(Protocol):
    """A loaded model that maps texts to logits."""

    label_space: LabelSpace
    kind: str  # the encoder kind, e.g. "offline", "huggingface"

    def predict_logits(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """``[N, A, C]`` float32 logits of ``texts`` in input order."""
        ...


class TorchBackend:
    """An :class:`acsa.models.AcsaModel` and its featurizer, run with PyTorch.

    Args:
        model: the model (put in eval mode).
        featurizer: the featurizer saved with it.
    """

    runtime = "torch"

    def __init__(self, model: AcsaModel, featurizer: Featurizer) -> None:
        self.model = model
        self.featurizer = featurizer
        self.label_space: LabelSpace = model.label_space
        self.kind: str = str(model.model_config.encoder)
        model.eval()

    @classmethod
    def load(cls, model_dir: Path) -> TorchBackend:
        """Load a folder written by :meth:`acsa.models.AcsaModel.save_pretrained`."""
        from acsa.models.model import AcsaModel

        model, featurizer = AcsaModel.from_pretrained(model_dir)
        return cls(model, featurizer)

    def predict_logits(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        from acsa.models.inference import predict_logits

        return predict_logits(self.model, self.featurizer, list(texts), batch_size=batch_size)


class TfidfBackend:
    """The TF-IDF baseline (:class:`acsa.models.tfidf.TfidfAspectModel`), no torch.

    Its logits are log-probabilities over the canonical classes, so the softmax
    every consumer applies gives back the model's probabilities. Loaded from a
    folder, it predicts with :class:`acsa.models.tfidf_scorer.TfidfScorer`
    (numpy: the same probabilities without importing scikit-learn), and
    :attr:`model`, the scikit-learn model explanations read, loads when asked for.

    Args:
        model: a fitted ``TfidfAspectModel`` (predicts with it), or ``None`` with
            ``scorer`` and ``model_dir``.
        scorer: the saved model's scorer.
        model_dir: the folder ``scorer`` was read from.
    """

    kind = "tfidf"

    def __init__(
        self,
        model: TfidfAspectModel | None = None,
        *,
        scorer: TfidfScorer | None = None,
        model_dir: Path | None = None,
    ) -> None:
        if model is None and (scorer is None or model_dir is None):
            raise ValueError("TfidfBackend needs a model, or a scorer and its model_dir")
        self._model = model
        self._model_dir = model_dir
        self._predictor: TfidfAspectModel | TfidfScorer = model if model is not None else scorer  # type: ignore[assignment]
        self.label_space: LabelSpace = LabelSpace(self._predictor.aspects, "with_none")

    @property
    def model(self) -> TfidfAspectModel:
        """The scikit-learn model (loaded on first use when the backend came from a folder)."""
        if self._model is None:
            from acsa.models.tfidf import TfidfAspectModel  # imports scikit-learn

            assert self._model_dir is not None  # __init__ checked it
            self._model = TfidfAspectModel.from_pretrained(self._model_dir)
        return self._model

    @classmethod
    def load(cls, model_dir: Path) -> TfidfBackend:
        """Load a folder written by :meth:`TfidfAspectModel.save_pretrained`."""
        from acsa.models.tfidf_scorer import TfidfScorer

        return cls(scorer=TfidfScorer.from_pretrained(model_dir), model_dir=Path(model_dir))

    def predict_logits(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        from acsa.models.tfidf_scorer import log_probabilities

        # batches bound the feature matrices' memory on very large inputs
        texts = list(texts)
        step = max(1, batch_size)
        parts = [
            log_probabilities(self._predictor.predict_proba(texts[start : start + step]))
            for start in range(0, len(texts), step)
        ]
        if not parts:
            return np.zeros((0, self.label_space.num_aspects, 4), dtype=np.float32)
        return np.concatenate(parts, axis=0)


# encoder kind (acsa_model.json: model_config.encoder) -> loader
BACKENDS: dict[str, Callable[[Path], ModelBackend]] = {
    "offline": TorchBackend.load,
    "huggingface": TorchBackend.load,
    "tfidf": TfidfBackend.load,
}


# how a model may be run: "torch" (its own backend) or "onnx" (its exported graph)
RUNTIMES = ("torch", "onnx")
# what a caller may ask for: a runtime, or "auto" (the default; see choose_runtime)
RUNTIME_CHOICES = ("auto", *RUNTIMES)


def choose_runtime(model_dir: Path, runtime: str | None = None) -> str:
    """The runtime that runs the model folder ``model_dir`` when ``runtime`` is asked for.

    ``"torch"`` and ``"onnx"`` are taken as they are. ``"auto"`` (or ``None``)
    picks ONNX Runtime for a folder that holds only ``model.onnx``, and for a
    folder whose ``model.onnx`` passed the label check ``acsa train`` runs
    after exporting it (:func:`acsa.models.saved.onnx_verified`: the same
    labels as PyTorch on every validation review) when onnxruntime is
    installed; PyTorch (the model's own backend) otherwise.
    """
    if runtime is not None and runtime not in RUNTIME_CHOICES:
        raise ValueError(f"runtime must be one of {RUNTIME_CHOICES}, got {runtime!r}")
    if runtime in RUNTIMES:
        return runtime
    path = Path(model_dir)
    if onnx_only(path):
        return "onnx"
    if has_onnx(path) and _onnxruntime_installed() and onnx_verified(path):
        return "onnx"
    return "torch"


def _onnxruntime_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("onnxruntime") is not None


def load_backend(
    model_dir: Path, runtime: str | None = None, threads: int | None = None
) -> ModelBackend:
    """The backend of a model folder, chosen by the encoder kind its description names.

    Args:
        model_dir: the model folder itself, as
            :func:`acsa.models.saved.resolve_model_dir` returns it.
        runtime: ``"onnx"`` runs the folder's ``model.onnx`` with onnxruntime;
            ``"torch"`` its own backend; ``"auto"`` or ``None``: see
            :func:`choose_runtime`.
        threads: intra-op threads of an ONNX Runtime session (``None``: as many
            as PyTorch uses); PyTorch's own are set by the caller
            (:func:`acsa.threads.set_torch_threads`).

    A folder with ``blend.json`` gets a :class:`acsa.models.blended.BlendedBackend`
    around the network's backend.
    """
    from acsa.models.segmented import with_saved_segmentation

    path = Path(model_dir)
    backend = _network_backend(path, choose_runtime(path, runtime), threads)
    from acsa.models.blended import BlendedBackend, is_blended

    # a blend (acsa.models.blended) wraps the network, whichever runtime runs it
    if is_blended(path):
        backend = BlendedBackend.load(path, backend)
    # both parts of a blend were fitted on texts segmented as training did
    return with_saved_segmentation(backend, path)


def _network_backend(path: Path, runtime: str, threads: int | None) -> ModelBackend:
    if runtime == "onnx":
        from acsa.models.onnx_backend import OnnxBackend  # onnxruntime: an optional extra

        return OnnxBackend.load(path, threads)
    if onnx_only(path):
        raise CheckpointError(
            f"{path}: holds only an ONNX model ({ONNX_FILE}); load it with the onnx runtime"
        )
    return BACKENDS[read_metadata(path).encoder](path)

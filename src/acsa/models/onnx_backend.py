"""The ONNX Runtime backend: a model exported by :mod:`acsa.models.onnx_export`, run on CPU.

Same interface as :class:`acsa.models.backend.TorchBackend`; the featurizer
saved with the model encodes and pads in Python, onnxruntime runs the graph.
Loading and running it imports neither torch nor transformers (an offline
encoder's model; a Hugging Face tokenizer still comes from transformers), so
``acsa predict`` on this runtime starts in a fraction of PyTorch's start-up.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from acsa.data.label_space import LabelSpace
from acsa.errors import CheckpointError, first_line, optional_import
from acsa.models.description import load_featurizer, read_model_description
from acsa.models.featurizer import Featurizer
from acsa.models.saved import ONNX_FILE


def create_session(path: str | Path, threads: int | None = None) -> Any:
    """An ``onnxruntime.InferenceSession`` on CPU.

    Args:
        path: the ``.onnx`` file.
        threads: intra-op threads; ``None`` uses as many as PyTorch does
            (:func:`default_threads`), so the two runtimes compare at equal threads.
    """
    ort = optional_import("onnxruntime", "serve", "running a model with ONNX Runtime")
    if threads is None:
        threads = default_threads()
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, int(threads))
    options.inter_op_num_threads = 1
    # the server calls one batch at a time, so the default thread spinning only burns a core
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own untyped errors
        first = first_line(exc)
        raise CheckpointError(f"{path}: cannot load the ONNX model ({first})") from None


def default_threads() -> int:
    """PyTorch's intra-op thread count, without importing torch when it is not loaded.

    ``torch.get_num_threads()`` when torch is loaded (it may have been set);
    otherwise what PyTorch would start with: ``OMP_NUM_THREADS``, else the
    cores this process may run on.
    """
    if "torch" in sys.modules:
        return int(sys.modules["torch"].get_num_threads())
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


class OnnxBackend:
    """A saved model's ONNX graph and its featurizer.

    Args:
        session: the ``onnxruntime.InferenceSession``.
        featurizer: the featurizer saved with the model.
        label_space: aspects and label scheme.
        kind: the encoder kind (``"offline"``, ``"huggingface"``).
    """

    runtime = "onnx"

    def __init__(
        self, session: Any, featurizer: Featurizer, label_space: LabelSpace, kind: str
    ) -> None:
        self.session = session
        self.featurizer = featurizer
        self.label_space = label_space
        self.kind = kind
        self.input_names = [i.name for i in session.get_inputs()]

    @classmethod
    def load(cls, model_dir: Path, threads: int | None = None) -> OnnxBackend:
        """Load a folder holding ``model.onnx`` (written by ``acsa export``)."""
        path = Path(model_dir) / ONNX_FILE
        if not path.is_file():
            raise CheckpointError(
                f"{path}: missing; export the model first: "
                f"acsa export {model_dir} --format onnx --output {model_dir}"
            )
        description = read_model_description(model_dir)
        featurizer = load_featurizer(model_dir, description.model_config)
        session = create_session(path, threads)
        return cls(session, featurizer, description.label_space, description.model_config.encoder)

    def predict_logits(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        from acsa.models.inference import logits_in_length_order

        def run_batch(batch: dict[str, np.ndarray]) -> np.ndarray:
            feeds = {name: batch[name] for name in self.input_names}
            return self.session.run(["logits"], feeds)[0]

        shape = (self.label_space.num_aspects, self.label_space.num_classes)
        return logits_in_length_order(self.featurizer, list(texts), batch_size, shape, run_batch)

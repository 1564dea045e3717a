"""A saved model's word segmentation: recorded in ``acsa_model.json``, applied by its backend.

Training writes ``"word_segmentation": NAME`` into the model folder's
``acsa_model.json`` (:func:`save_word_segmentation`) when ``data.word_segmentation``
is not ``none``; :func:`acsa.models.backend.load_backend` wraps the loaded backend
in :class:`SegmentingBackend`, so every consumer (``evaluate``, ``predict``,
``serve``, batch and Ray, the ONNX runtime) segments texts the way training did.
A folder without the key loads the plain backend, exactly as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from acsa.data.segmentation import (
    METADATA_KEY,
    NONE,
    known_segmenters,
    load_segmenter,
    segment_texts,
)
from acsa.errors import AcsaError, CheckpointError
from acsa.models.saved import CONFIG_FILE, read_metadata, update_metadata


def save_word_segmentation(model_dir: str | Path, name: str) -> None:
    """Record segmenter ``name`` in ``model_dir``'s ``acsa_model.json`` (nothing for ``none``)."""
    if name == NONE:
        return
    update_metadata(model_dir, **{METADATA_KEY: name})


def saved_word_segmentation(model_dir: str | Path) -> str:
    """The segmenter a saved model reads its texts with (``none`` without the key)."""
    try:
        meta = read_metadata(model_dir)
    except CheckpointError:
        return NONE  # the model's own loader reports a missing or damaged file
    name = meta.fields.get(METADATA_KEY, NONE)
    if not isinstance(name, str):
        raise CheckpointError(f"{meta.path}: {METADATA_KEY} must be a segmenter name, got {name!r}")
    return name


class SegmentingBackend:
    """A backend whose texts are word-segmented before they reach the model.

    Every other attribute (``label_space``, ``kind``, ``model``, ``featurizer``,
    ``runtime``...) is the wrapped backend's.
    """

    def __init__(self, backend: Any, segmentation: str) -> None:
        self.backend = backend
        self.segmentation = segmentation

    def __getattr__(self, name: str) -> Any:
        if "backend" not in self.__dict__:  # during unpickling
            raise AttributeError(name)
        return getattr(self.__dict__["backend"], name)

    def predict_logits(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        return self.backend.predict_logits(segment_texts(texts, self.segmentation), batch_size)


def with_saved_segmentation(backend: Any, model_dir: str | Path) -> Any:
    """``backend`` itself, or wrapped in :class:`SegmentingBackend` when the model folder
    records a segmenter (whose package is imported now, so a missing one fails at load)."""
    name = saved_word_segmentation(model_dir)
    if name == NONE:
        return backend
    if name not in known_segmenters():
        raise CheckpointError(
            f"{Path(model_dir) / CONFIG_FILE}: {METADATA_KEY} {name!r} is not a known segmenter"
            f" (one of: {', '.join(known_segmenters())})"
        )
    try:
        load_segmenter(name)
    except AcsaError as exc:
        raise type(exc)(f"{Path(model_dir) / CONFIG_FILE}: {exc}") from None
    return SegmentingBackend(backend, name)

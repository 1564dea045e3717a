"""The saved model folder: its layout, file names, format tag and the one reader of its description.

Every writer and loader of a model folder goes through this module, so the
folder has one owner. A model folder holds::

    acsa_model.json        the description (every model): format tag and version,
                           acsa version, model config (its ``encoder`` names the
                           kind), label space, aspects, and kind-specific keys
                           (``sizes`` for the offline encoder, ``aspect_classes``
                           and ``num_features`` for TF-IDF)
    model.safetensors      the weights (neural: the state dict; TF-IDF: coef and intercept)
    featurizer.json        offline encoder: vocabularies and tokenization options
    tokenizer/             Hugging Face encoder: the tokenizer files
    backbone/config.json   Hugging Face encoder: the backbone architecture
    tfidf_features.json    TF-IDF: vocabulary and IDF of each vectorizer
    model.onnx(.data)      the exported graph (``acsa export``, and ``acsa train`` at
                           the end of a run); a folder may hold only this, or this
                           beside ``model.safetensors``; ``acsa_model.json``'s
                           ``onnx_check`` says whether it gave PyTorch's labels on
                           the validation reviews (:func:`onnx_verified`)
    decision.json          the decision rule fitted by ``acsa train``; its reader
                           and writer are :class:`acsa.evaluation.decision.DecisionRule`
                           (evaluation may not import models, so its name lives there)
    blend.json, tfidf/     a blended model (``training.blend: auto``): per-aspect
                           weights of the network against the TF-IDF model saved
                           in ``tfidf/`` (a TF-IDF model folder); read and written
                           by :mod:`acsa.models.blended`

A run folder (``acsa train``'s output) holds its model folder as ``model/``;
:func:`resolve_model_dir` accepts either.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import acsa
from acsa.data.label_space import LabelSpace
from acsa.errors import CheckpointError
from acsa.files import write_json
from acsa.models.config import (
    AnyModelConfig,
    model_config_to_dict,
    parse_model_config,
    saved_offline_config,
)

CONFIG_FILE = "acsa_model.json"
WEIGHTS_FILE = "model.safetensors"
FEATURIZER_FILE = "featurizer.json"
TOKENIZER_DIR = "tokenizer"
BACKBONE_DIR = "backbone"
TFIDF_FEATURES_FILE = "tfidf_features.json"
ONNX_FILE = "model.onnx"
ONNX_DATA_FILE = ONNX_FILE + ".data"
# acsa_model.json's record of the check that model.onnx gives PyTorch's labels
ONNX_CHECK_KEY = "onnx_check"
_DIGEST_BLOCK = 1 << 20
BLEND_FILE = "blend.json"
BLEND_TFIDF_DIR = "tfidf"
# the saved model's folder inside a run folder (acsa.training.output_dir)
RUN_MODEL_DIR = "model"

MODEL_FORMAT = "acsa-model"
MODEL_FORMAT_VERSION = 1

# how a loader expecting one kind names it in its error message
_KIND_NAMES = {"tfidf": "TF-IDF", "offline": "offline", "huggingface": "Hugging Face"}


@dataclass(frozen=True)
class ModelMetadata:
    """The parsed ``acsa_model.json`` of a model folder.

    Reading it checks only what every loader needs, the encoder kind (so
    another kind registered in :data:`acsa.models.backend.BACKENDS` can
    describe itself freely); :attr:`model_config` and :attr:`label_space`
    validate the format tag and their sections when first read.

    Attributes:
        path: the file (for messages).
        fields: the whole parsed file, for the kind-specific keys.
        kind: the encoder kind the reader expected (names it in messages), or ``None``.
    """

    path: Path
    fields: Mapping[str, Any]
    kind: str | None = None

    @property
    def encoder(self) -> str:
        """The encoder kind (``offline``, ``huggingface``, ``tfidf``, or a registered one)."""
        return str(self.fields["model_config"]["encoder"])

    @cached_property
    def model_config(self) -> AnyModelConfig:
        """The ``model:`` section it was saved with (format tag checked first)."""
        try:
            if self.fields.get("format") != MODEL_FORMAT:
                raise ValueError("wrong format tag")
            return parse_model_config(saved_offline_config(dict(self.fields["model_config"])))
        except Exception as exc:  # any validation problem means the file is damaged
            raise self.damaged(exc) from None

    @cached_property
    def label_space(self) -> LabelSpace:
        """Aspects and label scheme."""
        try:
            return LabelSpace.from_dict(self.fields["label_space"])
        except Exception as exc:
            raise self.damaged(exc) from None

    @property
    def aspects(self) -> tuple[str, ...]:
        return self.label_space.aspects

    def damaged(self, exc: BaseException) -> CheckpointError:
        """The one-line error for a description whose content ``exc`` rejected."""
        return _damaged(self.path, exc, self.kind)


def _damaged(path: Path, exc: BaseException, kind: str | None) -> CheckpointError:
    if kind is not None:
        name = _KIND_NAMES.get(kind, kind)
        what = f"not {'an' if name[:1] in 'aeiouAEIOU' else 'a'} {name} acsa model description"
    else:
        what = "unreadable model description"
    return CheckpointError(f"{path}: {what} ({type(exc).__name__}); save the model again")


def write_metadata(
    directory: str | Path, model_config: AnyModelConfig, label_space: LabelSpace, **fields: Any
) -> Path:
    """Write ``acsa_model.json`` into ``directory``; ``fields`` are the kind-specific keys."""
    meta = {
        "format": MODEL_FORMAT,
        "format_version": MODEL_FORMAT_VERSION,
        "acsa_version": acsa.__version__,
        "model_config": model_config_to_dict(model_config),
        "label_space": label_space.to_dict(),
        "aspects": list(label_space.aspects),
        **fields,
    }
    return write_json(Path(directory) / CONFIG_FILE, meta)


def update_metadata(directory: str | Path, **fields: Any) -> Path:
    """Add or replace kind-specific keys of an existing ``acsa_model.json`` (e.g. the word
    segmentation training used); the file must be readable (:func:`read_metadata`)."""
    meta = read_metadata(directory)
    return write_json(meta.path, {**meta.fields, **fields})


def read_metadata(directory: str | Path, kind: str | None = None) -> ModelMetadata:
    """Parse ``acsa_model.json`` in the model folder ``directory``.

    Args:
        directory: the model folder itself (see :func:`resolve_model_dir`).
        kind: the encoder kind the caller loads; a description of another kind
            (or a damaged one) is then reported as "not a <kind> acsa model
            description", and the whole description is checked at once.

    Raises:
        CheckpointError: the folder or file is missing, or the file is damaged
            (one line naming the file).
    """
    root = Path(directory)
    if not root.is_dir():
        raise CheckpointError(f"{root}: model directory not found")
    path = root / CONFIG_FILE
    if not path.is_file():
        raise CheckpointError(f"{path}: missing; not a saved acsa model directory")
    try:
        fields = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # undecodable bytes or JSON
        raise _damaged(path, exc, None) from None
    try:
        if not isinstance(fields, dict) or not isinstance(fields["model_config"]["encoder"], str):
            raise TypeError("no encoder kind")
        meta = ModelMetadata(path, fields, kind)
        if kind is not None and meta.encoder != kind:
            raise ValueError(f"a {meta.encoder} model")
    except Exception as exc:  # any validation problem means the file is damaged
        raise _damaged(path, exc, kind) from None
    if kind is not None:  # the loader of one kind needs the whole description
        _ = (meta.model_config, meta.label_space)
    return meta


def resolve_model_dir(model_dir: str | Path) -> Path:
    """The model folder of ``model_dir``, which may be a run folder holding ``model/``.

    Call it once where a path comes in (the API, a command); what it returns
    is the folder every loader below takes as is.
    """
    path = Path(model_dir).expanduser()
    if not path.exists():
        raise CheckpointError(f"{path}: model folder not found")
    if not path.is_dir():
        raise CheckpointError(f"{path}: expected a model folder, found a file")
    if (path / RUN_MODEL_DIR).is_dir() and not (has_weights(path) or has_onnx(path)):
        path = path / RUN_MODEL_DIR
    return path


def has_weights(folder: Path) -> bool:
    """The folder holds safetensors weights (a model runnable with its own backend)."""
    return any(Path(folder).glob("*.safetensors"))


def has_onnx(folder: Path) -> bool:
    """The folder holds an exported ONNX graph."""
    return (Path(folder) / ONNX_FILE).is_file()


def onnx_only(folder: Path) -> bool:
    """The folder holds an ONNX graph and no other weights (``acsa export`` to a new folder)."""
    return has_onnx(folder) and not has_weights(folder)


def onnx_digest(folder: Path) -> str:
    """A fingerprint of the folder's ``model.onnx`` (and ``model.onnx.data``): each file's
    size and the SHA-256 of its first and last MiB (cheap on every load, and a graph
    exported again differs in its first bytes)."""
    digest = hashlib.sha256()
    for name in (ONNX_FILE, ONNX_DATA_FILE):
        path = Path(folder) / name
        if not path.is_file():
            continue
        size = path.stat().st_size
        digest.update(f"{name}:{size}:".encode())
        with path.open("rb") as handle:
            digest.update(handle.read(_DIGEST_BLOCK))
            if size > _DIGEST_BLOCK:
                handle.seek(max(_DIGEST_BLOCK, size - _DIGEST_BLOCK))
                digest.update(handle.read(_DIGEST_BLOCK))
    return digest.hexdigest()


def write_onnx_check(folder: Path, check: Mapping[str, Any]) -> Path:
    """Record in ``acsa_model.json`` whether ``model.onnx`` gives PyTorch's labels.

    ``check`` holds at least ``identical_labels`` (bool); the digest of the
    graph it was run on is added, so a graph replaced later is not trusted.
    """
    record = {**dict(check), "onnx_digest": onnx_digest(folder) if has_onnx(folder) else None}
    return update_metadata(folder, **{ONNX_CHECK_KEY: record})


def onnx_check(folder: Path) -> Mapping[str, Any] | None:
    """The ``onnx_check`` record of the folder's description (``None``: none, or unreadable)."""
    try:
        record = read_metadata(folder).fields.get(ONNX_CHECK_KEY)
    except CheckpointError:
        return None  # the loader reports a missing or damaged description
    return record if isinstance(record, Mapping) else None


def onnx_verified(folder: Path) -> bool:
    """The folder's ``model.onnx`` gave PyTorch's labels on every validation review when
    ``acsa train`` checked it, and is still the graph it checked."""
    record = onnx_check(folder)
    return bool(
        record is not None
        and record.get("identical_labels") is True
        and has_onnx(folder)
        and record.get("onnx_digest") == onnx_digest(folder)
    )


def remove_onnx(folder: Path) -> None:
    """Remove the folder's ``model.onnx`` (``.data``) and its check from ``acsa_model.json``
    (before a new export: a resumed run saves new weights)."""
    for name in (ONNX_FILE, ONNX_DATA_FILE):
        (Path(folder) / name).unlink(missing_ok=True)
    try:
        meta = read_metadata(folder)
    except CheckpointError:
        return  # no description: no check to remove
    if ONNX_CHECK_KEY in meta.fields:
        write_json(meta.path, {k: v for k, v in meta.fields.items() if k != ONNX_CHECK_KEY})

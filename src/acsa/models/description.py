"""What every runtime of a saved neural model reads first: its description and featurizer.

Torch-free (the ONNX Runtime backend loads a model without importing torch);
:meth:`acsa.models.model.AcsaModel.from_pretrained` uses the same two readers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from acsa.data.label_space import LabelSpace
from acsa.models.config import HuggingFaceModelConfig, OfflineModelConfig
from acsa.models.featurizer import Featurizer
from acsa.models.saved import TOKENIZER_DIR, read_metadata

AnyModelConfig = OfflineModelConfig | HuggingFaceModelConfig

__all__ = ["ModelDescription", "load_featurizer", "read_model_description"]


@dataclass(frozen=True)
class ModelDescription:
    """The parsed ``acsa_model.json`` of a saved model folder."""

    model_config: AnyModelConfig
    label_space: LabelSpace
    sizes: dict[str, int]


def read_model_description(directory: str | Path) -> ModelDescription:
    """The parts of ``acsa_model.json`` every runtime of a neural model needs
    (:func:`acsa.models.saved.read_metadata`; missing or damaged: ``CheckpointError``)."""
    meta = read_metadata(directory)
    model_config, label_space = meta.model_config, meta.label_space
    try:
        sizes = {str(k): int(v) for k, v in dict(meta.fields.get("sizes") or {}).items()}
    except Exception as exc:  # a damaged sizes entry
        raise meta.damaged(exc) from None
    return ModelDescription(model_config, label_space, sizes)


def load_featurizer(directory: str | Path, model_config: AnyModelConfig) -> Featurizer:
    """The featurizer saved in a model folder (tokenizer files or ``featurizer.json``)."""
    root = Path(directory)
    if isinstance(model_config, HuggingFaceModelConfig):
        from acsa.models.hf_featurizer import HFFeaturizer, policy_of

        return HFFeaturizer.load(
            root / TOKENIZER_DIR, model_config.max_length, **policy_of(model_config)
        )
    from acsa.models.offline_featurizer import OfflineFeaturizer

    return OfflineFeaturizer.load(root)

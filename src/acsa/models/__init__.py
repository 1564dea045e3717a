"""Encoders (offline default, Hugging Face), heads, the model class and inference.

The names below load on first use (PEP 562), so importing a torch-free part
of this package (:mod:`acsa.models.saved`, the featurizers, the ONNX Runtime
backend) does not import torch or transformers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acsa.models.config import (
        HeadConfig,
        HuggingFaceModelConfig,
        ModelConfig,
        OfflineModelConfig,
        model_config_to_dict,
        parse_model_config,
    )
    from acsa.models.featurizer import Features, Featurizer
    from acsa.models.heads import AspectHead
    from acsa.models.hf_encoder import HFEncoder
    from acsa.models.hf_featurizer import HFFeaturizer
    from acsa.models.inference import predict_logits
    from acsa.models.model import AcsaModel, build_model
    from acsa.models.offline_encoder import OfflineEncoder
    from acsa.models.offline_featurizer import OfflineFeaturizer

# public name -> the module that defines it
_LAZY = {
    "AcsaModel": "model",
    "AspectHead": "heads",
    "Features": "featurizer",
    "Featurizer": "featurizer",
    "HFEncoder": "hf_encoder",
    "HFFeaturizer": "hf_featurizer",
    "HeadConfig": "config",
    "HuggingFaceModelConfig": "config",
    "ModelConfig": "config",
    "OfflineEncoder": "offline_encoder",
    "OfflineFeaturizer": "offline_featurizer",
    "OfflineModelConfig": "config",
    "build_model": "model",
    "model_config_to_dict": "config",
    "parse_model_config": "config",
    "predict_logits": "inference",
}

__all__ = [
    "AcsaModel",
    "AspectHead",
    "Features",
    "Featurizer",
    "HFEncoder",
    "HFFeaturizer",
    "HeadConfig",
    "HuggingFaceModelConfig",
    "ModelConfig",
    "OfflineEncoder",
    "OfflineFeaturizer",
    "OfflineModelConfig",
    "build_model",
    "model_config_to_dict",
    "parse_model_config",
    "predict_logits",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])

"""Encoders (offline default, Hugging Face), heads, the model class and inference."""

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

"""The Hugging Face encoder: any ``AutoModel`` backbone, pooled to one vector per review."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch
from torch import nn

from acsa.errors import CheckpointError
from acsa.models.config import HuggingFaceModelConfig


class HFEncoder(nn.Module):
    """Backbone + ``cls`` or mask-aware ``mean`` pooling + dropout.

    Args:
        backbone: a ``PreTrainedModel`` returning ``last_hidden_state``.
        config: the Hugging Face model config section.
    """

    feature_names = frozenset({"input_ids", "attention_mask", "token_type_ids"})

    def __init__(self, backbone: nn.Module, config: HuggingFaceModelConfig) -> None:
        super().__init__()
        self.backbone = backbone
        self.pooling = config.pooling
        self.dropout = nn.Dropout(config.dropout)
        self.output_dim = int(backbone.config.hidden_size)

    @classmethod
    def from_pretrained(cls, config: HuggingFaceModelConfig) -> HFEncoder:
        """Load the pretrained backbone named in ``config`` (no download unless allowed)."""
        from transformers import AutoModel

        try:
            backbone = AutoModel.from_pretrained(
                config.name_or_path, local_files_only=config.local_files_only
            )
        except (OSError, ValueError) as exc:
            hint = (
                "; it is not available locally (set model.local_files_only: false to download)"
                if config.local_files_only
                else ""
            )
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CheckpointError(
                f"cannot load model {config.name_or_path}{hint}: {first}"
            ) from None
        except pickle.UnpicklingError:
            # transformers loads .bin weights with torch's weights-only unpickler;
            # a refusal means the file holds more than tensors (possibly code)
            raise CheckpointError(
                f"cannot load model {config.name_or_path}: its pickled weights file holds "
                "objects other than tensors and was refused (nothing was run); use a "
                "model.safetensors file or a trusted checkpoint"
            ) from None
        return cls(backbone, config)

    @classmethod
    def from_backbone_config(
        cls, backbone_dir: str | Path, config: HuggingFaceModelConfig
    ) -> HFEncoder:
        """Build the backbone architecture from a saved ``config.json``, weights left random
        (they are filled from ``model.safetensors`` afterwards)."""
        from transformers import AutoConfig, AutoModel

        try:
            backbone_config = AutoConfig.from_pretrained(str(backbone_dir), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise CheckpointError(
                f"{Path(backbone_dir) / 'config.json'}: unreadable backbone config"
                f" ({type(exc).__name__}); save the model again"
            ) from None
        backbone = AutoModel.from_config(backbone_config)
        return cls(backbone, config)

    def save_backbone_config(self, directory: str | Path) -> None:
        self.backbone.config.save_pretrained(str(directory))

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, **extra: Any
    ) -> torch.Tensor:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        out = self.backbone(input_ids=input_ids, attention_mask=attention_mask, **extra)
        hidden = out.last_hidden_state
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return self.dropout(pooled)

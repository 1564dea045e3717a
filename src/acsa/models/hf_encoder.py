"""The Hugging Face encoder: any ``AutoModel`` backbone, pooled to one vector per review."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch
from torch import nn

from acsa.errors import CheckpointError, first_line
from acsa.models.config import HuggingFaceModelConfig


class HFEncoder(nn.Module):
    """Backbone + ``cls`` or mask-aware ``mean`` pooling + dropout.

    With ``long_reviews: windows`` the inputs are ``[B, W, T]`` (each review's
    windows, all-padding where a review has fewer than ``W``): the real windows
    go through the backbone as one batch, and each review's window vectors are
    max- or mean-pooled (``window_pooling``) into one.

    Args:
        backbone: a ``PreTrainedModel`` returning ``last_hidden_state``.
        config: the Hugging Face model config section.
    """

    feature_names = frozenset({"input_ids", "attention_mask", "token_type_ids"})

    def __init__(self, backbone: nn.Module, config: HuggingFaceModelConfig) -> None:
        super().__init__()
        self.backbone = backbone
        self.pooling = config.pooling
        self.window_pooling = config.window_pooling
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
            first = first_line(exc)
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

    def _encode(
        self, input_ids: torch.Tensor | None, attention_mask: torch.Tensor, **extra: Any
    ) -> torch.Tensor:
        """``[N, T]`` token ids (or ``inputs_embeds=[N, T, D]`` in ``extra``) -> ``[N, H]``
        pooled vectors."""
        out = self.backbone(input_ids=input_ids, attention_mask=attention_mask, **extra)
        hidden = out.last_hidden_state
        if self.pooling == "cls":
            return hidden[:, 0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)

    def _encode_windows(
        self, input_ids: torch.Tensor | None, attention_mask: torch.Tensor, **extra: Any
    ) -> torch.Tensor:
        """``[B, W, T]`` windows -> ``[B, H]``: encode the real windows, pool per review."""
        batch, windows, width = attention_mask.shape
        present = attention_mask.sum(-1) > 0  # [B, W]
        flat_present = present.reshape(-1)

        def flat(value: torch.Tensor) -> torch.Tensor:
            return value.reshape(batch * windows, width, *value.shape[3:])[flat_present]

        extra = {k: flat(v) for k, v in extra.items()}
        ids = None if input_ids is None else flat(input_ids)
        pooled = self._encode(ids, flat(attention_mask), **extra)
        grid = pooled.new_zeros(batch * windows, pooled.shape[-1])
        grid[flat_present] = pooled
        grid = grid.view(batch, windows, -1)
        weights = present.unsqueeze(-1).to(grid.dtype)
        if self.window_pooling == "mean":
            return (grid * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        return grid.masked_fill(~present.unsqueeze(-1), torch.finfo(grid.dtype).min).amax(1)

    def forward(
        self,
        input_ids: torch.Tensor | None,
        attention_mask: torch.Tensor | None = None,
        **extra: Any,
    ) -> torch.Tensor:
        """Pooled ``[B, H]`` vectors of ``input_ids`` ``[B, T]`` (``[B, W, T]``: windows), or of
        ``inputs_embeds=[B, (W,) T, D]`` with ``input_ids=None`` and the attention mask
        (:mod:`acsa.explain.hf_ig` differentiates through the input embeddings)."""
        if attention_mask is None:
            assert input_ids is not None, "inputs_embeds needs an attention_mask"
            attention_mask = torch.ones_like(input_ids)
        if attention_mask.dim() == 3:
            return self.dropout(self._encode_windows(input_ids, attention_mask, **extra))
        return self.dropout(self._encode(input_ids, attention_mask, **extra))

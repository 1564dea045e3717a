"""Heads over the pooled review vector: multi-aspect classifier and projection head."""

from __future__ import annotations

import torch
from torch import nn

from acsa.models.config import HeadConfig


class AspectHead(nn.Module):
    """One shared hidden layer, then ``A * C`` outputs reshaped to ``[B, A, C]``.

    The projection head (when ``projection_dim`` > 0) reads the same hidden
    activation, so a contrastive loss shapes the representation the classifier
    uses. Projections are returned unnormalised: contrastive losses in
    ``acsa.losses`` L2-normalise their input themselves.

    Args:
        input_dim: width of the pooled review vector.
        num_aspects: ``A``.
        num_classes: ``C`` (4 for ``with_none``, 3 for ``seed``).
        config: hidden width, dropout, projection width.
    """

    def __init__(self, input_dim: int, num_aspects: int, num_classes: int, config: HeadConfig):
        super().__init__()
        self.num_aspects = num_aspects
        self.num_classes = num_classes
        self.input_dropout = nn.Dropout(config.dropout)
        if config.hidden_dim > 0:
            self.hidden: nn.Module = nn.Sequential(
                nn.Linear(input_dim, config.hidden_dim), nn.GELU(), nn.Dropout(config.dropout)
            )
            width = config.hidden_dim
        else:
            self.hidden = nn.Identity()
            width = input_dim
        self.classifier = nn.Linear(width, num_aspects * num_classes)
        self.projection = nn.Linear(width, config.projection_dim) if config.projection_dim else None

    def forward(self, pooled: torch.Tensor) -> dict[str, torch.Tensor]:
        hidden = self.hidden(self.input_dropout(pooled))
        logits = self.classifier(hidden).reshape(-1, self.num_aspects, self.num_classes)
        out = {"logits": logits}
        if self.projection is not None:
            out["projections"] = self.projection(hidden)
        return out

"""A classification loss plus an optional contrastive loss, with each part reported."""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import Tensor, nn


@dataclass
class LossOutput:
    """``total`` drives ``backward``; ``parts`` holds detached values for logging."""

    total: Tensor
    parts: dict[str, Tensor] = field(default_factory=dict)


class CombinedLoss(nn.Module):
    """``classification_weight * cls + contrastive_weight * con``.

    Args:
        classification: a loss called as ``(logits, targets, mask)``.
        contrastive: optional loss called as ``(embeddings, targets, mask)``.
        classification_weight: factor of the classification part.
        contrastive_weight: factor of the contrastive part (skipped when 0).

    ``forward(logits, targets, mask=None, embeddings=None) -> LossOutput`` with
    ``parts["classification"]`` and, when the contrastive part runs,
    ``parts["contrastive"]`` (unweighted values, detached).
    """

    def __init__(
        self,
        classification: nn.Module,
        contrastive: nn.Module | None = None,
        classification_weight: float = 1.0,
        contrastive_weight: float = 0.0,
    ) -> None:
        super().__init__()
        if classification_weight < 0 or contrastive_weight < 0:
            raise ValueError(
                "classification_weight and contrastive_weight must be >= 0, got "
                f"{classification_weight}, {contrastive_weight}"
            )
        self.classification = classification
        self.contrastive = contrastive
        self.classification_weight = float(classification_weight)
        self.contrastive_weight = float(contrastive_weight)

    def forward(
        self,
        logits: Tensor,
        targets: Tensor,
        mask: Tensor | None = None,
        embeddings: Tensor | None = None,
    ) -> LossOutput:
        cls = self.classification(logits, targets, mask)
        total = self.classification_weight * cls
        parts = {"classification": cls.detach()}
        if self.contrastive is not None and self.contrastive_weight > 0:
            if embeddings is None:
                raise ValueError(
                    "CombinedLoss has a contrastive part: pass embeddings=[B, D] "
                    "(the model's projections)"
                )
            con = self.contrastive(embeddings, targets, mask)
            total = total + self.contrastive_weight * con
            parts["contrastive"] = con.detach()
        return LossOutput(total=total, parts=parts)

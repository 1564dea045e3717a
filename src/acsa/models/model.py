"""``AcsaModel``: encoder + multi-aspect head, saved as safetensors plus JSON (never pickle).

Checkpoint directory written by :meth:`AcsaModel.save_pretrained` (file names and the
description's reader and writer: :mod:`acsa.models.saved`)::

    model.safetensors     all weights (encoder, head, projection head)
    acsa_model.json       model config, label space, aspect names, sizes, acsa version
    featurizer.json       offline encoder: vocabularies and tokenization options
    tokenizer/            Hugging Face encoder: the tokenizer files
    backbone/config.json  Hugging Face encoder: the backbone architecture

:meth:`AcsaModel.from_pretrained` needs nothing else (no training config, no
original Hugging Face checkpoint, no network).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from acsa.data.label_space import LabelSpace
from acsa.errors import CheckpointError, ConfigError
from acsa.models.config import (
    HuggingFaceModelConfig,
    OfflineModelConfig,
    parse_model_config,
)
from acsa.models.description import load_featurizer, read_model_description
from acsa.models.featurizer import Featurizer
from acsa.models.heads import AspectHead
from acsa.models.hf_encoder import HFEncoder
from acsa.models.hf_featurizer import HFFeaturizer, policy_of
from acsa.models.offline_encoder import OfflineEncoder
from acsa.models.offline_featurizer import OfflineFeaturizer
from acsa.models.saved import (
    BACKBONE_DIR,
    CONFIG_FILE,
    TOKENIZER_DIR,
    WEIGHTS_FILE,
    write_metadata,
)

AnyModelConfig = OfflineModelConfig | HuggingFaceModelConfig


class AcsaModel(nn.Module):
    """Encoder + :class:`~acsa.models.heads.AspectHead`.

    ``forward(**features)`` takes the tensors of ``featurizer.collate`` and
    returns ``{"logits": [B, A, C]}`` plus ``"projections": [B, P]`` (unnormalised)
    when the head has a projection. Only the encoder's ``feature_names`` are
    used; other keys (``labels``, ``label_mask``, ``example_index``, ...) are
    ignored, so a Trainer batch can be passed whole.

    Args:
        encoder: :class:`OfflineEncoder` or :class:`HFEncoder` (has ``output_dim``).
        model_config: the validated ``model:`` section.
        label_space: aspects and label scheme (sets ``A`` and ``C``).
        featurizer: kept so :meth:`save_pretrained` writes a complete checkpoint.
        sizes: vocabulary sizes the offline encoder was built with (saved for reload).
    """

    def __init__(
        self,
        encoder: nn.Module,
        model_config: AnyModelConfig,
        label_space: LabelSpace,
        featurizer: Featurizer | None = None,
        sizes: dict[str, int] | None = None,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.model_config = model_config
        self.label_space = label_space
        self.featurizer = featurizer
        self.sizes = dict(sizes or {})
        self.head = AspectHead(
            encoder.output_dim, label_space.num_aspects, label_space.num_classes, model_config.head
        )

    @property
    def aspects(self) -> tuple[str, ...]:
        return self.label_space.aspects

    def forward(self, **features: torch.Tensor) -> dict[str, torch.Tensor]:
        names = self.encoder.feature_names
        inputs = {k: v for k, v in features.items() if k in names}
        return self.head(self.encoder(**inputs))

    def create_optimizer(self, learning_rate: float, weight_decay: float) -> torch.optim.Optimizer:
        """AdamW with no weight decay on biases, norms and embedding tables.

        Plain ``torch.optim.AdamW`` over all parameters also works (the Trainer's
        default); this only keeps decay off parameters where it hurts rare
        tokens. Returns one standard optimizer, so schedulers and resume work:
        the fused implementation where torch has one for the parameters' device.
        """
        decay, no_decay = [], []
        for name, param in self.named_parameters():
            if not param.requires_grad:
                continue
            if param.ndim < 2 or "embedding" in name or "norm" in name.lower():
                no_decay.append(param)
            else:
                decay.append(param)
        groups = [
            {"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        groups = [g for g in groups if g["params"]]
        try:
            # one fused kernel for all tensors (CPU and CUDA, torch >= 2.4): on the
            # quickstart's 7.9M parameters 4 ms a step on CPU, against 40 ms for the
            # per-tensor loop torch uses by default there (the Trainer's own default,
            # for the other encoders, is the fused AdamW too)
            return torch.optim.AdamW(groups, lr=learning_rate, fused=True)
        except (RuntimeError, TypeError, ValueError):  # an older torch, another device
            return torch.optim.AdamW(groups, lr=learning_rate)

    # ------------------------------------------------------------------ saving
    def save_pretrained(self, directory: str | Path) -> Path:
        """Write weights, JSON config and featurizer files into ``directory``."""
        from safetensors.torch import save_file

        if self.featurizer is None:
            raise CheckpointError("model has no featurizer attached; build it with build_model")
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        save_file(state, str(out / WEIGHTS_FILE), metadata={"format": "pt"})
        write_metadata(out, self.model_config, self.label_space, sizes=self.sizes)
        if isinstance(self.encoder, HFEncoder):
            self.featurizer.save(out / TOKENIZER_DIR)
            self.encoder.save_backbone_config(out / BACKBONE_DIR)
        else:
            self.featurizer.save(out)
        return out

    @classmethod
    def from_pretrained(
        cls, directory: str | Path, map_location: str | torch.device = "cpu"
    ) -> tuple[AcsaModel, Featurizer]:
        """Load a directory written by :meth:`save_pretrained`; returns ``(model, featurizer)``.

        The model is in eval mode. Raises :class:`CheckpointError` (one line) when
        a file is missing or corrupt; nothing is unpickled.
        """
        from safetensors.torch import load_file

        root = Path(directory)
        description = read_model_description(root)
        model_config, label_space, sizes = (
            description.model_config,
            description.label_space,
            description.sizes,
        )
        if not isinstance(model_config, OfflineModelConfig | HuggingFaceModelConfig):
            raise CheckpointError(
                f"{root / CONFIG_FILE}: a {model_config.encoder} model, not a neural one; "
                "load it with acsa.api.load"
            )
        featurizer = load_featurizer(root, model_config)
        encoder: nn.Module
        if isinstance(model_config, HuggingFaceModelConfig):
            encoder = HFEncoder.from_backbone_config(root / BACKBONE_DIR, model_config)
        else:
            try:
                encoder = _offline_encoder(model_config, sizes, label_space)
            except KeyError as exc:
                raise CheckpointError(
                    f"{root / CONFIG_FILE}: missing size {exc.args[0]!r}; save the model again"
                ) from None
        model = cls(encoder, model_config, label_space, featurizer, sizes)

        weights = root / WEIGHTS_FILE
        if not weights.is_file():
            raise CheckpointError(f"{weights}: missing; the checkpoint is incomplete")
        try:
            state = load_file(str(weights), device=str(map_location))
        except Exception as exc:
            raise CheckpointError(
                f"{weights}: corrupt weights file ({type(exc).__name__}); save the model again"
            ) from None
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError:
            expected, found = set(model.state_dict()), set(state)
            detail = (
                f"{len(expected - found)} missing and {len(found - expected)} unexpected tensors"
                if expected != found
                else "tensor shapes differ from the saved config"
            )
            raise CheckpointError(f"{weights}: does not match {CONFIG_FILE} ({detail})") from None
        model.to(map_location)
        model.eval()
        return model, featurizer


def build_model(
    model_config: AnyModelConfig | dict[str, Any] | None,
    label_space: LabelSpace,
    train_texts: Sequence[str],
    extra_tokens: Sequence[str] = (),
) -> tuple[AcsaModel, Featurizer]:
    """Build a fresh model and its featurizer.

    The offline featurizer is fitted on ``train_texts`` only, then ``extra_tokens``
    (pre-trained syllables, :mod:`acsa.training.pretraining`) not yet in its vocabulary
    are appended; the Hugging Face path loads tokenizer and pretrained backbone from
    ``name_or_path`` (``train_texts`` unused). Set the torch seed before calling for
    reproducible initial weights.
    """
    if isinstance(model_config, dict) or model_config is None:
        model_config = parse_model_config(model_config)
    if not isinstance(model_config, OfflineModelConfig | HuggingFaceModelConfig):
        raise ConfigError(
            f"model.encoder: {model_config.encoder} is not a neural encoder; "
            "acsa.training.train fits it (acsa.models.tfidf)"
        )
    if isinstance(model_config, HuggingFaceModelConfig):
        featurizer: Featurizer = HFFeaturizer.from_name_or_path(
            model_config.name_or_path,
            model_config.max_length,
            model_config.local_files_only,
            **policy_of(model_config),
        )
        encoder: nn.Module = HFEncoder.from_pretrained(model_config)
        return AcsaModel(encoder, model_config, label_space, featurizer), featurizer
    offline = OfflineFeaturizer.fit(model_config, train_texts)
    if extra_tokens:
        offline = offline.with_tokens(extra_tokens)
    sizes = {
        "vocab_size": offline.vocab_size,
        "bag_size": offline.bag_size,
        "char_size": offline.char_size,
    }
    encoder = _offline_encoder(model_config, sizes, label_space)
    return AcsaModel(encoder, model_config, label_space, offline, sizes), offline


def _offline_encoder(
    model_config: OfflineModelConfig, sizes: dict[str, int], label_space: LabelSpace
) -> OfflineEncoder:
    """The offline encoder for the vocabulary ``sizes`` its featurizer was fitted with."""
    return OfflineEncoder(
        model_config,
        sizes["vocab_size"],
        sizes["bag_size"],
        sizes["char_size"],
        label_space.num_aspects,
    )

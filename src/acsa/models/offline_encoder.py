"""The offline encoder: a sequence model over syllable embeddings enriched with character n-grams.

Token representation = token embedding + mean of its character n-gram
embeddings (so misspelled or rare syllables still get a useful vector). A
sequence layer reads the review: by default a residual stack of dilated 1-D
convolutions (batched matrix products, fast on CPU; a GRU runs step by step and
costs several times more per epoch there), or a bidirectional GRU. The pooled
review vector concatenates

* max and mean pooling of the sequence states (mask-aware),
* one attention-pooled context per aspect (each aspect learns where to look,
  which matters when a review praises one aspect and criticises another),
* the mean embedding of the review's known word uni/bi-grams (a lexical
  shortcut beside the sequence path).

A bag of n-grams alone plateaus near TF-IDF + logistic regression (GUIDE.md
section 6); the sequence layer sees order and negation scope.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from acsa.models.config import OfflineModelConfig


class _ConvStack(nn.Module):
    """Residual dilated convolutions that keep padded positions at zero, so a review's
    states do not depend on how much padding its batch has."""

    def __init__(self, input_dim: int, config: OfflineModelConfig) -> None:
        super().__init__()
        k, width = config.kernel_size, config.hidden_size
        self.input = nn.Conv1d(input_dim, width, k, padding=k // 2)
        self.layers = nn.ModuleList(
            nn.Conv1d(width, width, k, padding=(k // 2) * 2**i, dilation=2**i)
            for i in range(1, config.num_layers)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(width) for _ in range(config.num_layers))
        self.dropout = nn.Dropout(config.embedding_dropout)
        self.activation = nn.GELU()

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        keep = mask.unsqueeze(1).to(x.dtype)  # [B, 1, T]
        h = self.activation(self.input(x.transpose(1, 2))) * keep
        h = self.norms[0](h.transpose(1, 2)).transpose(1, 2) * keep
        for conv, norm in zip(self.layers, self.norms[1:], strict=True):
            h = h + self.activation(conv(self.dropout(h))) * keep
            h = norm(h.transpose(1, 2)).transpose(1, 2) * keep
        return h.transpose(1, 2)  # [B, T, H]


class _BiGRU(nn.Module):
    def __init__(self, input_dim: int, config: OfflineModelConfig) -> None:
        super().__init__()
        self.rnn = nn.GRU(
            input_dim,
            config.hidden_size // 2,
            num_layers=config.num_layers,
            batch_first=True,
            bidirectional=True,
            dropout=config.embedding_dropout if config.num_layers > 1 else 0.0,
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        lengths = mask.sum(dim=1).clamp(min=1).cpu()
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        states, _ = self.rnn(packed)
        states, _ = pad_packed_sequence(states, batch_first=True, total_length=x.shape[1])
        return states


class OfflineEncoder(nn.Module):
    """Encode padded offline features into a pooled vector ``[B, output_dim]``.

    Args:
        config: offline model config.
        vocab_size: token ids (including pad 0 and unknown 1).
        bag_size: bag n-gram ids (including pad 0 and unknown 1); unused when
            ``config.bag_ngram_max == 0``.
        char_size: character n-gram ids (including pad 0); 0 disables them.
        num_aspects: number of attention queries when ``config.aspect_attention``.
    """

    feature_names = frozenset({"input_ids", "attention_mask", "char_ids", "bag_ids"})

    def __init__(
        self,
        config: OfflineModelConfig,
        vocab_size: int,
        bag_size: int,
        char_size: int,
        num_aspects: int,
    ) -> None:
        super().__init__()
        self.config = config
        dim = config.embedding_dim
        self.token_embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.char_embedding = (
            nn.EmbeddingBag(char_size, dim, mode="mean", padding_idx=0) if char_size > 0 else None
        )
        self.bag_embedding = (
            nn.EmbeddingBag(bag_size, dim, mode="mean", padding_idx=0)
            if config.bag_ngram_max > 0
            else None
        )
        self.embedding_dropout = nn.Dropout(config.embedding_dropout)
        self.sequence: nn.Module | None
        if config.sequence == "cnn":
            self.sequence, state = _ConvStack(dim, config), config.hidden_size
        elif config.sequence == "gru":
            self.sequence, state = _BiGRU(dim, config), config.hidden_size
        else:
            self.sequence, state = None, dim
        self.aspect_queries = nn.Linear(state, num_aspects) if config.aspect_attention else None
        self.output_dim = 2 * state + (num_aspects * state if config.aspect_attention else 0)
        self.output_dim += dim if self.bag_embedding is not None else 0
        self._init_weights()

    def _init_weights(self) -> None:
        # small embeddings keep early activations in the non-saturated range
        for emb in (self.token_embedding, self.char_embedding, self.bag_embedding):
            if emb is not None:
                nn.init.normal_(emb.weight, std=0.1)
                with torch.no_grad():
                    emb.weight[0].zero_()

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        char_ids: torch.Tensor | None = None,
        bag_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if attention_mask is None:
            attention_mask = (input_ids != 0).long()
        batch, width = input_ids.shape
        if self.training and self.config.token_dropout > 0:
            drop = torch.rand(input_ids.shape, device=input_ids.device) < self.config.token_dropout
            input_ids = input_ids.masked_fill(drop & (input_ids > 1), 1)  # 1 = <unk>
        x = self.token_embedding(input_ids)
        if self.char_embedding is not None and char_ids is not None:
            chars = self.char_embedding(char_ids.reshape(batch * width, -1))
            x = x + chars.reshape(batch, width, -1)
        bag = (
            self.bag_embedding(bag_ids)
            if self.bag_embedding is not None and bag_ids is not None
            else None
        )
        return self.pool(x, attention_mask, bag)

    def pool(
        self, x: torch.Tensor, attention_mask: torch.Tensor, bag: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The review vector from token vectors ``x`` ``[B, T, D]`` and the bag vector ``[B, D]``.

        The part of :meth:`forward` after the embedding lookups, so that
        attribution methods (:mod:`acsa.explain`) can feed embeddings directly.
        """
        batch = x.shape[0]
        x = self.embedding_dropout(x)
        states = self.sequence(x, attention_mask) if self.sequence is not None else x

        mask = attention_mask.bool().unsqueeze(-1)  # [B, T, 1]
        lengths = mask.sum(dim=1).clamp(min=1).to(states.dtype)
        neg = torch.finfo(states.dtype).min
        max_pool = states.masked_fill(~mask, neg).max(dim=1).values
        mean_pool = (states * mask).sum(dim=1) / lengths
        pooled = [max_pool, mean_pool]
        if self.aspect_queries is not None:
            scores = self.aspect_queries(states).masked_fill(~mask, neg)  # [B, T, A]
            weights = torch.softmax(scores, dim=1)
            contexts = torch.einsum("bta,btd->bad", weights, states)
            pooled.append(contexts.reshape(batch, -1))
        if bag is not None:
            pooled.append(bag)
        return torch.cat(pooled, dim=1)

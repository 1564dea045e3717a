"""Integrated Gradients for the offline encoder, on its input embeddings (Captum).

Integrated Gradients (Sundararajan, Taly, Yan, ICML 2017, arXiv:1703.01365)
attributes ``F(x) - F(x')`` to the input features along the straight path
from a baseline ``x'`` to ``x``: ``(x_i - x'_i) * mean over the path of dF/dx_i``,
and the attributions add up to ``F(x) - F(x')`` (completeness).

Here the inputs are the offline encoder's three embedding inputs of a review
(:class:`acsa.models.offline_encoder.OfflineEncoder`): each syllable's token
vector, the mean of its character n-gram vectors, and the vector of every
known word n-gram of the bag (the bag path's mean is taken inside the
forward function). ``F`` is the log-probability of the aspect's predicted
class. Choices:

* **baseline**: all zeros, which is the padding vector of every table (their
  row 0 is zero): the review with every token, character n-gram and bag
  n-gram replaced by padding, at the same length and attention mask;
* **n_steps** :data:`DEFAULT_STEPS` (16) on Captum's Gauss-Legendre rule:
  the completeness gap ``|sum(attributions) - (F(x) - F(x'))|`` is checked
  in the tests and stays small at that count;
* a token's contribution is the sum over the embedding dimensions of its
  token and character-n-gram attributions, plus an equal share of the
  attribution of every bag n-gram that covers it.

Batched: every (review, mentioned aspect) pair of a chunk of reviews is one
row, and Captum runs all steps of all rows of a chunk in one forward and one
backward pass (``internal_batch_size``).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from acsa.errors import optional_import
from acsa.models.featurizer import pad_2d
from acsa.models.text import tokenize

DEFAULT_STEPS = 16
# (review, aspect) rows per Captum call: all their steps run in one pass
ROWS_PER_PASS = 16
_UNK = 1

# featurizer -> {bag n-gram: id}, built once per loaded featurizer
_BAG_INDEX: weakref.WeakKeyDictionary[Any, dict[str, int]] = weakref.WeakKeyDictionary()

Target = tuple[int, int]  # (aspect index, scheme class index)


def _gram_positions(featurizer: Any, tokens: list[str]) -> tuple[list[int], list[tuple[int, int]]]:
    """The bag ids of ``tokens`` (as ``featurizer.encode`` lists them) and each one's
    ``(first token, length)``; a review without a known n-gram has the unknown id and no span."""
    index = _BAG_INDEX.get(featurizer)
    if index is None:
        index = {g: i + 2 for i, g in enumerate(featurizer.bag_vocab)}
        _BAG_INDEX[featurizer] = index
    ids: list[int] = []
    spans: list[tuple[int, int]] = []
    # the order of acsa.models.text.word_ngrams, which the featurizer's bag ids follow
    for n in range(1, featurizer.config.bag_ngram_max + 1):
        for start in range(0, len(tokens) - n + 1):
            gram = " ".join(tokens[start : start + n])
            if gram in index:
                ids.append(index[gram])
                spans.append((start, n))
    if not ids:
        return [_UNK], [(0, 0)]
    return ids, spans


class _EmbeddingForward:
    """``log softmax`` of the model's logits computed from the three embedding inputs."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.encoder = model.encoder

    def __call__(
        self, tokens: torch.Tensor, chars: torch.Tensor, *rest: torch.Tensor
    ) -> torch.Tensor:
        """``rest``: ``(grams, attention_mask, gram_mask)``, without ``grams`` for an encoder
        with no bag path (Captum needs every input it differentiates to be used)."""
        bag = None
        if self.encoder.bag_embedding is None:
            attention_mask = rest[-2]
        else:
            grams, attention_mask, gram_mask = rest
            weights = gram_mask.unsqueeze(-1).to(grams.dtype)
            bag = (grams * weights).sum(1) / weights.sum(1).clamp(min=1.0)
        pooled = self.encoder.pool(tokens + chars, attention_mask, bag)
        return torch.log_softmax(self.model.head(pooled)["logits"], dim=-1)


def embedding_inputs(
    model: Any, featurizer: Any, texts: Sequence[str]
) -> tuple[tuple[torch.Tensor, ...], torch.Tensor, torch.Tensor, list[list[tuple[int, int]]]]:
    """``(token, char, gram)`` embeddings, attention mask, gram mask and gram spans of ``texts``."""
    encoder = model.encoder
    features = featurizer.encode(list(texts))
    batch = featurizer.collate(features)
    input_ids, mask = batch["input_ids"], batch["attention_mask"]
    size, width = input_ids.shape
    with torch.no_grad():
        tokens = encoder.token_embedding(input_ids)
        if encoder.char_embedding is not None and "char_ids" in batch:
            chars = encoder.char_embedding(batch["char_ids"].reshape(size * width, -1))
            chars = chars.reshape(size, width, -1)
        else:
            chars = torch.zeros_like(tokens)
        spans: list[list[tuple[int, int]]] = []
        if encoder.bag_embedding is not None:
            rows = []
            for text in texts:
                toks = tokenize(text, featurizer.config.lowercase)[: featurizer.config.read_limit]
                ids, where = _gram_positions(featurizer, toks)
                rows.append(ids)
                spans.append(where)
            gram_ids = pad_2d(rows)
            grams = encoder.bag_embedding.weight[gram_ids]
            gram_mask = gram_ids != 0
        else:
            grams = torch.zeros(size, 1, tokens.shape[-1])
            gram_mask = torch.zeros(size, 1, dtype=torch.bool)
            spans = [[] for _ in texts]
    return (tokens, chars, grams), mask, gram_mask, spans


def offline_attributions(
    model: Any,
    featurizer: Any,
    texts: Sequence[str],
    targets: Sequence[Sequence[Target]],
    n_steps: int = DEFAULT_STEPS,
    rows_per_pass: int = ROWS_PER_PASS,
) -> list[list[tuple[np.ndarray, float]]]:
    """Per text, per target ``(aspect, class)``: the contribution of each model token
    (``[T_i]``, the featurizer's tokens, at most its ``read_limit``) and the attributions' sum.

    Args:
        model: an :class:`acsa.models.AcsaModel` with the offline encoder (eval mode).
        featurizer: its :class:`acsa.models.offline_featurizer.OfflineFeaturizer`.
        texts: the reviews.
        targets: per review the (aspect index, scheme class index) pairs to explain.
        n_steps: Integrated Gradients steps.
        rows_per_pass: (review, target) rows whose steps share one forward/backward pass.
    """
    attr = optional_import("captum.attr", "explain", "explanations of neural models")
    ig = attr.IntegratedGradients(_EmbeddingForward(model))
    lengths = [len(tokenize(t, featurizer.config.lowercase)) for t in texts]
    limit = featurizer.config.read_limit
    rows = [(i, a, c) for i, pairs in enumerate(targets) for a, c in pairs]
    rows.sort(key=lambda r: lengths[r[0]])
    results: dict[tuple[int, int, int], tuple[np.ndarray, float]] = {}
    for begin in range(0, len(rows), rows_per_pass):
        chunk = rows[begin : begin + rows_per_pass]
        reviews = sorted({i for i, _, _ in chunk})
        where = {i: k for k, i in enumerate(reviews)}
        inputs, mask, gram_mask, spans = embedding_inputs(
            model, featurizer, [texts[i] for i in reviews]
        )
        pick = torch.tensor([where[i] for i, _, _ in chunk])
        used = inputs if model.encoder.bag_embedding is not None else inputs[:2]
        row_inputs = tuple(x[pick] for x in used)
        attributions = ig.attribute(
            row_inputs,
            baselines=tuple(torch.zeros_like(x) for x in row_inputs),
            target=[(a, c) for _, a, c in chunk],
            additional_forward_args=(mask[pick], gram_mask[pick]),
            n_steps=n_steps,
            internal_batch_size=len(chunk) * n_steps,
        )
        per_token = (attributions[0] + attributions[1]).sum(-1).detach().numpy()
        per_gram = (
            attributions[2].sum(-1).detach().numpy()
            if len(attributions) > 2
            else np.zeros((len(chunk), 1), dtype=np.float32)
        )
        for r, (i, a, c) in enumerate(chunk):
            count = min(lengths[i], limit)
            scores = per_token[r, :count].astype(np.float64)
            for g, (start, n) in enumerate(spans[where[i]]):
                if n:
                    scores[start : start + n] += per_gram[r, g] / n
            total = float(per_token[r].sum() + per_gram[r].sum())
            results[(i, a, c)] = (scores, total)
    return [[results[(i, a, c)] for a, c in pairs] for i, pairs in enumerate(targets)]

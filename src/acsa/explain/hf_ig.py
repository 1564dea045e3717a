"""Integrated Gradients for Hugging Face encoders, on the input (word) embeddings (Captum).

As for the offline encoder (:mod:`acsa.explain.offline_ig`; Sundararajan, Taly,
Yan, ICML 2017, arXiv:1703.01365), ``F`` is the log-probability of the aspect's
predicted class and the attributions add up to ``F(x) - F(x')``. The input is
the backbone's word-embedding output (``inputs_embeds``): position and
token-type embeddings are added inside the backbone and are the same for the
review and its baseline, so they take no attribution. Choices:

* **baseline**: each word piece of the review replaced by the ``[PAD]``
  embedding (zeros when the tokenizer has no pad token), with the special
  tokens (``[CLS]``, ``[SEP]``, ``<s>``...), the length and the attention mask
  kept. ``[PAD]`` rather than ``[MASK]``: a mask token means "a word is
  hidden here" to a masked-language model and still carries that meaning,
  while the pad row is what the model reads where there is no text, and
  Hugging Face BERT-family models keep it at its zero initialisation
  (``padding_idx``: no gradient), so on them it *is* the all-zeros baseline,
  and it stays a vocabulary entry on checkpoints where it is not. Keeping
  the special tokens makes their input equal to their baseline, so their
  attribution is exactly 0: they get no evidence, and the words' shares
  alone add up to ``F(x) - F(x')``.
* **n_steps**: :data:`DEFAULT_STEPS` (32) on Captum's Gauss-Legendre rule,
  twice the offline encoder's: a transformer's path is sharper. On two builds
  of the tests' tiny trained BERT (changes ``|F(x) - F(x')|`` up to 9), the
  largest completeness gap was 0.6 at 16 steps, 0.03 to 0.05 at 32 and 3e-6
  at 128; with ``long_reviews: windows`` and max-pooling over windows (kinks
  on the path) 0.7, 0.12 and 8e-3. Pass ``n_steps`` to trade time for
  completeness.
* **words**: each word piece's attribution (summed over the embedding
  dimensions) goes to the token of :func:`acsa.explain.spans.token_spans`
  (a syllable, a word or a punctuation mark as written) holding the piece's
  first character, located by the fast tokenizer's ``offset_mapping``:
  the pieces of one word are merged, and offsets are the user's characters
  even where the tokenizer normalises (lowercase, accents stripped, NFD).
* **windows** (``long_reviews: windows``): the review's windows are encoded
  as the model reads them; a token in two overlapping windows collects its
  attributions from both.

Batched as in :mod:`acsa.explain.offline_ig`: the (review, aspect) rows of a
chunk run all their steps in one forward and one backward pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from acsa.errors import optional_import
from acsa.explain.spans import token_spans

DEFAULT_STEPS = 32
# (review, aspect) rows per Captum call (a transformer's steps cost more than the offline one's)
ROWS_PER_PASS = 8

Target = tuple[int, int]  # (aspect index, scheme class index)


class NotExplainable(ValueError):
    """The tokenizer cannot give character offsets (not a fast tokenizer)."""


@dataclass(frozen=True)
class PieceMap:
    """A review's word pieces as the model reads them, and the token each belongs to.

    Attributes:
        features: the featurizer's features (``input_ids``, ``window_lengths``).
        token_of: per piece (windows one after the other) the index of its
            :func:`acsa.explain.spans.token_spans` token, -1 for special tokens.
        tokens: how many tokens the review has.
    """

    features: dict[str, list[int]]
    token_of: np.ndarray
    tokens: int


def piece_maps(featurizer: Any, texts: Sequence[str]) -> list[PieceMap]:
    """Tokenize ``texts`` as :class:`acsa.models.hf_featurizer.HFFeaturizer` does, with each
    piece's token in the text as written.

    Raises:
        NotExplainable: the tokenizer is not a fast (Rust) one.
    """
    tokenizer = featurizer.tokenizer
    if not getattr(tokenizer, "is_fast", False):
        raise NotExplainable(
            f"{type(tokenizer).__name__} is not a fast tokenizer and gives no character offsets"
        )
    options: dict[str, Any] = {
        "truncation": True,
        "max_length": featurizer.max_length,
        "padding": False,
        "return_offsets_mapping": True,
        "return_special_tokens_mask": True,
    }
    if featurizer.windowed:
        options.update(stride=featurizer.window_stride, return_overflowing_tokens=True)
    enc = tokenizer(list(texts), **options)
    owners = enc["overflow_to_sample_mapping"] if featurizer.windowed else range(len(texts))
    windows: list[list[int]] = [[] for _ in texts]
    for row, owner in enumerate(owners):
        windows[int(owner)].append(row)
    out = []
    for i, text in enumerate(texts):
        spans = token_spans(text, lowercase=False)
        owner_of_char = np.full(len(text) + 1, -1, dtype=np.int64)
        for index in range(len(spans) - 1, -1, -1):  # the first token wins a shared character
            owner_of_char[spans[index].start : spans[index].end] = index
        rows = windows[i][: featurizer.max_windows] if featurizer.windowed else windows[i]
        ids: list[int] = []
        token_of: list[int] = []
        for row in rows:
            ids.extend(enc["input_ids"][row])
            for (start, _end), special in zip(
                enc["offset_mapping"][row], enc["special_tokens_mask"][row], strict=True
            ):
                token_of.append(-1 if special else int(owner_of_char[min(start, len(text))]))
        features: dict[str, list[int]] = {"input_ids": ids}
        if featurizer.windowed:
            features["window_lengths"] = [len(enc["input_ids"][row]) for row in rows]
        out.append(PieceMap(features, np.asarray(token_of, dtype=np.int64), len(spans)))
    return out


class _EmbeddingForward:
    """``log softmax`` of the model's logits from the word embeddings and the attention mask."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def __call__(self, embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        pooled = self.model.encoder(None, attention_mask, inputs_embeds=embeds)
        return torch.log_softmax(self.model.head(pooled)["logits"], dim=-1)


def embedding_inputs(
    model: Any, featurizer: Any, maps: Sequence[PieceMap]
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Word embeddings ``[R, (W,) T, D]``, their baseline, the attention mask and each
    position's token (``-1``: special token or padding) for the reviews of ``maps``."""
    batch = featurizer.collate([m.features for m in maps])
    input_ids, mask = batch["input_ids"], batch["attention_mask"]
    owner = torch.full(input_ids.shape, -1, dtype=torch.long)
    for i, m in enumerate(maps):
        # the pieces fill the real positions of row i in order (windows one after the other)
        owner[i][mask[i].bool()] = torch.from_numpy(m.token_of)
    table = model.encoder.backbone.get_input_embeddings()
    pad = featurizer.tokenizer.pad_token_id
    with torch.no_grad():
        embeds = table(input_ids)
        fill = table.weight[int(pad)] if pad is not None else torch.zeros(embeds.shape[-1])
        baseline = torch.where((owner >= 0).unsqueeze(-1), fill.to(embeds.dtype), embeds)
    return embeds, baseline, mask, owner


def hf_attributions(
    model: Any,
    featurizer: Any,
    texts: Sequence[str],
    targets: Sequence[Sequence[Target]],
    n_steps: int,
    rows_per_pass: int = ROWS_PER_PASS,
) -> list[list[tuple[np.ndarray, float]]]:
    """Per text, per target ``(aspect, class)``: the contribution of each token of
    ``token_spans(text, lowercase=False)`` and the attributions' sum.

    A token the model does not read (past ``max_length`` or ``max_windows``) gets 0.

    Raises:
        NotExplainable: the tokenizer gives no character offsets.
    """
    attr = optional_import("captum.attr", "explain", "explanations of neural models")
    ig = attr.IntegratedGradients(_EmbeddingForward(model))
    maps = piece_maps(featurizer, texts)
    rows = [(i, a, c) for i, pairs in enumerate(targets) for a, c in pairs]
    rows.sort(key=lambda r: len(maps[r[0]].token_of))
    results: dict[tuple[int, int, int], tuple[np.ndarray, float]] = {}
    for begin in range(0, len(rows), rows_per_pass):
        chunk = rows[begin : begin + rows_per_pass]
        reviews = sorted({i for i, _, _ in chunk})
        where = {i: k for k, i in enumerate(reviews)}
        embeds, baseline, mask, owner = embedding_inputs(
            model, featurizer, [maps[i] for i in reviews]
        )
        pick = torch.tensor([where[i] for i, _, _ in chunk])
        attributions = ig.attribute(
            embeds[pick],
            baselines=baseline[pick],
            target=[(a, c) for _, a, c in chunk],
            additional_forward_args=(mask[pick],),
            n_steps=n_steps,
            internal_batch_size=len(chunk) * n_steps,
        )
        per_piece = attributions.sum(-1).detach().double().numpy()
        for r, (i, a, c) in enumerate(chunk):
            flat_owner = owner[where[i]].reshape(-1).numpy()
            flat = per_piece[r].reshape(-1)
            keep = flat_owner >= 0
            scores = np.bincount(flat_owner[keep], weights=flat[keep], minlength=maps[i].tokens)
            results[(i, a, c)] = (scores.astype(np.float64), float(flat.sum()))
    return [[results[(i, a, c)] for a, c in pairs] for i, pairs in enumerate(targets)]

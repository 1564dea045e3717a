"""Model configuration: the YAML ``model:`` section (pydantic v2, unknown keys rejected).

The section is a union discriminated by ``encoder``:

* ``encoder: offline`` (default) -- a small sequence model trained from scratch on
  the training texts; needs no download (GUIDE.md section 6).
* ``encoder: huggingface`` -- any ``AutoModel`` checkpoint by hub name or local
  path. ``local_files_only`` is true unless the user sets it false explicitly,
  so nothing is downloaded by default.
* ``encoder: tfidf`` -- the TF-IDF + logistic-regression baseline
  (:class:`TfidfModelConfig`, :mod:`acsa.models.tfidf`): fitted, not trained.

The two neural encoders share the ``head:`` sub-section (hidden layer, dropout,
projection head).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

# most tokens of one review the offline encoder may be configured to read
MAX_READ_TOKENS = 65536


class HeadConfig(BaseModel):
    """Classification head over the pooled review vector, plus an optional projection head.

    Args:
        hidden_dim: width of the shared hidden layer (0 = no hidden layer, a
            single linear map from the pooled vector to ``A * C`` logits).
        dropout: dropout before and after the hidden layer.
        projection_dim: output width of the projection head used by
            contrastive losses; ``0`` or ``null`` disables it (then the model
            returns no ``projections``).
    """

    model_config = ConfigDict(extra="forbid")

    hidden_dim: int = Field(default=256, ge=0, le=8192)
    dropout: float = Field(default=0.3, ge=0.0, lt=1.0)
    projection_dim: int | None = Field(default=128, ge=0, le=4096)


class OfflineModelConfig(BaseModel):
    """The offline default: syllable embeddings enriched with character n-grams, a
    sequence layer (dilated residual CNN by default, or a BiGRU), per-aspect
    attention plus max/mean pooling, and a bag of word uni/bi-gram embeddings beside it.

    Trained with plain (or class-weighted) cross-entropy, AdamW lr 2e-3, batch 64,
    8 epochs, warmup then cosine decay, length-grouped batches, the defaults reach
    pair micro-F1 0.854 and aspect micro-F1 0.889 on the shared test split
    (``benchmarks/offline_encoder_quality.py``; TF-IDF + LR: 0.810 / 0.848).

    Args:
        lowercase: lowercase texts before tokenizing (Unicode NFC is always applied).
        max_length: tokens per review, or per window with ``long_reviews: windows``.
            The convolutions read any length at a cost linear in it, and
            length-grouped batches keep short reviews from paying for long ones, so the
            default covers reviews of several hundred syllables whole.
        long_reviews: what happens to a review longer than ``max_length`` tokens:
            ``windows`` (default) reads it in full, up to ``max_windows`` windows of
            ``max_length`` tokens; ``truncate`` drops its end. The encoder has no
            position embeddings and its convolutions reach
            ``1 + (kernel_size - 1) * (2 ** num_layers - 1)`` tokens (7 by default),
            so the windows are read as one sequence: what encoding overlapping
            windows and pooling per aspect over all their positions together would
            give, at the same cost. The run counts both (``run.json``).
        max_windows: with ``windows``, a review is read up to ``max_length *
            max_windows`` tokens (the bound on memory and time); the rest is
            dropped and counted.
        min_count: a token seen fewer times in the training texts maps to ``<unk>``
            (its character n-grams still describe it).
        embedding_dim: width of token, character n-gram and bag embeddings.
        char_ngram_min, char_ngram_max: lengths of the character n-grams of each
            token (with boundary marks); ``char_ngram_max: 0`` disables them.
        char_min_count: minimum training count of a character n-gram to get a row.
        bag_ngram_max: word n-gram orders in the bag path (1 = unigrams,
            2 = uni+bigrams, 0 disables the bag path).
        bag_min_count: minimum training count of a bag n-gram to get its own row.
        sequence: ``cnn`` (fast on CPU), ``gru`` (bidirectional) or ``none``
            (bag of embeddings only).
        hidden_size: width of the sequence states (CNN channels; the GRU uses
            ``hidden_size // 2`` per direction).
        num_layers: CNN layers (dilation doubles per layer) or stacked GRU layers.
        kernel_size: CNN kernel width (odd).
        aspect_attention: add one attention-pooled context vector per aspect.
        embedding_dropout: dropout on token representations and between layers.
        token_dropout: in training, the share of a review's tokens read as ``<unk>``
            (word dropout, Iyyer et al., 2015: the model cannot lean on a few
            frequent words; their character n-grams stay).
    """

    model_config = ConfigDict(extra="forbid")

    encoder: Literal["offline"] = "offline"
    lowercase: bool = True
    max_length: int = Field(default=1024, ge=8, le=8192)
    long_reviews: Literal["truncate", "windows"] = "windows"
    # 4 windows of 1,024 tokens: a test review three times longer than the longest
    # training review is still read whole, and a batch of the longest reviews costs at
    # most 4 times the memory of truncated ones
    max_windows: int = Field(default=4, ge=1, le=256)
    min_count: int = Field(default=1, ge=1)
    embedding_dim: int = Field(default=128, ge=8, le=2048)
    char_ngram_min: int = Field(default=2, ge=1, le=8)
    char_ngram_max: int = Field(default=4, ge=0, le=8)
    char_min_count: int = Field(default=2, ge=1)
    bag_ngram_max: int = Field(default=2, ge=0, le=3)
    bag_min_count: int = Field(default=2, ge=1)
    sequence: Literal["cnn", "gru", "none"] = "cnn"
    hidden_size: int = Field(default=256, ge=8, le=4096)
    num_layers: int = Field(default=2, ge=1, le=8)
    kernel_size: int = Field(default=3, ge=1, le=15)
    aspect_attention: bool = True
    embedding_dropout: float = Field(default=0.25, ge=0.0, lt=1.0)
    token_dropout: float = Field(default=0.0, ge=0.0, lt=1.0)
    head: HeadConfig = Field(default_factory=HeadConfig)

    @model_validator(mode="after")
    def _check_ranges(self) -> OfflineModelConfig:
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {self.kernel_size}")
        if 0 < self.char_ngram_max < self.char_ngram_min:
            raise ValueError(
                f"char_ngram_max ({self.char_ngram_max}) must be 0 or >= char_ngram_min"
                f" ({self.char_ngram_min})"
            )
        if self.sequence == "gru" and self.hidden_size % 2:
            raise ValueError(f"hidden_size must be even for sequence: gru, got {self.hidden_size}")
        if self.long_reviews == "windows" and self.max_length * self.max_windows > MAX_READ_TOKENS:
            raise ValueError(
                f"max_length * max_windows ({self.max_length} * {self.max_windows}) must be at "
                f"most {MAX_READ_TOKENS} tokens; lower max_windows"
            )
        return self

    @property
    def read_limit(self) -> int:
        """Most tokens of a review the encoder reads (the rest is dropped and counted)."""
        return self.max_length * (self.max_windows if self.long_reviews == "windows" else 1)


def saved_offline_config(data: dict[str, Any]) -> dict[str, Any]:
    """An offline ``model_config`` as saved by an acsa without ``long_reviews``: such a
    model read ``max_length`` tokens (``truncate``), and still does."""
    if data.get("encoder", "offline") == "offline" and "long_reviews" not in data:
        return {**data, "long_reviews": "truncate"}
    return data


class HuggingFaceModelConfig(BaseModel):
    """A transformer encoder from the Hugging Face ``AutoModel`` family.

    Args:
        name_or_path: hub name (e.g. ``5CD-AI/Vietnamese-Sentiment-visobert``) or a
            local directory holding the config, weights and tokenizer files.
        pooling: ``cls`` (first token) or ``mean`` (mask-aware mean of the last layer).
        max_length: tokens per review, or per window with ``long_reviews: windows``.
        long_reviews: what happens to a review longer than ``max_length`` tokens:
            ``truncate`` (its end is dropped) or ``windows`` (it is cut into
            overlapping windows of ``max_length`` tokens, each encoded and
            pooled, and the window vectors pooled into one per review). The run
            reports how many reviews were truncated or windowed (``run.json``).
        window_stride: tokens shared by consecutive windows (``windows`` only).
        window_pooling: ``max`` or ``mean`` over a review's window vectors.
        max_windows: windows kept per review; the rest of a longer review is
            dropped (and the review counted as truncated).
        dropout: dropout on the pooled vector, before the head.
        local_files_only: never contact the hub (default). Set false explicitly to
            allow a download.
    """

    model_config = ConfigDict(extra="forbid")

    encoder: Literal["huggingface"]
    name_or_path: str = Field(min_length=1)
    pooling: Literal["cls", "mean"] = "cls"
    max_length: int = Field(default=256, ge=8, le=8192)
    long_reviews: Literal["truncate", "windows"] = "truncate"
    window_stride: int = Field(default=64, ge=0)
    window_pooling: Literal["max", "mean"] = "max"
    max_windows: int = Field(default=8, ge=1, le=256)
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0)
    local_files_only: bool = True
    head: HeadConfig = Field(default_factory=HeadConfig)

    @model_validator(mode="after")
    def _check_windows(self) -> HuggingFaceModelConfig:
        # a window must move forward past its special tokens and shared part
        if self.long_reviews == "windows" and self.window_stride > self.max_length // 2:
            raise ValueError(
                f"window_stride ({self.window_stride}) must be at most half of max_length "
                f"({self.max_length})"
            )
        return self


class TfidfModelConfig(BaseModel):
    """The ``model:`` section for ``encoder: tfidf``.

    Args:
        word_ngram_max: word n-gram orders 1 to this (2 = unigrams and bigrams).
        char_ngram_min, char_ngram_max: character n-gram lengths, taken inside word
            boundaries (``char_wb``); ``char_ngram_max: 0`` disables them.
        min_df: a term must occur in at least this many training texts.
        C: inverse L2 regularisation strength of each logistic regression.
        max_iter: iteration limit of the solver (lbfgs).
        sublinear_tf: use ``1 + log(tf)`` instead of raw counts.
        lowercase: lowercase texts (after Unicode NFC normalisation, always applied).
    """

    model_config = ConfigDict(extra="forbid")

    encoder: Literal["tfidf"] = "tfidf"
    word_ngram_max: int = Field(default=2, ge=1, le=5)
    char_ngram_min: int = Field(default=2, ge=1, le=10)
    char_ngram_max: int = Field(default=5, ge=0, le=10)
    min_df: int = Field(default=2, ge=1)
    C: float = Field(default=8.0, gt=0.0)
    max_iter: int = Field(default=1000, ge=1)
    sublinear_tf: bool = True
    lowercase: bool = True

    @model_validator(mode="after")
    def _check_char_range(self) -> TfidfModelConfig:
        if self.char_ngram_max and self.char_ngram_max < self.char_ngram_min:
            raise ValueError(
                f"char_ngram_max ({self.char_ngram_max}) is below char_ngram_min "
                f"({self.char_ngram_min}); raise it, or set it to 0 to use no character n-grams"
            )
        return self


AnyModelConfig = OfflineModelConfig | HuggingFaceModelConfig | TfidfModelConfig

ModelConfig = Annotated[AnyModelConfig, Field(discriminator="encoder")]
"""Type of the ``model:`` section: a pydantic field type; see :func:`parse_model_config`."""

_ADAPTER: TypeAdapter[AnyModelConfig] = TypeAdapter(ModelConfig)


def parse_model_config(data: dict[str, Any] | None) -> AnyModelConfig:
    """Validate a ``model:`` mapping; an empty or missing mapping gives the offline default.

    Raises:
        pydantic.ValidationError: on unknown keys or out-of-range values.
    """
    data = dict(data or {})
    data.setdefault("encoder", "offline")
    return _ADAPTER.validate_python(data)


def model_config_to_dict(config: AnyModelConfig) -> dict[str, Any]:
    """JSON-ready dict of a model config (round-trips through :func:`parse_model_config`)."""
    return config.model_dump(mode="json")

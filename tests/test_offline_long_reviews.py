"""The offline encoder's long reviews: ``long_reviews: windows`` reads past ``max_length``."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from acsa.data import LabelSpace
from acsa.errors import ConfigError
from acsa.models import build_model, parse_model_config, predict_logits
from acsa.models.config import OfflineModelConfig
from acsa.models.long_reviews import count_truncated, notice
from acsa.models.model import AcsaModel
from acsa.models.offline_featurizer import OfflineFeaturizer

MAX_LENGTH = 16
FILLER = "sản phẩm dùng ổn shop đóng gói kỹ giao hàng nhanh mình sẽ mua lại lần sau nữa".split()
CUE = "mùi"  # the only word that tells SMELL is mentioned (positively)
SPACE = LabelSpace(("SMELL", "OTHER"))
POSITIVE, NONE = 3, 0  # canonical classes of the with_none scheme
CONFIG = {
    "encoder": "offline",
    "max_length": MAX_LENGTH,
    "long_reviews": "windows",
    "max_windows": 4,
    "embedding_dim": 16,
    "hidden_size": 16,
    "num_layers": 1,
    "char_ngram_max": 0,
    "bag_ngram_max": 0,
    "embedding_dropout": 0.0,
    "head": {"hidden_dim": 16, "dropout": 0.0, "projection_dim": 0},
}


def _review(rng: random.Random, length: int, cue_at: int | None) -> str:
    words = [rng.choice(FILLER) for _ in range(length)]
    if cue_at is not None:
        words[cue_at] = CUE
    return " ".join(words)


def _train_tiny(config: dict) -> tuple[AcsaModel, OfflineFeaturizer]:
    """A tiny model that learns ``CUE`` -> SMELL positive from reviews shorter than
    ``MAX_LENGTH`` (so the policy plays no part in training)."""
    rng = random.Random(0)
    texts, labels = [], []
    for i in range(240):
        length = rng.randint(4, MAX_LENGTH)
        cue = rng.randrange(length) if i % 2 else None
        texts.append(_review(rng, length, cue))
        labels.append([POSITIVE if cue is not None else NONE, POSITIVE])
    torch.manual_seed(0)
    model, featurizer = build_model(parse_model_config(config), SPACE, texts)
    features = featurizer.encode(texts)
    target = torch.tensor(labels)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    model.train()
    for _ in range(12):
        for start in range(0, len(texts), 40):
            batch = featurizer.collate(features[start : start + 40])
            logits = model(**batch)["logits"]
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, 4), target[start : start + 40].reshape(-1)
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    assert isinstance(featurizer, OfflineFeaturizer)
    return model, featurizer


@pytest.fixture(scope="module")
def tiny() -> tuple[AcsaModel, OfflineFeaturizer]:
    return _train_tiny(CONFIG)


def _truncating(featurizer: OfflineFeaturizer) -> OfflineFeaturizer:
    config = featurizer.config.model_copy(update={"long_reviews": "truncate"})
    return OfflineFeaturizer(config, featurizer.vocab, featurizer.bag_vocab, featurizer.char_vocab)


def _smell(model: AcsaModel, featurizer: OfflineFeaturizer, texts: list[str]) -> np.ndarray:
    return predict_logits(model, featurizer, texts)[:, 0].argmax(-1)


def test_a_cue_after_max_length_is_read_with_windows_and_missed_with_truncate(tiny) -> None:
    model, windows = tiny
    rng = random.Random(1)
    late = [_review(rng, 3 * MAX_LENGTH, cue_at=2 * MAX_LENGTH + k) for k in range(1, 9)]
    early = [_review(rng, 3 * MAX_LENGTH, cue_at=k) for k in range(1, 9)]
    absent = [_review(rng, 3 * MAX_LENGTH, cue_at=None) for _ in range(8)]
    assert (_smell(model, windows, late) == POSITIVE).all()
    assert (_smell(model, _truncating(windows), late) == NONE).all()
    assert (_smell(model, windows, early) == POSITIVE).all()
    assert (_smell(model, windows, absent) == NONE).all()


def test_a_review_within_max_length_reads_the_same_under_both_policies(tiny) -> None:
    model, windows = tiny
    rng = random.Random(2)
    texts = [_review(rng, n, cue_at=n // 2 if n % 2 else None) for n in range(1, MAX_LENGTH + 1)]
    mixed = [*texts, _review(rng, 4 * MAX_LENGTH, cue_at=None)]  # one long review in the batch
    expected = predict_logits(model, _truncating(windows), texts)
    np.testing.assert_array_equal(predict_logits(model, windows, texts), expected)
    np.testing.assert_allclose(
        predict_logits(model, windows, mixed)[: len(texts)], expected, rtol=0, atol=1e-5
    )


def test_max_windows_bounds_what_is_read(tiny) -> None:
    _, windows = tiny
    rng = random.Random(3)
    limit = MAX_LENGTH * CONFIG["max_windows"]
    (features,) = windows.encode([_review(rng, 10 * MAX_LENGTH, cue_at=None)])
    assert len(features["input_ids"]) == limit
    (cut,) = _truncating(windows).encode([_review(rng, 10 * MAX_LENGTH, cue_at=None)])
    assert len(cut["input_ids"]) == MAX_LENGTH


def test_the_policy_is_saved_with_the_model(tiny, tmp_path: Path) -> None:
    model, featurizer = tiny
    model.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "acsa_model.json").read_text(encoding="utf-8"))
    assert saved["model_config"]["long_reviews"] == "windows"
    assert saved["model_config"]["max_windows"] == CONFIG["max_windows"]
    loaded, loaded_featurizer = AcsaModel.from_pretrained(tmp_path)
    assert isinstance(loaded_featurizer, OfflineFeaturizer)
    assert loaded_featurizer.config.read_limit == MAX_LENGTH * CONFIG["max_windows"]
    rng = random.Random(4)
    texts = [_review(rng, 3 * MAX_LENGTH, cue_at=2 * MAX_LENGTH + 3), "mùi thơm"]
    np.testing.assert_array_equal(
        predict_logits(loaded, loaded_featurizer, texts), predict_logits(model, featurizer, texts)
    )


def test_a_model_saved_before_the_policy_existed_still_truncates(tiny, tmp_path: Path) -> None:
    model, _ = tiny
    model.save_pretrained(tmp_path)
    for name in ("acsa_model.json", "featurizer.json"):
        path = tmp_path / name
        payload = json.loads(path.read_text(encoding="utf-8"))
        config = payload["model_config" if name == "acsa_model.json" else "config"]
        del config["long_reviews"], config["max_windows"]
        path.write_text(json.dumps(payload), encoding="utf-8")
    loaded, featurizer = AcsaModel.from_pretrained(tmp_path)
    assert loaded.model_config.long_reviews == "truncate"
    assert isinstance(featurizer, OfflineFeaturizer)
    assert featurizer.config.long_reviews == "truncate"
    (features,) = featurizer.encode([" ".join(["tốt"] * 3 * MAX_LENGTH)])
    assert len(features["input_ids"]) == MAX_LENGTH


def test_onnx_reads_the_long_review_like_pytorch(tiny, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    from acsa.models.onnx_backend import OnnxBackend
    from acsa.models.onnx_export import export_onnx

    model, featurizer = tiny
    model.save_pretrained(tmp_path / "model")
    export_onnx(tmp_path / "model", tmp_path / "onnx")
    backend = OnnxBackend.load(tmp_path / "onnx")
    rng = random.Random(5)
    texts = [_review(rng, 3 * MAX_LENGTH, cue_at=2 * MAX_LENGTH + 5), "mùi thơm lắm", "ok"]
    found = backend.predict_logits(texts)
    np.testing.assert_allclose(found, predict_logits(model, featurizer, texts), atol=1e-4)
    assert found[0, 0].argmax() == POSITIVE


def test_counts_of_windowed_and_truncated_reviews(tiny) -> None:
    _, featurizer = tiny
    rng = random.Random(6)
    texts = [
        _review(rng, 8, None),
        _review(rng, 3 * MAX_LENGTH, None),
        _review(rng, 5 * MAX_LENGTH, None),
    ]
    counts = count_truncated(featurizer, texts)
    assert counts is not None
    assert counts["policy"] == "windows" and counts["longer_than_max_length"] == 2
    assert counts["windowed"] == 2 and counts["truncated"] == 1  # 5 windows > max_windows 4
    line = notice({"test": counts})
    assert line is not None and "2 of 3 test" in line and "1 exceed model.max_windows" in line
    counts = count_truncated(_truncating(featurizer), texts)
    assert counts is not None and counts["truncated"] == 2 and counts["windowed"] == 0


def test_windows_is_the_offline_default() -> None:
    config = parse_model_config({})
    assert isinstance(config, OfflineModelConfig)
    assert config.long_reviews == "windows" and config.read_limit == 1024 * 4


@pytest.mark.parametrize(
    ("model", "key"),
    [
        ({"max_length": 8192, "max_windows": 9}, "max_windows"),
        ({"max_windows": 0}, "max_windows"),
        ({"long_reviews": "sentences"}, "long_reviews"),
    ],
)
def test_bad_policy_settings_are_one_line_errors(model: dict, key: str) -> None:
    from acsa.training.config import config_from_dict

    with pytest.raises(ConfigError, match=key) as info:
        config_from_dict({"data": {"train": "t.csv"}, "model": {"encoder": "offline", **model}})
    assert "\n" not in str(info.value)


def test_explanations_reach_the_cue_after_max_length(tiny) -> None:
    pytest.importorskip("captum")
    from acsa.explain.offline_ig import offline_attributions

    model, featurizer = tiny
    rng = random.Random(7)
    cue_at = 2 * MAX_LENGTH + 4
    text = _review(rng, 3 * MAX_LENGTH, cue_at=cue_at)
    ((scores, _),) = offline_attributions(model, featurizer, [text], [[(0, POSITIVE)]])[0]
    assert len(scores) == 3 * MAX_LENGTH  # every token read gets a share
    assert int(np.argmax(scores)) == cue_at

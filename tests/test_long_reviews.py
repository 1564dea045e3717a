"""Reviews longer than an encoder reads: Hugging Face windows, and the counts a run reports."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from acsa.data import LabelSpace
from acsa.errors import ConfigError
from acsa.models import HFFeaturizer, build_model, parse_model_config, predict_logits
from acsa.models.long_reviews import count_truncated, notice
from tests.helpers.tiny_bert import build_tiny_bert, sample_texts
from tests.test_training import ASPECTS, TINY_OFFLINE, small_config, write_synthetic_data

LONG = " ".join(["pin trâu camera đẹp giao hàng nhanh shop nhiệt tình"] * 20)  # ~160 words
SHORT = ["pin tốt", "camera đẹp, giá rẻ", "giao hàng chậm quá"]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny_bert"), sample_texts(300))


def _windows_model(path: Path, pooling: str = "max", **extra: object) -> tuple:
    torch.manual_seed(0)
    config = parse_model_config(
        {
            "encoder": "huggingface",
            "name_or_path": str(path),
            "max_length": 24,
            "long_reviews": "windows",
            "window_stride": 8,
            "window_pooling": pooling,
            "head": {"hidden_dim": 0, "dropout": 0.0, "projection_dim": 0},
            "dropout": 0.0,
            **extra,
        }
    )
    model, featurizer = build_model(config, LabelSpace(tuple(ASPECTS)), [])
    model.eval()
    return model, featurizer


def test_windows_cover_a_review_longer_than_any_window(tiny_bert: Path) -> None:
    featurizer = HFFeaturizer.from_name_or_path(
        tiny_bert, 24, long_reviews="windows", window_stride=8, max_windows=64
    )
    tokenizer = featurizer.tokenizer
    content = tokenizer(LONG, add_special_tokens=False)["input_ids"]
    assert len(content) > 3 * 24  # longer than any window
    (features,) = featurizer.encode([LONG])
    lengths = features["window_lengths"]
    assert len(lengths) > 3 and max(lengths) <= 24
    flat, start, windows = features["input_ids"], 0, []
    for n in lengths:
        windows.append(flat[start : start + n][1:-1])  # without [CLS] ... [SEP]
        start += n
    # consecutive windows share 8 tokens, and together they hold the whole review
    for left, right in zip(windows, windows[1:], strict=False):
        assert left[-8:] == right[:8]
    rebuilt = windows[0] + [t for w in windows[1:] for t in w[8:]]
    assert rebuilt == content
    batch = featurizer.collate(featurizer.encode([LONG, SHORT[0]]))
    assert batch["input_ids"].shape == (2, len(lengths), 24)
    assert batch["attention_mask"][1, 1:].sum() == 0  # the short review has one window


@pytest.mark.parametrize("pooling", ["max", "mean"])
def test_window_vectors_are_pooled_per_review(tiny_bert: Path, pooling: str) -> None:
    model, featurizer = _windows_model(tiny_bert, pooling)
    encoder = model.encoder
    (features,) = featurizer.encode([LONG])
    flat, start, per_window = features["input_ids"], 0, []
    with torch.no_grad():
        for n in features["window_lengths"]:
            ids = torch.tensor([flat[start : start + n]])
            start += n
            hidden = encoder.backbone(input_ids=ids, attention_mask=torch.ones_like(ids))
            per_window.append(hidden.last_hidden_state[0, 0])
        stacked = torch.stack(per_window)
        expected = stacked.amax(0) if pooling == "max" else stacked.mean(0)
        # batched with a short review: padding windows and tokens change nothing
        batch = featurizer.collate(featurizer.encode([SHORT[0], LONG]))
        got = encoder(**batch)
    torch.testing.assert_close(got[1], expected, rtol=1e-5, atol=1e-5)


def test_a_short_review_reads_the_same_with_windows_or_truncation(tiny_bert: Path) -> None:
    windows, featurizer = _windows_model(tiny_bert)
    torch.manual_seed(0)
    config = windows.model_config.model_copy(update={"long_reviews": "truncate"})
    truncate, truncate_featurizer = build_model(config, LabelSpace(tuple(ASPECTS)), [])
    truncate.load_state_dict(windows.state_dict())
    truncate.eval()
    a = predict_logits(windows, featurizer, SHORT)
    b = predict_logits(truncate, truncate_featurizer, SHORT)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # the long review differs: truncation drops most of it
    assert not np.allclose(
        predict_logits(windows, featurizer, [LONG]),
        predict_logits(truncate, truncate_featurizer, [LONG]),
    )


def test_long_review_counts(tiny_bert: Path) -> None:
    texts = [*SHORT, LONG]
    truncating = HFFeaturizer.from_name_or_path(tiny_bert, 24)
    counts = count_truncated(truncating, texts)
    assert counts is not None
    assert counts["reviews"] == 4 and counts["longer_than_max_length"] == 1
    assert counts["truncated"] == 1 and counts["windowed"] == 0
    windowing = HFFeaturizer.from_name_or_path(
        tiny_bert, 24, long_reviews="windows", window_stride=8, max_windows=3
    )
    counts = count_truncated(windowing, texts)
    assert counts is not None
    assert counts["windowed"] == 1 and counts["truncated"] == 1  # more than 3 windows
    line = notice({"train": counts})
    assert line is not None and "1 of 4 train" in line and "windows" in line

    from acsa.models.offline_featurizer import OfflineFeaturizer
    from acsa.models.text import tokenize

    offline = OfflineFeaturizer.fit(parse_model_config({**TINY_OFFLINE, "max_length": 16}), texts)
    counts = count_truncated(offline, texts)
    assert counts is not None
    assert counts["longer_than_max_length"] == sum(len(tokenize(t)) > 16 for t in texts) == 1
    assert notice({"train": {**counts, "longer_than_max_length": 0}}) is None


def test_window_stride_must_leave_room() -> None:
    from acsa.training.config import config_from_dict

    model = {"encoder": "huggingface", "name_or_path": "x", "max_length": 32}
    config_from_dict({"data": {"train": "t.csv"}, "model": {**model, "window_stride": 30}})
    with pytest.raises(ConfigError, match="window_stride"):
        config_from_dict(
            {
                "data": {"train": "t.csv"},
                "model": {**model, "long_reviews": "windows", "window_stride": 30},
            }
        )


def test_training_with_windows_reports_the_long_reviews(
    tiny_bert: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import csv

    from acsa.api import Predictor
    from acsa.training.run import train

    data = write_synthetic_data(tmp_path / "data", sizes=(60, 20, 20))
    with (data / "train.csv").open("a", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerow([LONG, "Positive", "Positive", "", "Positive"])
    model = {
        "encoder": "huggingface",
        "name_or_path": str(tiny_bert),
        "max_length": 24,
        "long_reviews": "windows",
        "window_stride": 8,
        "head": {"hidden_dim": 16, "projection_dim": 0},
    }
    config = small_config(data, tmp_path / "run", model=model, epochs=1, baseline=False)
    logger = logging.getLogger("acsa")
    propagate, logger.propagate = logger.propagate, True
    try:
        with caplog.at_level(logging.WARNING, logger="acsa"):
            result = train(config, quiet=True)
    finally:
        logger.propagate = propagate
    run = json.loads((tmp_path / "run" / "run.json").read_text(encoding="utf-8"))
    train_counts = run["long_reviews"]["train"]
    assert train_counts["policy"] == "windows" and train_counts["windowed"] >= 1
    assert train_counts["reviews"] == 61
    assert any("read as overlapping windows" in r.getMessage() for r in caplog.records)
    # the saved model keeps the policy: a reload reads the long review the same way
    texts = [LONG, *SHORT]
    first = Predictor.load(result.model_dir).backend.predict_logits(texts)
    model_obj = Predictor.load(result.output_dir).backend.model
    assert model_obj.model_config.long_reviews == "windows"
    np.testing.assert_array_equal(
        first, Predictor.load(result.output_dir).backend.predict_logits(texts)
    )

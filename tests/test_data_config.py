"""DataConfig: defaults, rejected keys and values, path resolution."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from acsa.data import DataConfig, LabelSpace
from acsa.errors import ConfigError


def test_defaults() -> None:
    config = DataConfig()
    # no built-in aspect list: they come from the training file (resolve_aspects)
    assert config.aspects is None and config.ignore_columns == []
    with pytest.raises(ConfigError, match="data.aspects: not resolved yet"):
        _ = config.label_space
    assert config.format == "auto" and config.malformed_labels == "error"
    assert (config.label_column, config.pair_separator, config.aspect_separator) == (
        "labels",
        ",",
        "#",
    )
    assert config.text_column == "data"
    assert config.label_names == {
        "negative": "Negative",
        "neutral": "Neutral",
        "positive": "Positive",
    }
    assert config.duplicates == "warn" and config.extra_columns == "error"
    assert config.max_text_chars == 10_000
    listed = DataConfig(aspects=[" Battery", "Camera"])
    assert listed.label_space == LabelSpace(("Battery", "Camera"), "with_none")


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"trian": "train.csv"}, "trian"),
        ({"validation_fraction": 0.0}, "validation_fraction"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"max_text_chars": 0}, "max_text_chars"),
        ({"format": "xlsx"}, "format"),
        ({"label_scheme": "binary"}, "label_scheme"),
        ({"aspects": []}, "aspects"),
        ({"aspects": ["Battery", "battery"]}, "listed twice"),
        ({"label_names": {"positive": "Pos"}}, "missing: negative, neutral"),
        ({"label_names": {"positive": "X", "negative": "X", "neutral": "N"}}, "must differ"),
        ({"label_aliases": {"Posititve": "Good"}}, "not a label"),
        ({"missing_values": ["Positive"]}, "missing_values"),
        ({"conflict_policy": "map"}, "conflict_label"),
        ({"duplicates": "ignore"}, "duplicates"),
        ({"aspect_separator": ""}, "aspect_separator"),
        ({"pair_separator": ""}, "pair_separator"),
        ({"pair_separator": ":", "aspect_separator": ":"}, "must differ"),
        ({"format": "label_columns"}, "format"),
        ({"malformed_labels": "drop"}, "malformed_labels"),
        ({"aspects": ["Battery", "id"], "ignore_columns": ["ID"]}, "also listed in ignore_columns"),
    ],
)
def test_invalid_values_are_rejected(values: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        DataConfig(**values)
    assert fragment in str(info.value)


def test_alias_targets_may_be_spelling_polarity_or_none() -> None:
    config = DataConfig(label_aliases={"Posititve": "Positive", "bad": "negative", "-": "none"})
    assert config.label_aliases["bad"] == "negative"


def test_resolve_paths_against_config_folder(tmp_path: Path) -> None:
    config = DataConfig(train="data/train.csv", test=tmp_path / "abs.csv")
    resolved = config.resolve_paths(tmp_path)
    assert resolved.train == (tmp_path / "data" / "train.csv").resolve()
    assert resolved.test == tmp_path / "abs.csv"
    assert resolved.validation is None and resolved.dir is None
    assert config.train == Path("data/train.csv")  # the original is unchanged


def test_resolve_paths_against_dir(tmp_path: Path) -> None:
    config = DataConfig(dir="reviews", train="train.csv", validation="val.jsonl")
    resolved = config.resolve_paths(tmp_path)
    assert resolved.dir == (tmp_path / "reviews").resolve()
    assert resolved.train == (tmp_path / "reviews" / "train.csv").resolve()
    assert resolved.validation == (tmp_path / "reviews" / "val.jsonl").resolve()


def test_windows_style_relative_path_is_kept_as_path(tmp_path: Path) -> None:
    resolved = DataConfig(train=Path("sub") / "train.csv").resolve_paths(tmp_path)
    assert resolved.train is not None and resolved.train.parts[-2:] == ("sub", "train.csv")


def test_data_dir_override_is_taken_against_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from acsa.data.config import data_dir_override
    from acsa.errors import DataError

    (tmp_path / "reviews").mkdir()
    (tmp_path / "a_file.csv").write_text("data\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert data_dir_override("reviews") == (tmp_path / "reviews").resolve()
    for bad in ("nowhere", "a_file.csv"):
        with pytest.raises(DataError, match=f"data.dir: .*{bad} is not a folder"):
            data_dir_override(bad)

"""Aspects taken from the data when ``data.aspects`` is not set (resolve_aspects)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from acsa.data import DataConfig, file_aspects, load_and_validate, load_split, resolve_aspects
from acsa.errors import DataError


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    return _write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


WIDE = "id,Screen,data,Battery,camera\n1,Positive,Màn đẹp,,Negative\n2,,Pin tệ,Negative,\n"


def test_wide_csv_aspects_are_the_header_in_file_order(tmp_path: Path) -> None:
    path = _write(tmp_path / "train.csv", WIDE)
    config = DataConfig(ignore_columns=["ID"])  # matched ignoring case
    assert file_aspects(path, config) == ("Screen", "Battery", "camera")
    reviews = load_split(path, config)
    assert reviews.aspects == ("Screen", "Battery", "camera")
    assert reviews.texts == ["Màn đẹp", "Pin tệ"]
    assert reviews.labels.tolist() == [[3, 0, 1], [0, 1, 0]]


def test_column_that_is_not_an_aspect_says_to_ignore_it(tmp_path: Path) -> None:
    path = _write(tmp_path / "train.csv", WIDE)
    with pytest.raises(DataError) as info:
        load_split(path, DataConfig())
    message = str(info.value)
    assert "train.csv row 2, column 'id': unknown label '1'" in message
    assert "data.ignore_columns" in message


def test_listed_aspects_still_win_and_ignore_columns_pass_extra_columns(tmp_path: Path) -> None:
    path = _write(tmp_path / "train.csv", WIDE)
    config = DataConfig(aspects=["Battery", "Camera"], ignore_columns=["id", "screen"])
    reviews = load_split(path, config)
    assert reviews.aspects == ("Battery", "Camera")
    assert reviews.labels.tolist() == [[0, 1], [1, 0]]
    with pytest.raises(DataError, match="unknown column 'Screen'.*data.ignore_columns"):
        load_split(path, DataConfig(aspects=["Battery", "Camera"], ignore_columns=["id"]))


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("data,,Battery\nx,,Positive\n", "column number 2 has no name"),
        ("data,id\nx,1\n", "no aspect columns besides the text column 'data'"),
    ],
)
def test_header_without_usable_aspects(tmp_path: Path, header: str, fragment: str) -> None:
    path = _write(tmp_path / "train.csv", header)
    with pytest.raises(DataError, match=fragment) as info:
        load_split(path, DataConfig(ignore_columns=["id"]))
    assert "train.csv row 1" in str(info.value)


def _splits(folder: Path, train: str, validation: str, test: str) -> DataConfig:
    _write(folder / "train.csv", train)
    _write(folder / "validation.csv", validation)
    _write(folder / "test.csv", test)
    return DataConfig(train="train.csv", validation="validation.csv", test="test.csv")


def test_resolve_aspects_fills_the_list_and_keeps_paths(tmp_path: Path) -> None:
    config = _splits(
        tmp_path,
        "data,Battery,Camera\na,Positive,\n",
        # same aspects, other order and case: fine
        "camera,DATA,battery\nNegative,b,\n",
        "data,Battery,Camera\nc,,\n",
    )
    resolved = resolve_aspects(config, tmp_path)
    assert resolved.aspects == ["Battery", "Camera"]
    assert resolved.train == Path("train.csv")  # written back into config.yaml as given
    assert config.aspects is None  # the original is unchanged
    splits, _ = load_and_validate(config, tmp_path)
    assert {s.aspects for s in splits.values()} == {("Battery", "Camera")}
    assert splits["validation"].labels.tolist() == [[0, 1]]


def test_listed_aspects_are_returned_without_reading_files(tmp_path: Path) -> None:
    config = DataConfig(train="does_not_exist.csv", aspects=["Battery"])
    assert resolve_aspects(config, tmp_path) is config


@pytest.mark.parametrize(
    ("validation", "fragments"),
    [
        ("data,Battery\nb,Positive\n", ["missing 'Camera'"]),
        ("data,Battery,Camera,Screen\nb,,,\n", ["not in train 'Screen'"]),
        ("data,Battery,Screen\nb,,\n", ["missing 'Camera'", "not in train 'Screen'"]),
    ],
)
def test_splits_with_other_columns_are_rejected(
    tmp_path: Path, validation: str, fragments: list[str]
) -> None:
    config = _splits(tmp_path, "data,Battery,Camera\na,Positive,\n", validation, "data\nc\n")
    with pytest.raises(DataError) as info:
        load_and_validate(config, tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path / "validation.csv") + ": its aspect columns differ")
    assert f"training file {tmp_path / 'train.csv'}" in message
    for fragment in fragments:
        assert fragment in message
    assert "data.ignore_columns" in message


def test_label_list_aspects_sorted_and_other_splits_may_name_fewer(tmp_path: Path) -> None:
    _jsonl(
        tmp_path / "train.jsonl",
        [
            {"text": "a", "labels": ["shipping#Positive", "Quality#Negative"]},
            {"text": "b", "labels": ["PRICE#Neutral", "SHIPPING#Negative"]},
            {"text": "c", "labels": []},
        ],
    )
    _jsonl(tmp_path / "test.jsonl", [{"text": "d", "labels": ["Quality#Positive"]}])
    config = DataConfig(train="train.jsonl", test="test.jsonl")
    # sorted ignoring case, first spelling kept: independent of the order of the rows
    assert resolve_aspects(config, tmp_path).aspects == ["PRICE", "Quality", "shipping"]
    splits, _ = load_and_validate(config, tmp_path)
    assert splits["test"].aspects == ("PRICE", "Quality", "shipping")
    assert splits["test"].labels.tolist() == [[0, 3, 0]]
    train = load_split(tmp_path / "train.jsonl", DataConfig())
    assert train.labels.tolist() == [[0, 1, 3], [2, 0, 1], [0, 0, 0]]


def test_label_list_split_naming_an_aspect_absent_from_train(tmp_path: Path) -> None:
    _jsonl(tmp_path / "train.jsonl", [{"text": "a", "labels": ["Battery#Positive"]}])
    _jsonl(tmp_path / "val.jsonl", [{"text": "b", "labels": ["Screen#Positive"]}])
    config = DataConfig(train="train.jsonl", validation="val.jsonl")
    with pytest.raises(DataError) as info:
        load_and_validate(config, tmp_path)
    message = str(info.value)
    assert "val.jsonl: its labelled aspects differ from the training file" in message
    assert "not in train 'Screen'" in message and "data.aspects" in message
    # listing the aspects makes Screen a known aspect that training never mentions
    listed = config.model_copy(update={"aspects": ["Battery", "Screen"]})
    splits, _ = load_and_validate(listed, tmp_path)
    assert splits["validation"].labels.tolist() == [[0, 3]]


def test_label_file_without_any_label_cannot_give_aspects(tmp_path: Path) -> None:
    _jsonl(tmp_path / "train.jsonl", [{"text": "a", "labels": []}])
    with pytest.raises(DataError, match="no review has a label.*data.aspects"):
        load_and_validate(DataConfig(train="train.jsonl"), tmp_path)
    with pytest.raises(DataError, match="no review has a label.*data.aspects"):
        load_split(tmp_path / "train.jsonl", DataConfig())


@pytest.mark.parametrize("listed", [False, True])
def test_aspect_never_mentioned_in_train_loads_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, listed: bool
) -> None:
    config = _splits(
        tmp_path,
        "data,Battery,Camera,Screen\na,Positive,,\nb,,Negative,\n",
        "data,Battery,Camera,Screen\nv,,,Positive\n",
        "data,Battery,Camera,Screen\nt,,,Negative\n",
    )
    if listed:
        config = config.model_copy(update={"aspects": ["Battery", "Camera", "Screen"]})
    with caplog.at_level(logging.WARNING, logger="acsa.data"):
        splits, report = load_and_validate(config, tmp_path)
    assert splits["train"].aspects == ("Battery", "Camera", "Screen")
    assert splits["test"].labels.tolist() == [[0, 0, 1]]
    about_screen = [r for r in caplog.records if "'Screen'" in r.getMessage()]
    assert len(about_screen) == 1 and about_screen[0].levelno == logging.WARNING
    assert "never mentioned" in about_screen[0].getMessage()
    lines = [w for w in report.warnings if "'Screen'" in w]
    assert len(lines) == 1 and "never mentioned" in lines[0]
    assert report.splits["train"].unmentioned == ["Screen"]
    assert report.to_dict()["splits"]["train"]["unmentioned_aspects"] == ["Screen"]


def test_no_warning_when_every_aspect_is_mentioned(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = _splits(
        tmp_path,
        "data,Battery,Camera\na,Positive,\nb,,Neutral\n",
        "data,Battery,Camera\nv,,\n",
        "data,Battery,Camera\nt,,\n",
    )
    with caplog.at_level(logging.WARNING, logger="acsa.data"):
        _, report = load_and_validate(config, tmp_path)
    assert "never mentioned" not in caplog.text
    assert not any("never mentioned" in w for w in report.warnings)

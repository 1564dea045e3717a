"""The label-column format: all labels of a review in one CSV cell ("A: Positive, B: Negative")."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from acsa.data import DataConfig, load_and_validate, load_split
from acsa.errors import DataError

BASE: dict[str, Any] = {
    "format": "label_column",
    "text_column": "Content",
    "label_column": "Polarity",
    "aspect_separator": ":",
}


def _config(**extra: Any) -> DataConfig:
    return DataConfig(**{**BASE, **extra})


def _write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


GOOD = (
    "Content,Rating,Aspect,Polarity\n"
    '"Giao nhanh, đóng gói kỹ.\nSẽ mua lại, ""rất"" ổn",5,"SHIPPING, PACKING",'
    '"SHIPPING: Positive, packing :Positive"\n'
    "Mùi hơi nồng,2,SMELL,SMELL: Negative\n"
    "Bình thường,3,,\n"
    '"Ổn",4,QUALITY,"QUALITY: Neutral, "\n'
)


def test_valid_rows_with_quoted_newlines_and_commas(tmp_path: Path) -> None:
    path = _write(tmp_path / "train.csv", GOOD)
    reviews = load_split(path, _config())
    # aspects from the labels, sorted ignoring case, first spelling kept; Rating and
    # Aspect are not read
    assert reviews.aspects == ("packing", "QUALITY", "SHIPPING", "SMELL")
    assert reviews.texts[0] == 'Giao nhanh, đóng gói kỹ.\nSẽ mua lại, "rất" ổn'
    assert reviews.labels.tolist() == [[3, 0, 3, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 2, 0, 0]]
    assert reviews.mask.all()
    # the first review spans lines 2-3: the next ones are rows 3, 4, 5 (lines 4, 5, 6)
    assert reviews.rows == [2, 3, 4, 5]
    assert reviews.skipped_labels == [] and reviews.dropped == []


def test_listed_aspects_order_and_custom_separators(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", "review;labels\nPin tốt;Battery=pos | camera=neg\n")
    config = DataConfig(
        format="label_column",
        text_column="review",
        pair_separator="|",
        aspect_separator="=",
        aspects=["Camera", "Battery", "Screen"],
        label_names={"negative": "neg", "neutral": "neu", "positive": "pos"},
    )
    # the file is comma-separated only in name: one column "review;labels"
    with pytest.raises(DataError, match="';' as delimiter"):
        load_split(path, config)
    _write(path, "review,labels\nPin tốt,Battery=pos | camera=neg\n")
    reviews = load_split(path, config)
    assert reviews.aspects == ("Camera", "Battery", "Screen")
    assert reviews.labels.tolist() == [[1, 3, 0]]


def test_aliases_none_alias_and_missing_values(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "t.csv",
        "Content,Polarity\n"
        '"a","QUALITY: Netral, SHIPPING: n/a"\n'
        '"b","QUALITY: ?, SHIPPING: Postive"\n'
        '"c",UNLABELLED\n',
    )
    config = _config(
        label_aliases={"Netral": "Neutral", "Postive": "positive", "n/a": "none"},
        missing_values=["?", "UNLABELLED"],
    )
    reviews = load_split(path, config)
    assert reviews.aspects == ("QUALITY", "SHIPPING")
    assert reviews.labels.tolist() == [[2, 0], [0, 3], [0, 0]]
    # "?" makes one label unknown; a whole cell in missing_values makes every label unknown
    assert reviews.mask.tolist() == [[True, True], [False, True], [False, False]]


@pytest.mark.parametrize(
    ("body", "extra", "fragments"),
    [
        (
            '"x",QUALITY: Posotive\n',
            {},
            [
                "t.csv row 2, column 'Polarity', label 'QUALITY: Posotive'",
                "unknown label 'Posotive'",
                "{Posotive: Positive}",
            ],
        ),
        (
            '"x",QUALITY: positive\n',
            {},
            ["row 2, column 'Polarity'", "wrong case", "{positive: Positive}"],
        ),
        (
            '"first\nsecond",QUALITY: Positive\n"y","QUALITY: Positive, SHIPPING"\n',
            {},
            [
                "t.csv row 3 (line 4), column 'Polarity'",
                "label 'SHIPPING' has no ':' between aspect and polarity",
                "data.malformed_labels: skip",
            ],
        ),
        ('"x",": Positive"\n', {}, ["row 2", "label ': Positive' has no aspect before ':'"]),
        ('"x","QUALITY:"\n', {}, ["row 2", "label 'QUALITY:' has no polarity after ':'"]),
        (
            '"x",PRICE: Positive\n',
            {"aspects": ["QUALITY"]},
            ["row 2, column 'Polarity'", "unknown aspect 'PRICE'", "add it to data.aspects"],
        ),
        (
            '"x","QUALITY: Positive, quality: Negative"\n',
            {},
            ["row 2, column 'Polarity'", "'QUALITY' has two polarities", "data.conflict_policy"],
        ),
        ('"",QUALITY: Positive\n', {}, ["row 2, column 'Content'", "text is empty"]),
        ('"x",QUALITY: Positive,extra\n', {}, ["row 2", "3 fields but the header has 2"]),
    ],
)
def test_errors_name_file_row_column_value_and_fix(
    tmp_path: Path, body: str, extra: dict[str, Any], fragments: list[str]
) -> None:
    path = _write(tmp_path / "t.csv", "Content,Polarity\n" + body)
    with pytest.raises(DataError) as info:
        load_split(path, _config(**extra))
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


@pytest.mark.parametrize(
    ("header", "extra", "fragment"),
    [
        ("Content,Labels2\n", {}, "no label column 'Polarity'"),
        ("Text,Polarity\n", {}, "no text column 'Content'"),
        ("Content,Polarity\n", {"label_column": "content"}, "both name column 'Content'"),
    ],
)
def test_header_errors(tmp_path: Path, header: str, extra: dict[str, Any], fragment: str) -> None:
    path = _write(tmp_path / "t.csv", header + "x,QUALITY: Positive\n")
    with pytest.raises(DataError, match=fragment) as info:
        load_split(path, _config(**extra))
    assert "t.csv row 1" in str(info.value)


MALFORMED = (
    "Content,Polarity\n"
    '"a","QUALITY: Positive, SHIPPING"\n'
    '"b","SHIPPING, SHIPPING: Negative"\n'
    '"c","nonsense"\n'
    '"d","SHIPPING: Positive"\n'
)


def test_malformed_pairs_skipped_are_counted_reported_and_unknown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write(tmp_path / "train.csv", MALFORMED)
    config = _config(train="train.csv", malformed_labels="skip")
    with caplog.at_level(logging.WARNING, logger="acsa.data"):
        splits, report = load_and_validate(config, tmp_path)
    logged = [r for r in caplog.records if "malformed label" in r.getMessage()]
    assert len(logged) == 1  # once, although resolve_aspects read the file too
    assert len(splits["train"]) + len(splits["validation"]) == 4
    reviews = load_split(tmp_path / "train.csv", config)
    assert reviews.aspects == ("QUALITY", "SHIPPING")
    assert [(s.row, s.label) for s in reviews.skipped_labels] == [
        (2, "SHIPPING"),
        (3, "SHIPPING"),
        (4, "nonsense"),
    ]
    assert reviews.labels.tolist() == [[3, 0], [0, 1], [0, 0], [0, 3]]
    # a bare aspect means "mentioned, sentiment unknown": masked, not "none";
    # a valid label for the same aspect wins, and a bare unknown name changes nothing
    assert reviews.mask.tolist() == [[True, False], [True, True], [True, True], [True, True]]
    lines = [w for w in report.warnings if "malformed label" in w]
    assert len(lines) == 1 and "3 malformed label(s) skipped" in lines[0]
    assert "row 2 'SHIPPING'" in lines[0]
    skipped = report.to_dict()["splits"]["train"]["skipped_labels"]
    assert len(skipped) == 3 and skipped[0]["row"] == 2
    # skipped labels stay with train when validation is split off
    assert len(report.splits["train"].skipped_labels) == 3
    json.dumps(report.to_dict())


def test_malformed_pair_is_an_error_by_default(tmp_path: Path) -> None:
    path = _write(tmp_path / "train.csv", MALFORMED)
    with pytest.raises(DataError, match=r"train\.csv row 2, column 'Polarity': label 'SHIPPING'"):
        load_split(path, _config())


def test_label_list_shares_the_malformed_policy(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text('{"text": "a", "labels": ["Battery#Positive", "Camera"]}\n', encoding="utf-8")
    with pytest.raises(DataError, match="line 1, key 'labels': label 'Camera' has no '#'"):
        load_split(path, DataConfig(aspects=["Battery", "Camera"]))
    reviews = load_split(path, DataConfig(aspects=["Battery", "Camera"], malformed_labels="skip"))
    assert reviews.labels.tolist() == [[3, 0]]
    assert reviews.mask.tolist() == [[True, False]]
    assert [(s.row, s.label) for s in reviews.skipped_labels] == [(1, "Camera")]


def test_auto_format_reads_a_label_column_file_as_wide_csv(tmp_path: Path) -> None:
    # format: auto takes .csv for a wide CSV; the label cell is then not a polarity
    path = _write(tmp_path / "t.csv", "Content,Polarity\nx,QUALITY: Positive\n")
    with pytest.raises(DataError, match="column 'Polarity': unknown label 'QUALITY: Positive'"):
        load_split(path, DataConfig(text_column="Content"))

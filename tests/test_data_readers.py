"""Readers on well-formed files: values, masks, row numbers, policies."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from acsa.data import DataConfig, load_split
from acsa.errors import DataError

ASPECTS = ["Battery", "Camera"]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _jsonl(path: Path, records: list[dict[str, object]]) -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    return _write(path, "\n".join(lines) + "\n")


def test_wide_csv_with_bom_quotes_and_newlines(tmp_path: Path) -> None:
    path = tmp_path / "train.csv"
    path.write_bytes(
        (
            "data,Battery,Camera\r\n"
            '"Pin tốt, sạc nhanh",Positive,\r\n'
            '"Dòng một\nDòng hai ""trích dẫn""",, Negative \r\n'
            "\r\n"
            "Camera ổn,Neutral,Neutral\r\n"
        ).encode("utf-8-sig")
    )
    reviews = load_split(path, DataConfig(aspects=ASPECTS))
    assert reviews.texts == ["Pin tốt, sạc nhanh", 'Dòng một\nDòng hai "trích dẫn"', "Camera ổn"]
    assert reviews.labels.dtype == np.int64 and reviews.mask.dtype == np.bool_
    assert reviews.labels.tolist() == [[3, 0], [0, 1], [2, 2]]
    assert reviews.mask.all()
    # header is row 1; the blank line is row 4 (not a review)
    assert reviews.rows == [2, 3, 5]
    assert reviews.aspects == ("Battery", "Camera")
    assert reviews.source == path


def test_row_and_line_both_named_after_multiline_text(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "t.csv",
        'data,Battery,Camera\n"a\nb\nc",Positive,\nok,Bad,\n',
    )
    with pytest.raises(DataError, match=r"t\.csv row 3 \(line 5\), column 'Battery'"):
        load_split(path, DataConfig(aspects=ASPECTS))


def test_headers_match_aspects_ignoring_case_and_order(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", "CAMERA, battery ,Data\nNegative,Positive,hello\n")
    reviews = load_split(path, DataConfig(aspects=ASPECTS))
    assert reviews.labels.tolist() == [[3, 1]]
    assert reviews.texts == ["hello"]


def test_aliases_missing_values_and_ignored_columns(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "t.csv",
        "id,data,Battery,Camera\n1,a,Posititve,?\n2,b,meh,\n",
    )
    config = DataConfig(
        aspects=ASPECTS,
        label_aliases={"Posititve": "Positive", "meh": "neutral"},
        missing_values=["?"],
        extra_columns="ignore",
    )
    reviews = load_split(path, config)
    assert reviews.labels.tolist() == [[3, 0], [2, 0]]
    assert reviews.mask.tolist() == [[True, False], [True, True]]


def test_custom_label_names_and_text_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", "review,Battery,Camera\nx,POS,NEG\n")
    config = DataConfig(
        aspects=ASPECTS,
        text_column="review",
        label_names={"positive": "POS", "negative": "NEG", "neutral": "NEU"},
    )
    assert load_split(path, config).labels.tolist() == [[3, 1]]


def test_label_list_reads_labels_case_insensitive_aspects(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path / "t.jsonl",
        [
            {"text": "Pin tốt", "labels": ["BATTERY#Positive"]},
            {"text": "Không nói gì", "labels": []},
            {"text": "Camera?", "labels": ["camera#unknown", "Battery#Negative"]},
        ],
    )
    reviews = load_split(path, DataConfig(aspects=ASPECTS, missing_values=["unknown"]))
    assert reviews.labels.tolist() == [[3, 0], [0, 0], [1, 0]]
    assert reviews.mask.tolist() == [[True, True], [True, True], [True, False]]
    assert reviews.rows == [1, 2, 3]


def test_label_list_blank_lines_keep_line_numbers(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "t.jsonl",
        '{"text": "a", "labels": []}\n\n{"text": "b", "labels": ["Battery#Nope"]}\n',
    )
    with pytest.raises(DataError, match=r"t\.jsonl line 3, key 'labels'.*unknown label 'Nope'"):
        load_split(path, DataConfig(aspects=ASPECTS))


def test_json_array_and_format_override(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.json", '[{"text": "a", "labels": ["Camera#Neutral"]}]')
    assert load_split(path, DataConfig(aspects=ASPECTS)).labels.tolist() == [[0, 2]]
    other = _write(tmp_path / "t.txt", "data,Battery,Camera\na,,Positive\n")
    reviews = load_split(other, DataConfig(aspects=ASPECTS, format="wide_csv"))
    assert reviews.labels.tolist() == [[0, 3]]


def test_json_array_items_are_numbered_from_one(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "t.json",
        '[{"text": "a", "labels": ["Camera#Neutral"]}, {"text": "b", "labels": ["Camera#Nope"]}]',
    )
    with pytest.raises(DataError, match=r"t\.json item 2, key 'labels'.*unknown label 'Nope'"):
        load_split(path, DataConfig(aspects=ASPECTS))


def test_custom_separator(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "t.jsonl", [{"text": "a", "labels": ["Battery|Negative"]}])
    reviews = load_split(path, DataConfig(aspects=ASPECTS, aspect_separator="|"))
    assert reviews.labels.tolist() == [[1, 0]]


CONFLICT = [
    {"text": "ok", "labels": ["Camera#Positive"]},
    {"text": "pin tốt nhưng nóng", "labels": ["Battery#Positive", "battery#Negative"]},
    {"text": "same twice", "labels": ["Battery#Neutral", "Battery#Neutral"]},
]


@pytest.mark.parametrize(
    ("policy", "extra", "expected_labels", "expected_rows"),
    [
        ("skip", {}, [[0, 3], [2, 0]], [1, 3]),
        ("first", {}, [[0, 3], [3, 0], [2, 0]], [1, 2, 3]),
        ("map", {"conflict_label": "neutral"}, [[0, 3], [2, 0], [2, 0]], [1, 2, 3]),
    ],
)
def test_conflict_policies(
    tmp_path: Path,
    policy: str,
    extra: dict[str, str],
    expected_labels: list[list[int]],
    expected_rows: list[int],
) -> None:
    path = _jsonl(tmp_path / "c.jsonl", CONFLICT)
    config = DataConfig(aspects=ASPECTS, conflict_policy=policy, **extra)
    reviews = load_split(path, config)
    assert reviews.labels.tolist() == expected_labels
    assert reviews.rows == expected_rows
    if policy == "skip":
        assert [d.row for d in reviews.dropped] == [2]
        assert "two polarities" in reviews.dropped[0].reason
    else:
        assert reviews.dropped == []


def test_conflict_policy_error(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "c.jsonl", CONFLICT)
    with pytest.raises(DataError, match=r"c\.jsonl line 2, key 'labels': aspect 'Battery'"):
        load_split(path, DataConfig(aspects=ASPECTS, conflict_policy="error"))


def test_all_reviews_skipped_is_an_error(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "c.jsonl", [CONFLICT[1]])
    with pytest.raises(DataError, match="no reviews found.*1 dropped"):
        load_split(path, DataConfig(aspects=ASPECTS, conflict_policy="skip"))


DUPES = "data,Battery,Camera\nPin tốt,Positive,\nCamera,,Negative\n  Pin   tốt ,Positive,\n"


def test_duplicates_warn_keeps_rows(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = _write(tmp_path / "d.csv", DUPES)
    with caplog.at_level(logging.WARNING, logger="acsa.data"):
        reviews = load_split(path, DataConfig(aspects=ASPECTS))
    assert len(reviews) == 3
    assert "1 texts occur more than once (rows 2/4)" in caplog.text


def test_duplicates_drop_keeps_first(tmp_path: Path) -> None:
    path = _write(tmp_path / "d.csv", DUPES)
    reviews = load_split(path, DataConfig(aspects=ASPECTS, duplicates="drop"))
    assert reviews.rows == [2, 3]
    assert [(d.row, d.reason) for d in reviews.dropped] == [(4, "duplicate of row 2")]


def test_utf8_without_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes("data,Battery,Camera\r\nĐiện thoại,Neutral,\r\n".encode())
    assert load_split(path, DataConfig(aspects=ASPECTS)).texts == ["Điện thoại"]


def test_path_given_as_string(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.csv", "data,Battery,Camera\na,,\n")
    reviews = load_split(str(path), DataConfig(aspects=ASPECTS))
    assert reviews.labels.tolist() == [[0, 0]] and reviews.source == path


def test_stray_bom_in_header_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes("\ufeffdata,Battery,Camera\na,Positive,\n".encode("utf-8-sig"))
    assert load_split(path, DataConfig(aspects=ASPECTS)).labels.tolist() == [[3, 0]]


# ----------------------------------------------------------------- message details


def test_non_utf8_bytes_are_shown_with_their_line(tmp_path: Path) -> None:
    # a blank first line: the line count starts at the first byte of the file
    path = tmp_path / "bad.csv"
    path.write_bytes(b"\ndata,Battery,Camera\nab\xe9cdef,Positive,\n")
    with pytest.raises(DataError) as info:
        load_split(path, DataConfig(aspects=ASPECTS))
    assert str(info.value) == (
        f"{path} line 3 (byte offset 23): bytes are not valid UTF-8 (e9 63 64 65); save the "
        "file as UTF-8 (in Excel: 'CSV UTF-8')"
    )


def test_a_nul_byte_at_the_very_start_is_found(tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes(b"\x00data,Battery,Camera\npin tot,Positive,\ncamera,,Negative\n")
    with pytest.raises(DataError, match=r"nul.csv line 1 \(byte offset 0\): NUL byte found"):
        load_split(path, DataConfig(aspects=ASPECTS))


def test_a_nul_byte_after_a_leading_blank_line_counts_that_line(tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes(b"\ndata,Battery,Camera\npin \x00tot,Positive,\n")
    with pytest.raises(DataError, match=r"nul.csv line 3 \(byte offset 25\): NUL byte found"):
        load_split(path, DataConfig(aspects=ASPECTS))


def test_reading_a_csv_leaves_csvs_field_limit_as_it_was(tmp_path: Path) -> None:
    import csv

    path = tmp_path / "ok.csv"
    path.write_text("data,Battery,Camera\npin tot,Positive,\n", encoding="utf-8")
    before = csv.field_size_limit()
    load_split(path, DataConfig(aspects=ASPECTS, max_text_chars=5_000_000))
    assert csv.field_size_limit() == before


def test_quoted_values_are_cut_after_40_characters() -> None:
    from acsa.data.text_files import quote

    assert quote("x" * 40) == repr("x" * 40)
    assert quote("x" * 41) == repr("x" * 40 + "...")


def test_skipped_labels_line_shows_the_first_five() -> None:
    from acsa.data.reviews import SkippedLabel, skipped_labels_line

    five = [SkippedLabel(row, f"L{row}", "has no '#'") for row in range(2, 7)]
    line = skipped_labels_line("f.jsonl", five)
    assert line.endswith("row 6 'L6' (has no '#')") and "..." not in line
    assert line.startswith("f.jsonl: 5 malformed label(s) skipped")
    six = [*five, SkippedLabel(7, "L7", "has no '#'")]
    line = skipped_labels_line("f.jsonl", six)
    assert line.endswith("row 6 'L6' (has no '#'), ...") and "L7" not in line


@pytest.mark.parametrize("broken", ["labels", "mask", "rows"])
def test_labeled_reviews_reject_inconsistent_shapes(broken: str) -> None:
    from acsa.data import LabeledReviews

    parts = {
        "texts": ["a", "b"],
        "labels": np.zeros((2, 2), dtype=np.int64),
        "mask": np.ones((2, 2), dtype=bool),
        "source": Path("x.csv"),
        "rows": [2, 3],
        "aspects": ("Battery", "Camera"),
    }
    LabeledReviews(**parts)
    parts[broken] = [2] if broken == "rows" else parts[broken][:1]
    with pytest.raises(ValueError, match="inconsistent shapes"):
        LabeledReviews(**parts)


def test_a_text_of_exactly_max_text_chars_loads_beyond_csvs_own_limit(tmp_path: Path) -> None:
    # csv refuses fields above its limit (131072 by default); the reader lifts it so
    # that data.max_text_chars alone decides
    limit = 1_200_000
    text = "pin tốt " * (limit // 8)
    assert len(text) == limit
    path = _write(tmp_path / "long.csv", f"data,Battery,Camera\n{text},Positive,\n")
    reviews = load_split(path, DataConfig(aspects=ASPECTS, max_text_chars=limit))
    assert reviews.texts == [text]
    with pytest.raises(DataError, match="more than data.max_text_chars = 1199999"):
        load_split(path, DataConfig(aspects=ASPECTS, max_text_chars=limit - 1))


def test_column_lists_in_messages_stop_after_15() -> None:
    from acsa.data.text_files import columns_list

    names = [f"c{i}" for i in range(16)]
    assert columns_list(names[:15]) == ", ".join(repr(n) for n in names[:15])
    assert columns_list(names) == ", ".join(repr(n) for n in names[:15]) + ", ... (16 in all)"


def test_duplicates_error_names_the_first_two_rows_of_a_text(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "d.csv",
        "data,Battery,Camera\npin tot,Positive,\npin tot,Positive,\npin tot,,Negative\n",
    )
    with pytest.raises(DataError) as info:
        load_split(path, DataConfig(aspects=ASPECTS, duplicates="error"))
    assert f"{path} rows 2 and 3: the same text occurs twice (1 duplicated texts" in str(info.value)


def test_a_utf16_file_is_named_by_its_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "u16.csv"
    path.write_bytes("data,Battery,Camera\npin tot,Positive,\n".encode("utf-16"))
    with pytest.raises(DataError) as info:
        load_split(path, DataConfig(aspects=ASPECTS))
    assert str(info.value) == (
        f"{path}: the file is UTF-16 encoded (byte-order mark found); save it as UTF-8 "
        "(in Excel: 'CSV UTF-8')"
    )


def test_an_unreadable_file_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "locked.csv", "data,Battery,Camera\npin tot,Positive,\n")
    real = Path.read_bytes

    def refuse(self: Path) -> bytes:
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    # root ignores file modes, so the refusal is simulated where the reader reads
    monkeypatch.setattr(Path, "read_bytes", refuse)
    with pytest.raises(DataError) as info:
        load_split(path, DataConfig(aspects=ASPECTS))
    assert str(info.value) == f"{path}: cannot be read (Permission denied); check its permissions"


def test_a_lone_surrogate_from_a_json_escape_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.jsonl", '{"text": "pin \\ud800 tot", "labels": []}\n')
    with pytest.raises(DataError, match=r"s\.jsonl line 1.*invalid character .* at position 4"):
        load_split(path, DataConfig(aspects=ASPECTS))


def test_a_file_with_some_nul_bytes_is_not_called_utf16(tmp_path: Path) -> None:
    # the UTF-16 guess needs at least a quarter of the first 2,000 bytes to be NUL
    # (UTF-16 text has about half); a fifth is a binary or corrupted file
    path = tmp_path / "bin.csv"
    path.write_bytes(b"ab\x00cd" * 400)  # 400 of 2,000 bytes: 20%
    with pytest.raises(DataError, match="NUL byte found; the file is binary or corrupted"):
        load_split(path, DataConfig(aspects=ASPECTS))
    quarter = tmp_path / "q.csv"
    quarter.write_bytes((b"ab\x00d" * 500)[:2000])  # 500 of 2,000: 25%
    with pytest.raises(DataError, match="looks UTF-16 encoded"):
        load_split(quarter, DataConfig(aspects=ASPECTS))


def test_a_broken_json_array_names_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.json", '[{"text": "a", "labels": []},\n {"text": "b"\n')
    with pytest.raises(DataError) as info:
        load_split(path, DataConfig(aspects=ASPECTS))
    assert str(info.value).startswith(f"{path} line 3: not valid JSON (")
    assert str(info.value).endswith("fix the JSON or write one object per line (.jsonl)")

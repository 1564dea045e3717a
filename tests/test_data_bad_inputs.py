"""The data-file part of the bad-input corpus (tests/bad_inputs/data/cases.yaml).

Each case must fail with a DataError whose message is one line naming the
file and the place, and saying what to do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from acsa.data import DataConfig, load_split
from acsa.errors import DataError

CORPUS = Path(__file__).resolve().parent / "bad_inputs" / "data"


def _cases() -> list[Any]:
    spec = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
    defaults = spec["defaults"]
    return [
        pytest.param(
            case["file"], {**defaults, **case.get("config", {})}, case["expect"], id=case["name"]
        )
        for case in spec["cases"]
    ]


def _check_message(exc: DataError, file_name: str, expect: list[str]) -> str:
    message = str(exc)
    assert "\n" not in message and "\r" not in message
    assert file_name in message
    for fragment in expect:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    return message


def test_corpus_has_at_least_thirty_cases() -> None:
    assert len(_cases()) >= 30


@pytest.mark.parametrize(("file_name", "config", "expect"), _cases())
def test_bad_data_file_raises_one_line_data_error(
    file_name: str, config: dict[str, Any], expect: list[str]
) -> None:
    with pytest.raises(DataError) as info:
        load_split(CORPUS / file_name, DataConfig(**config))
    _check_message(info.value, file_name, expect)


def test_text_over_max_text_chars(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text(
        'data,Battery,Camera\n"Pin tốt",Positive,\n"' + "a" * 100_000 + '",,Negative\n',
        encoding="utf-8",
    )
    config = DataConfig(aspects=["Battery", "Camera"])
    with pytest.raises(DataError) as info:
        load_split(path, config)
    _check_message(
        info.value, "long.csv", ["row 3, column 'data'", "100000 characters", "data.max_text_chars"]
    )
    loaded = load_split(path, config.model_copy(update={"max_text_chars": 100_000}))
    assert len(loaded.texts[1]) == 100_000


def test_field_beyond_csv_limit_names_row(tmp_path: Path) -> None:
    # an unclosed quote swallows the rest of a big file into one field
    path = tmp_path / "runaway.csv"
    body = "".join(f"Review {i} is fine,Positive,\n" for i in range(60_000))
    path.write_text('data,Battery,Camera\n"open,Positive,\n' + body, encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_split(path, DataConfig(aspects=["Battery", "Camera"]))
    _check_message(info.value, "runaway.csv", ["row 2", "never closed"])


def test_unreadable_bytes_in_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"text": "ok", "labels": []}\n{"text": "caf\xe9", "labels": []}\n')
    with pytest.raises(DataError) as info:
        load_split(path, DataConfig(aspects=["Battery"]))
    _check_message(info.value, "latin1.jsonl", ["line 2", "not valid UTF-8"])

"""Property tests: any table of strings loads to consistent arrays or raises DataError."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acsa.data import DataConfig, LabeledReviews, LabelSpace, load_split
from acsa.errors import DataError

ASPECTS = ["Battery", "Camera"]
SPELLING = {1: "Negative", 2: "Neutral", 3: "Positive"}
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# characters that stress CSV and JSON: quotes, separators, newlines, NUL, non-Latin scripts
tricky = st.text(
    alphabet=st.sampled_from(list(",;\"'\n\r\t #\x00 aZ\u00e9\u1ec7\u4e2d\u200b\ufeff"))
    | st.characters(),
    max_size=12,
)
cells = (
    st.sampled_from(["", " ", "Positive", "Negative", "Neutral", "positive", "Posititve", "?"])
    | tricky
)
headers = st.sampled_from(["data", "Battery", "Camera", "battery", " DATA ", "", "x"]) | tricky


def _load_bytes(raw: bytes, suffix: str, config: DataConfig) -> LabeledReviews:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_bytes(raw)
        return load_split(path, config)


def _check_consistent(reviews: LabeledReviews, config: DataConfig) -> None:
    n, a = len(reviews.texts), len(config.aspects)
    assert n > 0
    assert reviews.labels.shape == (n, a) and reviews.labels.dtype == np.int64
    assert reviews.mask.shape == (n, a) and reviews.mask.dtype == np.bool_
    assert reviews.labels.min() >= 0 and reviews.labels.max() <= 3
    assert (reviews.labels[~reviews.mask] == 0).all()
    assert len(reviews.rows) == n and all(r >= 1 for r in reviews.rows)
    assert reviews.rows == sorted(set(reviews.rows))
    assert all(t.strip() and len(t) <= config.max_text_chars for t in reviews.texts)


@SETTINGS
@given(
    header=st.lists(headers, min_size=0, max_size=5),
    rows=st.lists(st.lists(cells, min_size=0, max_size=5), max_size=6),
    quoted=st.booleans(),
    bom=st.booleans(),
    extra=st.sampled_from(["error", "ignore"]),
    duplicates=st.sampled_from(["warn", "drop", "error"]),
)
def test_any_csv_table_loads_consistently_or_raises_data_error(
    header: list[str],
    rows: list[list[str]],
    quoted: bool,
    bom: bool,
    extra: str,
    duplicates: str,
) -> None:
    if quoted:
        buffer = io.StringIO(newline="")
        csv.writer(buffer).writerows([header, *rows])
        text = buffer.getvalue()
    else:
        text = "\n".join(",".join(r) for r in [header, *rows])
    # surrogatepass turns lone surrogates into invalid UTF-8 bytes: one more bad input
    raw = text.encode("utf-8-sig" if bom else "utf-8", errors="surrogatepass")
    config = DataConfig(
        aspects=ASPECTS,
        missing_values=["?"],
        extra_columns=extra,
        duplicates=duplicates,
        max_text_chars=8,
    )
    try:
        reviews = _load_bytes(raw, ".csv", config)
    except DataError as exc:
        assert "\n" not in str(exc) and "input.csv" in str(exc)
        return
    _check_consistent(reviews, config)


review_texts = st.text(min_size=1, max_size=30).filter(lambda t: t.strip() and "\x00" not in t)


@SETTINGS
@given(
    table=st.lists(
        st.tuples(review_texts, st.lists(st.integers(0, 3), min_size=2, max_size=2)),
        min_size=1,
        max_size=8,
    )
)
def test_valid_csv_round_trips(table: list[tuple[str, list[int]]]) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["data", *ASPECTS])
    for text, labels in table:
        writer.writerow([text, *(SPELLING.get(v, "") for v in labels)])
    reviews = _load_bytes(
        buffer.getvalue().encode("utf-8-sig"), ".csv", DataConfig(aspects=ASPECTS)
    )
    assert reviews.texts == [t for t, _ in table]
    assert reviews.labels.tolist() == [labels for _, labels in table]
    assert reviews.mask.all()


label_entries = (
    st.sampled_from(
        [
            "Battery#Positive",
            "camera#Negative",
            "BATTERY#Neutral",
            "Battery#positive",
            "Foo#Positive",
            "Battery",
            "#",
            "Battery#",
            "Camera#?",
            "Battery##Positive",
        ]
    )
    | tricky
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | tricky,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(tricky, inner, max_size=3),
    max_leaves=6,
)
records = st.one_of(
    st.fixed_dictionaries(
        {"text": st.one_of(tricky, review_texts), "labels": st.lists(label_entries, max_size=4)}
    ),
    st.dictionaries(st.sampled_from(["text", "labels", "other"]) | tricky, json_values, max_size=3),
    json_values,
)


@SETTINGS
@given(
    lines=st.lists(st.one_of(records.map(lambda r: json.dumps(r)), tricky), max_size=6),
    policy=st.sampled_from(["error", "skip", "first", "map"]),
)
def test_any_label_list_loads_consistently_or_raises_data_error(
    lines: list[str], policy: str
) -> None:
    config = DataConfig(
        aspects=ASPECTS,
        missing_values=["?"],
        conflict_policy=policy,
        conflict_label="neutral" if policy == "map" else None,
        max_text_chars=20,
    )
    raw = "\n".join(lines).encode("utf-8", errors="surrogatepass")
    try:
        reviews = _load_bytes(raw, ".jsonl", config)
    except DataError as exc:
        assert "\n" not in str(exc) and "input.jsonl" in str(exc)
        return
    _check_consistent(reviews, config)


@SETTINGS
@given(
    table=st.lists(
        st.tuples(review_texts, st.lists(st.integers(0, 3), min_size=2, max_size=2)),
        min_size=1,
        max_size=8,
    )
)
def test_valid_label_list_round_trips(table: list[tuple[str, list[int]]]) -> None:
    lines = [
        json.dumps(
            {
                "text": text,
                "labels": [f"{a}#{SPELLING[v]}" for a, v in zip(ASPECTS, labels, strict=True) if v],
            },
            ensure_ascii=False,
        )
        for text, labels in table
    ]
    raw = "\n".join(lines).encode("utf-8")
    reviews = _load_bytes(raw, ".jsonl", DataConfig(aspects=ASPECTS))
    assert reviews.texts == [t for t, _ in table]
    assert reviews.labels.tolist() == [labels for _, labels in table]


canonical = st.integers(1, 6).flatmap(
    lambda a: st.lists(st.lists(st.integers(0, 3), min_size=a, max_size=a), min_size=1, max_size=8)
)


@SETTINGS
@given(labels=canonical)
def test_label_space_round_trips(labels: list[list[int]]) -> None:
    canon = np.asarray(labels, dtype=np.int64)
    aspects = tuple(f"a{i}" for i in range(canon.shape[1]))
    full = LabelSpace(aspects, "with_none")
    assert (full.to_canonical(full.to_scheme(canon)) == canon).all()
    seed = LabelSpace(aspects, "seed")
    scheme = seed.to_scheme(canon)
    assert scheme.min() >= 0 and scheme.max() < seed.num_classes
    # the seed scheme cannot tell none from neutral: both come back as none
    assert (seed.to_canonical(scheme) == np.where(canon == 2, 0, canon)).all()
    assert (seed.to_scheme(seed.to_canonical(scheme)) == scheme).all()
    assert LabelSpace.from_dict(seed.to_dict()) == seed


@SETTINGS
@given(names=st.lists(st.text(max_size=5), max_size=4), scheme=st.text(max_size=9))
def test_label_space_rejects_bad_input_with_value_error(names: list[str], scheme: str) -> None:
    try:
        space = LabelSpace(tuple(names), scheme)  # type: ignore[arg-type]
    except ValueError:
        return
    assert space.num_aspects == len(names) and space.num_classes in (3, 4)

"""Property tests: any table of strings loads to consistent arrays or raises DataError."""

from __future__ import annotations

import csv
import io
import json
import re
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


# --------------------------------------------------------------------------------------
# Valid files must load, every time: a reader that wrongly rejects a valid file fails
# here (the fuzz tests above accept any DataError). Invalid files, built from a valid
# one with exactly one defect, must raise DataError naming the file, the row (or line)
# and the column (or key) of that defect.

STRICT = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STRICT_ASPECTS = ["Battery", "Camera", "Price"]
# canonical code (or None: unknown) -> spellings a valid cell may hold under STRICT_CONFIG
CELL_SPELLINGS: dict[int | None, list[str]] = {
    0: ["", " ", "n/a"],
    1: ["Negative", " Negative ", "xau"],
    2: ["Neutral", "Neutral "],
    3: ["Positive", "Pos", "\tPositive"],
    None: ["?", " unknown "],
}
STRICT_CONFIG = {
    "aspects": STRICT_ASPECTS,
    "label_aliases": {"n/a": "none", "xau": "negative", "Pos": "Positive"},
    "missing_values": ["?", "unknown"],
    "ignore_columns": ["id"],
    "max_text_chars": 40,
}
# any text a user may write: quotes, separators, line breaks, Vietnamese, emoji-free symbols
valid_texts = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",), blacklist_characters="\x00", max_codepoint=0x2FFF
    )
    | st.sampled_from(list(",;\"'\n\r\t #ăêệườ中")),
    min_size=1,
    max_size=25,
).filter(lambda t: t.strip())
codes = st.sampled_from([0, 0, 1, 2, 3, None])


def _spelled(draw: st.DrawFn, code: int | None) -> str:
    return draw(st.sampled_from(CELL_SPELLINGS[code]))


@st.composite
def wide_tables(draw: st.DrawFn) -> dict:
    """A valid wide CSV (bytes) with the texts, labels, mask and rows it must load to."""
    columns = ["data", *STRICT_ASPECTS] + (["id"] if draw(st.booleans()) else [])
    order = draw(st.permutations(columns))
    # headers match ignoring case and surrounding spaces
    header = [
        draw(st.sampled_from([name, name.upper(), name.lower(), f" {name} "])) for name in order
    ]
    n = draw(st.integers(1, 6))
    texts = [draw(valid_texts) for _ in range(n)]
    labels = [[draw(codes) for _ in STRICT_ASPECTS] for _ in range(n)]
    records = []
    for text, row in zip(texts, labels, strict=True):
        cells = {"data": text, "id": draw(st.text(max_size=4).filter(lambda t: "\x00" not in t))}
        for aspect, code in zip(STRICT_ASPECTS, row, strict=True):
            cells[aspect] = _spelled(draw, code)
        records.append([cells[c] for c in order])
    blank_after = [draw(st.integers(0, 1)) for _ in range(n)]
    buffer = io.StringIO(newline="")
    # csv's minimal quoting quotes a field holding the line terminator's characters only,
    # so a bare "\r" with "\n" line ends would go unquoted: an ambiguous, invalid file
    terminator, quoting = draw(
        st.sampled_from(
            [("\r\n", csv.QUOTE_MINIMAL), ("\r\n", csv.QUOTE_ALL), ("\n", csv.QUOTE_ALL)]
        )
    )
    writer = csv.writer(buffer, lineterminator=terminator, quoting=quoting)
    writer.writerow(header)
    rows, row = [], 1
    for record, blanks in zip(records, blank_after, strict=True):
        writer.writerow(record)
        row += 1
        rows.append(row)
        for _ in range(blanks):  # a blank line is no review but counts as a row
            writer.writerow([])
            row += 1
    raw = buffer.getvalue().encode("utf-8-sig" if draw(st.booleans()) else "utf-8", "surrogatepass")
    return {
        "raw": raw,
        "order": order,
        "header": header,
        "records": records,
        "texts": texts,
        "labels": [[0 if c is None else c for c in r] for r in labels],
        "mask": [[c is not None for c in r] for r in labels],
        "rows": rows,
    }


@STRICT
@given(table=wide_tables())
def test_every_valid_wide_csv_loads(table: dict) -> None:
    reviews = _load_bytes(table["raw"], ".csv", DataConfig(**STRICT_CONFIG))
    assert reviews.texts == table["texts"]
    assert reviews.labels.tolist() == table["labels"]
    assert reviews.mask.tolist() == table["mask"]
    assert reviews.rows == table["rows"]
    assert reviews.aspects == tuple(STRICT_ASPECTS)


# defect -> (the cell value put in, fragments the error line must hold besides the place)
CELL_DEFECTS = {
    "unknown_label": ("Posititve", ["unknown label 'Posititve'", "Positive"]),
    "wrong_case": ("negative", ["wrong case", "data.label_aliases"]),
    "alias_case": ("pos", ["unknown label 'pos'"]),
}
TEXT_DEFECTS = {
    "empty_text": ("", ["the review text is empty"]),
    "whitespace_text": (" \t ", ["only whitespace"]),
    "long_text": ("x" * 41, ["more than data.max_text_chars = 40"]),
}


def _assert_names_place(message: str, place: str, fragments: list[str]) -> None:
    """One line that starts with ``place`` (a regular expression) and holds ``fragments``."""
    assert "\n" not in message
    assert re.match(place, message), (place, message)
    for fragment in fragments:
        assert fragment in message, (fragment, message)


@STRICT
@given(
    table=wide_tables(),
    defect=st.sampled_from([*CELL_DEFECTS, *TEXT_DEFECTS, "extra_field", "missing_field"]),
    data=st.data(),
)
def test_one_defect_in_a_wide_csv_is_named_by_file_row_and_column(
    table: dict, defect: str, data: st.DataObject
) -> None:
    k = data.draw(st.integers(0, len(table["records"]) - 1))
    records = [list(r) for r in table["records"]]
    order, header = table["order"], table["header"]
    if defect in CELL_DEFECTS:
        column = order.index(data.draw(st.sampled_from(STRICT_ASPECTS)))
        value, fragments = CELL_DEFECTS[defect]
    elif defect in TEXT_DEFECTS:
        column = order.index("data")
        value, fragments = TEXT_DEFECTS[defect]
    if defect in CELL_DEFECTS or defect in TEXT_DEFECTS:
        records[k][column] = value
        suffix = f", column {header[column].strip()!r}"
    elif defect == "extra_field":
        records[k].append("Positive")
        fragments, suffix = [f"{len(order) + 1} fields but the header has {len(order)}"], ""
    else:
        records[k].pop()
        fragments, suffix = [f"{len(order) - 1} fields but the header has {len(order)}"], ""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(records)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "input.csv"
        path.write_bytes(buffer.getvalue().encode("utf-8"))
        try:
            load_split(path, DataConfig(**STRICT_CONFIG))
        except DataError as exc:
            message = str(exc)
        else:
            raise AssertionError(f"{defect} in record {k} was accepted")
    # header = row 1, record k = row k + 2 (no blank lines here); a text spanning
    # lines adds "(line N)" after the row number
    place = rf"{re.escape(str(path))} row {k + 2}( \(line \d+\))?{re.escape(suffix)}: "
    _assert_names_place(message, place, fragments)


@st.composite
def label_lists(draw: st.DrawFn) -> dict:
    """Valid JSON lines of ``{"text", "labels"}`` with the reviews they must load to."""
    n = draw(st.integers(1, 6))
    lines, texts, labels, mask, rows = [], [], [], [], []
    for _ in range(n):
        for _ in range(draw(st.integers(0, 1))):
            lines.append(draw(st.sampled_from(["", "  ", "\t"])))  # blank lines are skipped
        text = draw(valid_texts)
        row_codes = [draw(codes) for _ in STRICT_ASPECTS]
        entries = []
        for aspect, code in zip(STRICT_ASPECTS, row_codes, strict=True):
            if code == 0:
                continue
            name = draw(st.sampled_from([aspect, aspect.lower(), f" {aspect.upper()}"]))
            polarity = _spelled(draw, code).strip() or "?"
            entries.append(f"{name}#{polarity}")
        entries = draw(st.permutations(entries))
        lines.append(
            json.dumps({"text": text, "labels": entries}, ensure_ascii=draw(st.booleans()))
        )
        texts.append(text)
        labels.append([0 if c is None else c for c in row_codes])
        mask.append([c is not None for c in row_codes])
        rows.append(len(lines))
    raw = "\n".join(lines).encode("utf-8")
    return {
        "raw": raw,
        "lines": lines,
        "texts": texts,
        "labels": labels,
        "mask": mask,
        "rows": rows,
    }


@STRICT
@given(table=label_lists())
def test_every_valid_label_list_loads(table: dict) -> None:
    reviews = _load_bytes(table["raw"], ".jsonl", DataConfig(**STRICT_CONFIG))
    assert reviews.texts == table["texts"]
    assert reviews.labels.tolist() == table["labels"]
    assert reviews.mask.tolist() == table["mask"]
    assert reviews.rows == table["rows"]


# defect -> (the JSON line put in, the key the error names or None, fragments)
LINE_DEFECTS = {
    "unknown_polarity": (
        {"text": "pin tốt", "labels": ["Battery#Posititve"]},
        "labels",
        ["label 'Battery#Posititve'", "unknown label 'Posititve'"],
    ),
    "unknown_aspect": (
        {"text": "pin tốt", "labels": ["Screen#Positive"]},
        "labels",
        ["unknown aspect 'Screen'"],
    ),
    "no_separator": ({"text": "pin tốt", "labels": ["Battery"]}, "labels", ["has no '#'"]),
    "labels_not_a_list": (
        {"text": "pin tốt", "labels": "Battery#Positive"},
        "labels",
        ["expected a list of strings"],
    ),
    "empty_text": ({"text": "", "labels": []}, "text", ["the review text is empty"]),
    "text_not_a_string": ({"text": 5, "labels": []}, "text", ["must be a string"]),
    "missing_text": ({"labels": []}, None, ["missing key 'text'"]),
    "missing_labels": ({"text": "pin tốt"}, None, ["missing key 'labels'"]),
    "conflict": (
        {"text": "pin tốt", "labels": ["Battery#Positive", "battery#Negative"]},
        "labels",
        ["two polarities"],
    ),
    "not_an_object": (["pin tốt"], None, ["expected a JSON object"]),
    "not_json": ('{"text": "pin tốt", "labels": [}', None, ["not valid JSON"]),
}


@STRICT
@given(table=label_lists(), defect=st.sampled_from(sorted(LINE_DEFECTS)), data=st.data())
def test_one_defect_in_a_label_list_is_named_by_file_line_and_key(
    table: dict, defect: str, data: st.DataObject
) -> None:
    record, key, fragments = LINE_DEFECTS[defect]
    lines = list(table["lines"])
    at = data.draw(st.integers(0, len(lines)))
    lines.insert(at, record if isinstance(record, str) else json.dumps(record, ensure_ascii=False))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "input.jsonl"
        path.write_bytes("\n".join(lines).encode("utf-8"))
        try:
            load_split(path, DataConfig(**STRICT_CONFIG))
        except DataError as exc:
            message = str(exc)
        else:
            raise AssertionError(f"{defect} at line {at + 1} was accepted")
    place = re.escape(f"{path} line {at + 1}" + (f", key {key!r}" if key else "")) + "[:,]"
    _assert_names_place(message, place, fragments)

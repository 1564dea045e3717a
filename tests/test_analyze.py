"""acsa analyze: planted label errors found, clean copies, Label Studio round trip, CLI."""

from __future__ import annotations

import csv
import hashlib
import json
import random
from pathlib import Path

import numpy as np
import pytest

from acsa.analysis.clean import write_clean_copy
from acsa.analysis.crossfit import fold_of_reviews
from acsa.analysis.run import analyze
from acsa.cli import main
from acsa.data import DataConfig, load_split
from acsa.errors import ConfigError, DataError
from acsa.models.tfidf import TfidfModelConfig

ASPECTS = ("Battery", "Camera")
PHRASES = {
    "Battery": {
        1: ["pin yếu quá", "pin tụt nhanh", "pin kém"],
        3: ["pin trâu", "pin rất tốt", "pin dùng lâu"],
    },
    "Camera": {
        1: ["camera mờ", "chụp ảnh xấu", "camera kém"],
        3: ["camera đẹp", "chụp ảnh nét", "camera rất tốt"],
    },
}
FILLER = ["máy ổn", "giao hàng nhanh", "shop nhiệt tình", "đóng gói cẩn thận", "giá hợp lý", ""]
NAMES = {0: "", 1: "Negative", 3: "Positive"}


def synthetic(n: int = 240, seed: int = 0, planted: int = 12):
    """Reviews whose labels follow their phrases, with ``planted`` mentioned cells flipped."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        row, parts = [], []
        for aspect in ASPECTS:
            code = rng.choice([0, 0, 1, 3])
            row.append(code)
            if code:
                parts.append(rng.choice(PHRASES[aspect][code]))
        parts.append(rng.choice(FILLER))
        rng.shuffle(parts)
        texts.append(f"{', '.join(p for p in parts if p)} (đơn {i})")
        labels.append(row)
    truth = np.array(labels)
    noisy = truth.copy()
    mentioned = np.argwhere(truth > 0)
    picks = mentioned[rng.sample(range(len(mentioned)), planted)]
    for r, a in picks:
        noisy[r, a] = 4 - noisy[r, a]  # negative <-> positive
    return texts, truth, noisy, {(int(r), int(a)) for r, a in picks}


def write_wide(path: Path, texts, labels, bom: bool = True) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["data", *ASPECTS])
        for text, row in zip(texts, labels, strict=True):
            out.writerow([text, *(NAMES[int(c)] for c in row)])
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("analyze")
    texts, truth, noisy, picks = synthetic()
    train = write_wide(folder / "train.csv", texts, noisy)
    write_wide(folder / "test.csv", texts[:20], truth[:20])
    data = DataConfig(train=train, test=folder / "test.csv")
    before = sha(train)
    result = analyze(
        data,
        TfidfModelConfig(min_df=1, char_ngram_max=0, C=8.0),
        folds=4,
        out_dir=folder / "out",
        write_clean=folder / "clean",
        policy="relabel",
    )
    return folder, result, truth, picks, before


def test_planted_errors_are_found(planted) -> None:
    _, result, _, picks, _ = planted
    flagged = {(int(r), int(a)) for r, a in np.argwhere(result.analysis.issues.flagged)}
    found = flagged & picks
    assert len(found) >= 0.75 * len(picks), (len(found), len(picks))
    assert len(found) >= 0.6 * len(flagged), (len(found), len(flagged))
    # the planted cells rank among the lowest label-quality scores
    score = result.analysis.issues.score
    planted_scores = [score[r, a] for r, a in picks]
    assert np.median(planted_scores) < np.nanmedian(score)


def test_strict_rule_keeps_planted_errors_and_drops_ambiguous_false_alarms() -> None:
    """60 extra reviews say only "pin tạm được" (battery so-so), labelled negative or
    positive by a coin toss: no label is wrong, yet the model cannot be sure of any.
    cleanlab's default rule flags many of them; the strict rule's margin drops them
    and keeps the planted negative<->positive flips of clear phrases."""
    from acsa.analysis.crossfit import out_of_fold_proba
    from acsa.analysis.issues import find_cell_issues
    from acsa.data.reviews import LabeledReviews

    texts, _, noisy, picks = synthetic()
    rng = random.Random(1)
    ambiguous = set()
    rows = [list(r) for r in noisy]
    for _ in range(60):
        texts.append(f"pin tạm được, {rng.choice(FILLER)} (đơn {len(rows)})")
        ambiguous.add((len(rows), 0))
        rows.append([rng.choice([1, 3]), 0])
    labels = np.array(rows)
    reviews = LabeledReviews(
        texts=texts,
        labels=labels,
        mask=np.ones_like(labels, dtype=bool),
        source=Path("synthetic.csv"),
        rows=list(range(2, len(texts) + 2)),
        aspects=ASPECTS,
    )
    probs = out_of_fold_proba(reviews, 4, config=TfidfModelConfig(min_df=1, char_ngram_max=0))
    found = {}
    for rule in ("strict", "cleanlab"):
        flagged = find_cell_issues(reviews, probs, rule=rule).flagged
        found[rule] = {(int(r), int(a)) for r, a in np.argwhere(flagged)}
    strict, default = found["strict"], found["cleanlab"]
    assert len(strict & picks) >= 10, (len(strict & picks), len(picks))
    assert len(strict & picks) >= len(default & picks) - 1
    assert len(default & ambiguous) >= 8, len(default & ambiguous)
    assert len(strict & ambiguous) <= len(default & ambiguous) // 2, (
        len(strict & ambiguous),
        len(default & ambiguous),
    )
    assert strict <= default  # the strict rule only drops flags
    with pytest.raises(ConfigError, match="rule='loose': unknown"):
        find_cell_issues(reviews, probs, rule="loose")


def test_report_files_and_issue_table(planted) -> None:
    folder, result, _, picks, _ = planted
    out = folder / "out"
    for name in (
        "label_issues.csv",
        "noise_by_aspect.csv",
        "hardest_reviews.csv",
        "conflicting_duplicates.csv",
        "report.md",
        "noise.png",
        "summary.json",
    ):
        assert (out / name).is_file(), name
    with (out / "label_issues.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == int(result.analysis.issues.flagged.sum())
    assert list(rows[0]) == ["row", "aspect", "text", "given", "suggested", "score"]
    scores = [float(r["score"]) for r in rows]
    assert scores == sorted(scores)
    # a planted negative<->positive flip is suggested back to its true polarity
    reviews = result.analysis.reviews
    by_cell = {(int(r["row"]), r["aspect"]): r for r in rows}
    fixed = [
        by_cell[(reviews.rows[n], ASPECTS[a])]
        for n, a in picks
        if (reviews.rows[n], ASPECTS[a]) in by_cell
    ]
    assert fixed and all(r["given"] != r["suggested"] for r in fixed)
    assert sum(r["suggested"] in ("negative", "positive") for r in fixed) >= 0.8 * len(fixed)
    assert (out / "noise.png").read_bytes()[:4] == b"\x89PNG"
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["flagged_cells"] == len(rows)


def test_clean_copy_relabels_and_never_touches_the_original(planted) -> None:
    folder, result, truth, picks, before = planted
    assert sha(folder / "train.csv") == before
    clean = load_split(result.clean_file, DataConfig())
    original = load_split(folder / "train.csv", DataConfig())
    assert result.clean_file.read_bytes().startswith(b"\xef\xbb\xbf")  # the BOM kept
    flagged = result.analysis.issues.flagged
    assert (clean.labels[~flagged] == original.labels[~flagged]).all()
    assert (clean.labels[flagged] == result.analysis.issues.suggested[flagged]).all()
    # fewer wrong cells than before
    assert (clean.labels != truth).sum() < (original.labels != truth).sum()
    assert (folder / "clean" / "test.csv").read_bytes() == (folder / "test.csv").read_bytes()


def test_drop_and_mask_policies(planted, tmp_path) -> None:
    folder, result, _, _, before = planted
    reviews, issues = result.analysis.reviews, result.analysis.issues
    path = write_clean_copy(
        reviews, issues.flagged, issues.suggested, "drop", DataConfig(), tmp_path / "d"
    )
    dropped = load_split(path, DataConfig())
    assert len(dropped) == len(reviews) - int(issues.flagged.any(1).sum())
    with pytest.raises(ConfigError, match="missing_values"):
        write_clean_copy(
            reviews, issues.flagged, issues.suggested, "mask", DataConfig(), tmp_path / "m"
        )
    config = DataConfig(missing_values=["?"])
    path = write_clean_copy(
        reviews, issues.flagged, issues.suggested, "mask", config, tmp_path / "m"
    )
    masked = load_split(path, config)
    assert (~masked.mask == issues.flagged).all()
    with pytest.raises(ConfigError, match="never modified"):
        write_clean_copy(reviews, issues.flagged, issues.suggested, "relabel", DataConfig(), folder)
    assert sha(folder / "train.csv") == before


def test_label_column_and_label_list_clean_copies(tmp_path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        'Content,Rating,Polarity\n"pin tốt, camera xấu",4,"Battery: Positive, Camera: Negative"\n'
        "camera đẹp,5,Camera: Positive\n",
        encoding="utf-8",
    )
    config = DataConfig(
        format="label_column", text_column="Content", label_column="Polarity", aspect_separator=":"
    )
    reviews = load_split(src, config)
    assert reviews.aspects == ("Battery", "Camera")
    flagged = np.array([[False, True], [True, False]])
    suggested = np.array([[0, 0], [1, 0]])
    out = write_clean_copy(reviews, flagged, suggested, "relabel", config, tmp_path / "c")
    assert out.read_text(encoding="utf-8").splitlines()[1:] == [
        '"pin tốt, camera xấu",4,Battery: Positive',
        'camera đẹp,5,"Camera: Positive, Battery: Negative"',
    ]
    jl = tmp_path / "in.jsonl"
    jl.write_text(
        '{"text": "pin tốt", "labels": ["Battery#Positive"], "id": 1}\n'
        '{"text": "camera đẹp", "labels": ["Camera#Positive"], "id": 2}\n',
        encoding="utf-8",
    )
    reviews = load_split(jl, DataConfig())
    out = write_clean_copy(reviews, flagged, suggested, "relabel", DataConfig(), tmp_path / "j")
    lines = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert lines == [
        {"text": "pin tốt", "labels": ["Battery#Positive"], "id": 1},
        {"text": "camera đẹp", "labels": ["Camera#Positive", "Battery#Negative"], "id": 2},
    ]
    assert load_split(out, DataConfig()).labels.tolist() == [[3, 0], [1, 3]]


def test_folds_keep_copies_together() -> None:
    texts = ["a", "b", "a ", "c", "d", "b", "e", "f"]
    fold = fold_of_reviews(texts, 3, seed=1)
    assert fold[0] == fold[2] and fold[1] == fold[5]
    assert set(fold.tolist()) == {0, 1, 2}
    with pytest.raises(ConfigError, match="^folds=1: needs at least 2 folds"):
        fold_of_reviews(texts, 1, seed=0)


# --------------------------------------------------------------------------- Label Studio


def _annotate(tasks: list[dict], fix: dict[int, dict[str, str]]) -> list[dict]:
    """What Label Studio's JSON export holds after a reviewer changed some choices."""
    exported = []
    for i, task in enumerate(tasks, start=1):
        result = json.loads(json.dumps(task["annotations"][0]["result"]))
        for r in result:
            if r["from_name"] in fix.get(i, {}):
                r["value"]["choices"] = [fix[i][r["from_name"]]]
        exported.append(
            {
                "id": 100 + i,
                "data": task["data"],
                "annotations": [
                    {
                        "id": 1,
                        "was_cancelled": True,
                        "result": [],
                        "updated_at": "2026-12-07T10:00:00Z",
                    },
                    {
                        "id": 2,
                        "was_cancelled": False,
                        "result": result,
                        "updated_at": "2026-12-07T11:00:00Z",
                    },
                ],
                "predictions": task.get("predictions", []),
            }
        )
    return exported


def test_label_studio_round_trip(planted, tmp_path) -> None:
    folder, result, _, _, _ = planted
    tasks_path, xml_path = result.label_studio
    tasks = json.loads(tasks_path.read_text(encoding="utf-8"))
    reviews, issues = result.analysis.reviews, result.analysis.issues
    assert len(tasks) == len(reviews)
    n_flagged = int(issues.flagged.any(1).sum())
    assert all(t["data"]["acsa_flagged"] for t in tasks[:n_flagged])
    assert not any(t["data"]["acsa_flagged"] for t in tasks[n_flagged:])
    assert all("predictions" in t for t in tasks[:n_flagged])
    first = tasks[0]
    n = reviews.rows.index(first["data"]["acsa_row"])
    a = int(np.flatnonzero(issues.flagged[n])[0])
    predicted = {
        r["from_name"]: r["value"]["choices"][0] for r in first["predictions"][0]["result"]
    }
    expected = {0: "Not mentioned", 1: "Negative", 2: "Neutral", 3: "Positive"}
    assert predicted[ASPECTS[a]] == expected[int(issues.suggested[n, a])]
    xml = xml_path.read_text(encoding="utf-8")
    assert xml.count("<Choices ") == len(ASPECTS) and 'name="Battery"' in xml
    assert 'toName="text"' in xml and '<Choice value="Not mentioned"/>' in xml

    # a reviewer accepts the first task's suggestion; the export reads back as the data set
    export = tmp_path / "export.json"
    accepted = {1: {ASPECTS[a]: predicted[ASPECTS[a]]}}
    export.write_text(json.dumps(_annotate(tasks, accepted), ensure_ascii=False), encoding="utf-8")
    config = DataConfig(format="label_studio")
    back = load_split(export, config)
    assert back.aspects == ASPECTS
    order = [reviews.rows.index(t["data"]["acsa_row"]) for t in tasks]
    expected_labels = reviews.labels[order].copy()
    expected_labels[0, a] = issues.suggested[n, a]
    assert back.texts == [reviews.texts[i] for i in order]
    assert (back.labels == expected_labels).all() and back.mask.all()

    # and trains with a CSV test split beside it (format applies to the .json export only)
    data = DataConfig(format="label_studio", train=export, test=folder / "test.csv")
    from acsa.data import load_and_validate

    splits, _ = load_and_validate(data, tmp_path)
    assert len(splits["test"]) == 20 and splits["train"].aspects == ASPECTS


def _task(choices: dict[str, str], text: str = "pin tốt") -> dict:
    return {
        "id": 9,
        "data": {"text": text},
        "annotations": [
            {
                "result": [
                    {
                        "from_name": k,
                        "to_name": "text",
                        "type": "choices",
                        "value": {"choices": [v]},
                    }
                    for k, v in choices.items()
                ]
            }
        ],
    }


@pytest.mark.parametrize(
    ("tasks", "message"),
    [
        ({"data": {}}, "expected a JSON array of tasks"),
        ([{"annotations": []}], r"task 1: missing field 'data'"),
        (
            [{"id": 3, "data": {"review": "x"}, "annotations": []}],
            r"task 1 \(id 3\): missing field data.text",
        ),
        ([{"data": {"text": "x"}}], "missing field 'annotations'"),
        (
            [{"data": {"text": "x"}, "annotations": [{"was_cancelled": True, "result": []}]}],
            "no annotation",
        ),
        (
            [_task({"Battery": "Positive"}), _task({"Battery": "Great"})],
            r"task 2 \(id 9\), aspect 'Battery': unknown choice 'Great'",
        ),
        ([_task({"Battery": "Postive"})], r"label_aliases, e.g. \{Postive: Positive\}"),
        ([_task({"Screen": "Positive"})], r"unknown aspect control 'Screen'"),
        ([_task({"Battery": "Positive"}, text=" ")], "only whitespace"),
    ],
)
def test_bad_label_studio_exports_give_one_line_errors(tmp_path, tasks, message) -> None:
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    config = DataConfig(format="label_studio", aspects=["Battery", "Camera"])
    with pytest.raises(DataError, match=message) as info:
        load_split(path, config)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_label_studio_missing_choice_is_not_mentioned_and_unknown_is_masked(tmp_path) -> None:
    path = tmp_path / "export.json"
    path.write_text(
        json.dumps([_task({"Camera": "Unknown"}), _task({"battery": "Negative"}, "pin kém")]),
        encoding="utf-8",
    )
    back = load_split(path, DataConfig(format="label_studio"))
    assert back.aspects == ("battery", "Camera")
    assert back.labels.tolist() == [[0, 0], [1, 0]]
    assert back.mask.tolist() == [[True, False], [True, True]]
    broken = tmp_path / "broken.json"
    broken.write_text("[{", encoding="utf-8")
    with pytest.raises(DataError, match="line 1: not valid JSON"):
        load_split(broken, DataConfig(format="label_studio"))


# --------------------------------------------------------------------------- CLI


def _config(folder: Path, extra: str = "") -> Path:
    path = folder / "config.yaml"
    path.write_text(
        f"data:\n  train: train.csv\n  test: test.csv\n{extra}"
        "model:\n  encoder: tfidf\n  min_df: 1\n  char_ngram_max: 0\n  C: 1.0\n",
        encoding="utf-8",
    )
    return path


def test_cli_exit_codes(planted, tmp_path, capsys) -> None:
    folder = planted[0]
    config = _config(folder)
    before = sha(folder / "train.csv")
    with pytest.raises(SystemExit) as info:
        main(["analyze", str(config), "--encoder", "offline", "-o", str(tmp_path / "x")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --encoder offline: unknown; use --encoder tfidf")
    assert err.count("\n") == 1
    with pytest.raises(SystemExit) as info:
        main(["analyze", str(config), "--rule", "loose", "-o", str(tmp_path / "x")])
    assert info.value.code == 2
    assert capsys.readouterr().err == "error: --rule loose: unknown; use one of strict, cleanlab\n"
    with pytest.raises(SystemExit) as info:
        main(["analyze", str(config), "--split", "validation", "-o", str(tmp_path / "x")])
    assert info.value.code == 2 and "data.validation: not set" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["analyze", str(config), "--write-clean", str(folder), "-o", str(tmp_path / "x")])
    assert info.value.code == 2 and "never modified" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["analyze", str(config), "--write-clean", str(tmp_path / "c"), "--policy", "mask"])
    assert info.value.code == 2 and "missing_values" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
    with pytest.raises(SystemExit) as info:
        main(
            [
                "analyze",
                str(config),
                "--folds",
                "3",
                "-o",
                str(tmp_path / "ok"),
                "-j",
                "1",
                "--write-clean",
                str(tmp_path / "clean"),
                "--policy",
                "drop",
                "--top",
                "3",
            ]
        )
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "flagged cells in" in out and "clean copy:" in out
    assert (tmp_path / "ok" / "label_issues.csv").is_file()
    assert (tmp_path / "clean" / "train.csv").is_file()
    assert sha(folder / "train.csv") == before


def test_out_of_fold_proba_calls_a_fold_fitter_on_disjoint_parts() -> None:
    from acsa.analysis.crossfit import out_of_fold_proba
    from acsa.data.reviews import LabeledReviews

    texts = [f"review {i}" for i in range(30)] + ["review 0"]  # a copy of review 0
    labels = np.zeros((31, 1), dtype=np.int64)
    reviews = LabeledReviews(texts, labels, labels == 0, Path("x.csv"), list(range(31)), ("A",))
    seen: list[tuple[set, set]] = []

    def fit_predict(revs, train_idx, test_idx):
        seen.append((set(train_idx.tolist()), set(test_idx.tolist())))
        out = np.zeros((len(test_idx), 1, 4))
        out[:, 0, 0] = np.asarray(test_idx) / 100  # marks which review each row is
        return out

    probs = out_of_fold_proba(reviews, 3, fit_predict=fit_predict)
    assert len(seen) == 3
    assert all(not (train & test) for train, test in seen)
    assert set().union(*(test for _, test in seen)) == set(range(31))
    assert all({0, 30} <= test or not ({0, 30} & test) for _, test in seen)
    assert np.allclose(probs[:, 0, 0], np.arange(31) / 100)


@pytest.mark.slow
def test_encoder_config_cross_fits_the_configured_network(tmp_path, capsys) -> None:
    """Two folds of a tiny offline network (one training each) instead of TF-IDF."""
    import yaml

    from tests.test_training import TINY_OFFLINE, write_synthetic_data

    data = write_synthetic_data(tmp_path / "data", sizes=(80, 30, 10))
    before = sha(data / "train.csv")
    config = tmp_path / "tiny.yaml"
    raw = {
        "data": {"train": "train.csv", "validation": "validation.csv", "test": "test.csv"},
        "model": TINY_OFFLINE,
        "training": {
            "epochs": 2,
            "min_steps": 0,
            "batch_size": 16,
            "learning_rate": 0.01,
            "early_stopping_patience": 0,
            "progress_bar": False,
            "log_gradient_stats": False,
        },
    }
    config.write_text(yaml.safe_dump(raw), encoding="utf-8")
    out = tmp_path / "out"
    argv = ["analyze", str(config), "--data-dir", str(data), "--encoder", "config"]
    with pytest.raises(SystemExit) as info:
        main([*argv, "--folds", "2", "-o", str(out), "--top", "0"])
    assert info.value.code in (0, None), capsys.readouterr().err
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["encoder"] == "offline" and summary["reviews"] == 80
    assert summary["rule"] == "strict"
    assert (out / "label_issues.csv").is_file()
    assert sha(data / "train.csv") == before
    assert sorted(p.name for p in data.iterdir()) == ["test.csv", "train.csv", "validation.csv"]
    # the network cannot be cross-fitted on the validation file, which stops its training
    with pytest.raises(SystemExit) as info:
        main([*argv, "--split", "validation", "-o", str(tmp_path / "v")])
    assert info.value.code == 2
    assert "--encoder config with --split validation" in capsys.readouterr().err

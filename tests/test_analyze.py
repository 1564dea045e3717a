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
    "Battery": {1: ["pin yếu quá", "pin tụt nhanh", "pin kém"], 3: ["pin trâu", "pin rất tốt", "pin dùng lâu"]},
    "Camera": {1: ["camera mờ", "chụp ảnh xấu", "camera kém"], 3: ["camera đẹp", "chụp ảnh nét", "camera rất tốt"]},
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
        TfidfModelConfig(min_df=1),
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


def test_report_files_and_issue_table(planted) -> None:
    folder, result, _, picks, _ = planted
    out = folder / "out"
    for name in ("label_issues.csv", "noise_by_aspect.csv", "hardest_reviews.csv",
                 "conflicting_duplicates.csv", "report.md", "noise.png", "summary.json"):
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
    path = write_clean_copy(reviews, issues.flagged, issues.suggested, "drop", DataConfig(), tmp_path / "d")
    dropped = load_split(path, DataConfig())
    assert len(dropped) == len(reviews) - int(issues.flagged.any(1).sum())
    with pytest.raises(ConfigError, match="missing_values"):
        write_clean_copy(reviews, issues.flagged, issues.suggested, "mask", DataConfig(), tmp_path / "m")
    config = DataConfig(missing_values=["?"])
    path = write_clean_copy(reviews, issues.flagged, issues.suggested, "mask", config, tmp_path / "m")
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
    config = DataConfig(format="label_column", text_column="Content", label_column="Polarity",
                        aspect_separator=":")
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
    with pytest.raises(ConfigError, match="--folds"):
        fold_of_reviews(texts, 1, seed=0)

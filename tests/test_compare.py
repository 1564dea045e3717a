"""The comparison harness with a fake ``run_one``: reports, verdicts, resume, crashes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from acsa.compare import (
    DONE_FILE,
    ERROR_FILE,
    METRICS,
    RunRecord,
    Variant,
    compare,
    load_variants,
    read_predictions_csv,
)
from acsa.errors import ConfigError
from acsa.evaluation.significance import (
    BOOTSTRAP_METHOD,
    TTEST_METHOD,
    TWO_LEVEL_METHOD,
    VERDICT_BETTER,
    VERDICT_NONE,
    too_few_seeds,
)

ASPECTS = ["Battery", "Camera", "Price", "Shipping"]
N_TEST = 240


def _gold() -> np.ndarray:
    rng = np.random.default_rng(1234)
    return rng.choice(4, size=(N_TEST, len(ASPECTS)), p=[0.7, 0.1, 0.05, 0.15])


def fake_run(variant: Variant, seed: int, output_dir: Path) -> RunRecord:
    """Predictions that depend only on the loss options and the seed (picklable)."""
    if variant.loss.get("crash_seed") == seed:
        raise RuntimeError(f"simulated crash of {variant.name} seed {seed}\nsecond line")
    gold = _gold()
    error = float(variant.loss.get("error", 0.3))
    rng = np.random.default_rng([seed, int(variant.loss.get("stream", 0))])
    flip = rng.random(gold.shape) < error
    pred = np.where(flip, rng.integers(0, 4, gold.shape), gold)
    from acsa.evaluation.metrics import compute_metrics

    m = compute_metrics(gold, pred, ASPECTS)
    epochs = 3
    return RunRecord(
        variant=variant.name,
        seed=seed,
        output_dir=output_dir,
        metrics={
            k: m[k] for k in ("pair_f1", "aspect_f1", "sentiment_macro_f1", "seed_weighted_f1")
        },
        aspects=ASPECTS,
        gold=gold,
        pred=pred,
        mask=np.ones(gold.shape, dtype=bool),
        val_pair_f1=[m["pair_f1"] * (0.8 + 0.1 * e) for e in range(epochs)],
        train_time_s=1.0 + seed,
    )


class CountingRun:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def __call__(self, variant: Variant, seed: int, output_dir: Path) -> RunRecord:
        self.calls.append((variant.name, seed))
        return fake_run(variant, seed, output_dir)


def _variants_file(tmp_path: Path, variants: list[dict], **top: object) -> Path:
    path = tmp_path / "variants.yaml"
    path.write_text(yaml.safe_dump({**top, "variants": variants}), encoding="utf-8")
    return path


STANDARD = [
    {"name": "focal", "loss": {"type": "focal", "error": 0.3}},
    {"name": "focal_copy", "loss": {"type": "focal", "error": 0.3}},
    {"name": "better", "loss": {"type": "ghm", "error": 0.1, "stream": 1}},
]


def test_report_verdicts_and_files(tmp_path: Path) -> None:
    variants = _variants_file(tmp_path, STANDARD)
    runner = CountingRun()
    result = compare(
        None,
        variants,
        seeds=5,
        output_dir=tmp_path / "out",
        run_one=runner,
        n_boot=500,
        progress=lambda _: None,
    )
    assert len(runner.calls) == 15
    report = json.loads((tmp_path / "out" / "comparison.json").read_text(encoding="utf-8"))
    assert report["baseline"] == "focal"
    copy = report["vs_baseline"]["focal_copy"]["metrics"]["pair_f1"]
    assert copy["verdict"] == VERDICT_NONE
    assert copy["two_level"]["low"] <= 0.0 <= copy["two_level"]["high"]
    assert copy["mean_difference"] == 0.0
    better = report["vs_baseline"]["better"]["metrics"]
    for metric in METRICS:
        # every metric, the macro and weighted ones included, is judged by the two-level rule
        assert better[metric]["verdict"] == VERDICT_BETTER
        assert better[metric]["verdict_method"] == TWO_LEVEL_METHOD
        assert better[metric]["review_bootstrap"]["method"] == BOOTSTRAP_METHOD
        assert better[metric]["t_test"]["method"] == TTEST_METHOD
    assert set(report["per_aspect"]["better"]) == set(ASPECTS)
    stats = report["variants"]["better"]["metrics"]["pair_f1"]
    assert stats["n"] == 5 and stats["mean"] == pytest.approx(np.mean(stats["values"]))
    assert report["variants"]["focal"]["train_time_s"]["mean"] == pytest.approx(3.0)
    md = (tmp_path / "out" / "comparison.md").read_text(encoding="utf-8")
    assert "no detectable difference" in md and "better" in md and "Per aspect" in md
    for name in ("metrics_by_variant.png", "per_aspect_diff.png", "validation_curves.png"):
        assert (tmp_path / "out" / name).stat().st_size > 5_000
    assert result.failed == []
    assert (tmp_path / "out" / "runs" / "better" / "seed4" / DONE_FILE).is_file()


def test_resume_skips_finished_runs_and_reruns_changed_ones(tmp_path: Path) -> None:
    variants = _variants_file(tmp_path, STANDARD)
    first = CountingRun()
    r1 = compare(
        None,
        variants,
        seeds=2,
        output_dir=tmp_path / "o",
        run_one=first,
        n_boot=200,
        plots=False,
        progress=lambda _: None,
    )
    assert len(first.calls) == 6
    again = CountingRun()
    r2 = compare(
        None,
        variants,
        seeds=2,
        output_dir=tmp_path / "o",
        run_one=again,
        n_boot=200,
        plots=False,
        progress=lambda _: None,
    )
    assert again.calls == []
    assert all(r.status == "reused" for r in r2.records)
    assert r2.report["vs_baseline"] == r1.report["vs_baseline"]
    # a third seed runs only the new seed; a changed variant reruns only that variant
    changed = [
        dict(STANDARD[0]),
        dict(STANDARD[1]),
        {"name": "better", "loss": {"type": "ghm", "error": 0.15, "stream": 1}},
    ]
    variants = _variants_file(tmp_path, changed)
    third = CountingRun()
    compare(
        None,
        variants,
        seeds=3,
        output_dir=tmp_path / "o",
        run_one=third,
        n_boot=200,
        plots=False,
        progress=lambda _: None,
    )
    assert sorted(third.calls) == sorted(
        [("focal", 2), ("focal_copy", 2), ("better", 0), ("better", 1), ("better", 2)]
    )


def test_a_crashed_run_is_recorded_and_the_others_continue(tmp_path: Path) -> None:
    crashing = [
        dict(STANDARD[0]),
        {"name": "fragile", "loss": {"type": "ghm", "error": 0.2, "crash_seed": 1}},
    ]
    variants = _variants_file(tmp_path, crashing)
    runner = CountingRun()
    result = compare(
        None,
        variants,
        seeds=3,
        output_dir=tmp_path / "o",
        run_one=runner,
        n_boot=200,
        plots=True,
        progress=lambda _: None,
    )
    assert len(runner.calls) == 6
    assert [(r.variant, r.seed) for r in result.failed] == [("fragile", 1)]
    report = json.loads((tmp_path / "o" / "comparison.json").read_text(encoding="utf-8"))
    assert report["failed"] == [
        {
            "variant": "fragile",
            "seed": 1,
            "error": "RuntimeError: simulated crash of fragile seed 1",
        }
    ]
    assert report["vs_baseline"]["fragile"]["paired_seeds"] == [0, 2]
    assert report["variants"]["fragile"]["metrics"]["pair_f1"]["n"] == 2
    crashed_dir = tmp_path / "o" / "runs" / "fragile" / "seed1"
    assert "Traceback" in (crashed_dir / ERROR_FILE).read_text(encoding="utf-8")
    assert not (crashed_dir / DONE_FILE).exists()
    assert "Failed runs" in (tmp_path / "o" / "comparison.md").read_text(encoding="utf-8")
    # the next call retries only the crashed run
    fixed = _variants_file(tmp_path, crashing)
    retry = CountingRun()
    compare(
        None,
        fixed,
        seeds=3,
        output_dir=tmp_path / "o",
        run_one=retry,
        n_boot=200,
        plots=False,
        progress=lambda _: None,
    )
    assert retry.calls == [("fragile", 1)]


def test_parallel_jobs_with_spawned_workers(tmp_path: Path) -> None:
    variants = _variants_file(tmp_path, STANDARD[:2])
    result = compare(
        None,
        variants,
        seeds=2,
        output_dir=tmp_path / "o",
        run_one=fake_run,
        jobs=2,
        n_boot=200,
        plots=False,
        progress=lambda _: None,
    )
    assert len(result.records) == 4 and not result.failed
    # two seeds: the two-level rule gives no verdict
    assert result.report["vs_baseline"]["focal_copy"]["metrics"]["pair_f1"]["verdict"] == (
        too_few_seeds(2)
    )


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ({"variants": [{"name": "a", "loss": {"type": "ce"}}], "seedz": 3}, "unknown key 'seedz'"),
        ({"variants": [{"name": "a", "los": {"type": "ce"}}]}, r"variants\[0\]: unknown key 'los'"),
        ({"variants": [{"name": "a b", "loss": {"type": "ce"}}]}, "not a valid name"),
        ({"variants": [{"name": "a", "loss": {"type": "ce"}}] * 2}, "duplicate variant name"),
        ({"variants": [{"name": "a"}]}, r"variants\[0\].loss"),
        ({"variants": []}, "non-empty list"),
        ({"variants": [{"name": "a", "loss": {"type": "ce"}}], "baseline": "b"}, "baseline 'b'"),
        ({"variants": [{"name": "a", "loss": {"type": "ce"}}], "epochs": 0}, "epochs"),
    ],
)
def test_variants_file_errors_are_one_line(tmp_path: Path, content: dict, match: str) -> None:
    path = tmp_path / "v.yaml"
    path.write_text(yaml.safe_dump(content), encoding="utf-8")
    with pytest.raises(ConfigError, match=match) as info:
        load_variants(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_mapping_form_and_bad_arguments(tmp_path: Path) -> None:
    path = tmp_path / "v.yaml"
    path.write_text(
        "variants:\n  ce: {loss: {type: cross_entropy}}\n  focal: {loss: {type: focal}}\n",
        encoding="utf-8",
    )
    assert load_variants(path).names() == ["ce", "focal"]
    with pytest.raises(ConfigError, match="--baseline"):
        compare(None, path, seeds=1, baseline="ghm", output_dir=tmp_path, run_one=fake_run)
    with pytest.raises(ConfigError, match="--jobs"):
        compare(None, path, seeds=1, jobs=0, output_dir=tmp_path, run_one=fake_run)


def test_predictions_csv_round_trip(tmp_path: Path) -> None:
    from acsa.evaluation.report import write_predictions_csv

    gold = _gold()[:20]
    pred = np.roll(gold, 1, axis=0)
    mask = np.ones(gold.shape, dtype=bool)
    mask[3, 2] = False
    path = write_predictions_csv(
        tmp_path / "p.csv",
        [f'review {i}, "quoted"\nline' for i in range(20)],
        pred,
        ASPECTS,
        gold=gold,
        gold_mask=mask,
    )
    g, p, m = read_predictions_csv(path, ASPECTS)
    np.testing.assert_array_equal(p, pred)
    np.testing.assert_array_equal(m, mask)
    np.testing.assert_array_equal(g[mask], gold[mask])


def test_shared_overrides_are_validated_and_flattened(tmp_path: Path) -> None:
    path = tmp_path / "v.yaml"
    path.write_text(
        "overrides:\n  model: {hidden_size: 64}\n  training.batch_size: 64\n"
        "variants:\n  - {name: a, loss: {type: cross_entropy}}\n",
        encoding="utf-8",
    )
    assert load_variants(path).overrides == {"model.hidden_size": 64, "training.batch_size": 64}
    for bad in ("loss: {type: focal}", "training.seed: 3", "output: {dir: x}"):
        path.write_text(
            f"overrides: {{{bad}}}\nvariants:\n  - {{name: a, loss: {{type: cross_entropy}}}}\n",
            encoding="utf-8",
        )
        with pytest.raises(ConfigError, match="not allowed here"):
            load_variants(path)


def test_repeated_warnings_are_shown_once(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    import logging

    log = logging.getLogger("acsa.data.readers")

    def noisy(variant: Variant, seed: int, output_dir: Path) -> RunRecord:
        log.warning("train.csv: 14 texts occur more than once")
        return fake_run(variant, seed, output_dir)

    variants = _variants_file(tmp_path, STANDARD[:2])
    compare(
        None,
        variants,
        seeds=2,
        output_dir=tmp_path / "o",
        run_one=noisy,
        n_boot=100,
        plots=False,
        progress=lambda _: None,
    )
    assert capsys.readouterr().err.count("occur more than once") == 1


@pytest.mark.parametrize("name", ["compare_losses", "compare_ghm_long"])
def test_shipped_variants_files_validate(name: str) -> None:
    from acsa.compare import load_variants, validate_variants

    root = Path(__file__).resolve().parents[1]
    spec = load_variants(root / "configs" / f"{name}.yaml")
    assert spec.baseline in spec.names()
    validate_variants(
        root / "configs" / "quickstart.yaml", spec.variants, spec.epochs, None, spec.overrides
    )

"""Does ``acsa analyze`` find planted label noise, and does cleaning recover pair-F1?

A copy of the shared smartphone training split gets planted noise (fixed
seed): ``--rates`` of the mentioned cells flipped to another polarity or to
not-mentioned (uniformly among the three other classes), and 1% of the
not-mentioned cells given a random polarity. ``acsa analyze`` (the library
call behind the command: TF-IDF, 5 folds, cleanlab's default threshold) runs
on the noisy copy; precision and recall of its flagged cells are measured
against the planted ones (a cell counts as planted when its noisy label
differs from the original file's). Then the TF-IDF model is trained on the
original, the noisy and the cleaned (``--policy relabel``) training file and
scored on the unchanged test split (pair micro-F1, argmax). One JSON line per
measurement is appended to ``--results``::

    python benchmarks/label_noise.py --rates 0.05 0.10 --results label_noise.jsonl

The original split's own label noise is part of the "original" baseline: a
flagged cell that was not planted may still be a real error.
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PHONE = ROOT.parent / "shared" / "data" / "vi-smartphone-reviews"
NAMES = {0: "", 1: "Negative", 2: "Neutral", 3: "Positive"}


def plant_noise(labels: np.ndarray, rate: float, none_rate: float, seed: int) -> np.ndarray:
    """A copy of ``labels`` with ``rate`` of mentioned and ``none_rate`` of none cells changed."""
    rng = np.random.default_rng(seed)
    noisy = labels.copy()
    mentioned = np.argwhere(labels > 0)
    pick = mentioned[rng.choice(len(mentioned), round(rate * len(mentioned)), replace=False)]
    for r, a in pick:
        noisy[r, a] = rng.choice([c for c in range(4) if c != labels[r, a]])
    empty = np.argwhere(labels == 0)
    pick = empty[rng.choice(len(empty), round(none_rate * len(empty)), replace=False)]
    for r, a in pick:
        noisy[r, a] = rng.choice([1, 2, 3])
    return noisy


def write_wide(path: Path, texts: list[str], labels: np.ndarray, aspects: tuple[str, ...]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["data", *aspects])
        for text, row in zip(texts, labels, strict=True):
            out.writerow([text, *(NAMES[int(c)] for c in row)])
    return path


def pair_f1(train_path: Path, test, config) -> float:
    from acsa.data import load_split
    from acsa.evaluation.metrics import compute_metrics
    from acsa.models.tfidf import TfidfAspectModel

    train = load_split(train_path, config)
    model = TfidfAspectModel().fit_reviews(train)
    pred = model.predict(test.texts)
    return float(compute_metrics(test.labels, pred, test.aspects, test.mask)["pair_f1"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[0.05, 0.10])
    parser.add_argument("--none-rate", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="first N reviews (smoke runs)")
    parser.add_argument("--skip-original", action="store_true")
    parser.add_argument("--results", type=Path, default=Path("label_noise.jsonl"))
    args = parser.parse_args()

    from acsa.analysis.run import analyze
    from acsa.data import DataConfig, load_split
    from acsa.models.tfidf import TfidfModelConfig

    config = DataConfig(label_aliases={"Posititve": "Positive"}, duplicates="warn")
    original = load_split(PHONE / "train.csv", config)
    if args.limit:
        original = original.subset(range(args.limit))
    test = load_split(
        PHONE / "test.csv", config.model_copy(update={"aspects": list(original.aspects)})
    )

    def record(entry: dict) -> None:
        entry["date"] = time.strftime("%Y-%m-%d %H:%M:%S")
        print(json.dumps(entry), flush=True)
        with args.results.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")

    with tempfile.TemporaryDirectory(prefix="label_noise_") as tmp:
        work = Path(tmp)
        orig_path = write_wide(
            work / "original.csv", original.texts, original.labels, original.aspects
        )
        if not args.skip_original:
            record({"condition": "original", "pair_f1": pair_f1(orig_path, test, config)})
        for rate in args.rates:
            noisy = plant_noise(original.labels, rate, args.none_rate, args.seed)
            folder = work / f"noisy{rate}"
            folder.mkdir()
            noisy_path = write_wide(folder / "train.csv", original.texts, noisy, original.aspects)
            started = time.perf_counter()
            result = analyze(
                config.model_copy(update={"train": noisy_path}),
                TfidfModelConfig(),
                folds=args.folds,
                out_dir=folder / "analysis",
                jobs=args.jobs,
                write_clean=folder / "clean",
                policy="relabel",
                label_studio=False,
            )
            seconds = time.perf_counter() - started
            planted = noisy != original.labels
            flagged = result.analysis.issues.flagged
            hits = int((planted & flagged).sum())
            fixed = int(
                (planted & flagged & (result.analysis.issues.suggested == original.labels)).sum()
            )
            record(
                {
                    "condition": f"noise {rate:.0%}",
                    "planted": int(planted.sum()),
                    "flagged": int(flagged.sum()),
                    "true_positives": hits,
                    "precision": hits / max(int(flagged.sum()), 1),
                    "recall": hits / max(int(planted.sum()), 1),
                    "suggestion_restores_original": fixed,
                    "analyze_seconds": round(seconds, 1),
                }
            )
            record({"condition": f"noisy {rate:.0%}", "pair_f1": pair_f1(noisy_path, test, config)})
            record(
                {
                    "condition": f"cleaned {rate:.0%} (relabel)",
                    "pair_f1": pair_f1(result.clean_file, test, config),
                }
            )


if __name__ == "__main__":
    main()

"""Does ``acsa analyze`` find planted label noise, and does cleaning recover pair-F1?

A copy of a shared training split (``--data phone`` or ``cosmetics``, read with
its config in configs/) gets planted noise (fixed seed): ``--rates`` of the
mentioned cells flipped to another class (another polarity or not-mentioned,
uniformly among the three others), and ``--none-rate`` of the not-mentioned
cells given a random polarity. The noisy copy is written in the file's own
format (``acsa analyze``'s clean-copy writer, planted cells relabelled) with the
other splits beside it. The library call behind ``acsa analyze`` (TF-IDF, 5
folds) gives out-of-fold probabilities of the noisy copy; every ``--rules``
flags cells, and precision and recall against the planted cells are recorded,
overall and per kind of flag (given not-mentioned; a polarity suggested
not-mentioned; a polarity suggested another polarity). A flag on an unplanted
cell may be a real error of the original file: ``--sample`` of them per rate
are written to ``hand_check_<rate>.csv`` for reading.

Then the TF-IDF model is trained on the original, the noisy and the cleaned
copies (``--policies`` under the first rule) and scored on the unchanged test
split (pair micro-F1, argmax). The data folders stay in ``--copies`` so that
the quickstart network can be trained on them too::

    acsa train configs/quickstart.yaml --data-dir COPIES/noisy0.05 --output ...

One JSON line per measurement is appended to ``--results``::

    python benchmarks/label_noise.py --rates 0.05 0.10 --copies /tmp/noise
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = {
    "phone": ("quickstart.yaml", "vi-smartphone-reviews"),
    "cosmetics": ("cosmetics.yaml", "vi-cosmetics-reviews"),
}
UNKNOWN = "?"  # data.missing_values of the copies, for --policy mask
NAMES = ("none", "negative", "neutral", "positive")


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


def kinds(given: np.ndarray, suggested: np.ndarray) -> dict[str, np.ndarray]:
    """The three kinds of flag, as masks over cells."""
    return {
        "none->polarity": given == 0,
        "polarity->none": (given > 0) & (suggested == 0),
        "polarity->polarity": (given > 0) & (suggested > 0),
    }


def scores(flagged: np.ndarray, planted: np.ndarray, given, suggested) -> dict:
    hits = int((flagged & planted).sum())
    out = {
        "planted": int(planted.sum()),
        "flagged": int(flagged.sum()),
        "true_positives": hits,
        "precision": round(hits / max(int(flagged.sum()), 1), 4),
        "recall": round(hits / max(int(planted.sum()), 1), 4),
    }
    for name, sel in kinds(given, suggested).items():
        f = flagged & sel
        out[name] = {"flagged": int(f.sum()), "planted_and_flagged": int((f & planted).sum())}
    return out


def pair_f1(train, test) -> float:
    from acsa.evaluation.metrics import compute_metrics
    from acsa.models.tfidf import TfidfAspectModel

    model = TfidfAspectModel().fit_reviews(train)
    pred = model.predict(test.texts)
    return float(compute_metrics(test.labels, pred, test.aspects, test.mask)["pair_f1"])


def write_sample(path: Path, reviews, cells, given, suggested, probs) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["file_row", "aspect", "given", "suggested", "p_suggested", "text"])
        for n, a in cells:
            out.writerow(
                [
                    reviews.rows[n],
                    reviews.aspects[a],
                    NAMES[given[n, a]],
                    NAMES[suggested[n, a]],
                    f"{probs[n, a, suggested[n, a]]:.3f}",
                    " ".join(reviews.texts[n].split()),
                ]
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=sorted(DATA), default="phone")
    parser.add_argument("--rates", type=float, nargs="+", default=[0.05, 0.10])
    parser.add_argument("--none-rate", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rules", nargs="+", default=["strict", "cleanlab"])
    parser.add_argument("--policies", nargs="+", default=["mask", "relabel"])
    parser.add_argument("--sample", type=int, default=30, help="unplanted flags to hand-check")
    parser.add_argument("--cache", type=Path, default=None, help="folder for probabilities")
    parser.add_argument("--copies", type=Path, required=True, help="folder for the data copies")
    parser.add_argument("--skip-original", action="store_true")
    parser.add_argument("--results", type=Path, default=Path("label_noise.jsonl"))
    args = parser.parse_args()

    from acsa.analysis.clean import copy_other_splits, write_clean_copy
    from acsa.analysis.crossfit import out_of_fold_proba
    from acsa.analysis.issues import find_cell_issues
    from acsa.analysis.run import load_analysed_split
    from acsa.data import load_split
    from acsa.models.tfidf import TfidfModelConfig
    from acsa.training.config import load_config

    config_name, folder = DATA[args.data]
    data_dir = ROOT.parent / "shared" / "data" / folder
    overrides = {"data.dir": str(data_dir), "data.missing_values": [UNKNOWN]}
    cfg = load_config(ROOT / "configs" / config_name, overrides)
    original, resolved = load_analysed_split(cfg.data, "train", ROOT)
    test = load_split(resolved.test, resolved)
    splits = [resolved.train, resolved.validation, resolved.test]

    def record(entry: dict) -> None:
        entry = {"data": args.data, **entry, "date": time.strftime("%Y-%m-%d %H:%M:%S")}
        print(json.dumps(entry), flush=True)
        with args.results.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry) + "\n")

    def probabilities(name: str, reviews) -> np.ndarray:
        cached = args.cache / f"{args.data}_{name}_seed{args.seed}.npy" if args.cache else None
        if cached is not None and cached.exists():
            return np.load(cached)
        started = time.perf_counter()
        probs = out_of_fold_proba(
            reviews, args.folds, config=TfidfModelConfig(), seed=0, jobs=args.jobs
        )
        record({"condition": name, "out_of_fold_seconds": round(time.perf_counter() - started)})
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            np.save(cached, probs)
        return probs

    if not args.skip_original:
        record({"condition": "original", "tfidf_pair_f1": pair_f1(original, test)})
    for rate in args.rates:
        name = f"noisy{rate:g}"
        noisy_labels = plant_noise(original.labels, rate, args.none_rate, args.seed)
        planted = (noisy_labels != original.labels) & original.mask
        noisy_labels = np.where(planted, noisy_labels, original.labels)
        noisy_dir = args.copies / name
        shutil.rmtree(noisy_dir, ignore_errors=True)
        write_clean_copy(original, planted, noisy_labels, "relabel", resolved, noisy_dir)
        copy_other_splits(splits, original.source, noisy_dir)
        noisy_cfg = resolved.model_copy(update={"train": noisy_dir / original.source.name})
        noisy, _ = load_analysed_split(noisy_cfg, "train", ROOT)
        assert (noisy.labels == noisy_labels).all(), "the noisy copy does not read back"
        record({"condition": name, "tfidf_pair_f1": pair_f1(noisy, test)})
        probs = probabilities(name, noisy)
        for i, rule in enumerate(args.rules):
            issues = find_cell_issues(noisy, probs, rule=rule)
            given, suggested = noisy.labels, issues.suggested
            record(
                {"condition": name, "rule": rule}
                | scores(issues.flagged, planted, given, suggested)
            )
            if i:
                continue
            unplanted = np.argwhere(issues.flagged & ~planted)
            rng = np.random.default_rng(args.seed)
            pick = unplanted[rng.choice(len(unplanted), min(args.sample, len(unplanted)), False)]
            cells = sorted((int(n), int(a)) for n, a in pick)
            write_sample(
                args.copies / f"hand_check_{name}_{rule}.csv", noisy, cells, given, suggested, probs
            )
            for policy in args.policies:
                clean_dir = args.copies / f"{name}_{rule}_{policy}"
                shutil.rmtree(clean_dir, ignore_errors=True)
                write_clean_copy(noisy, issues.flagged, suggested, policy, noisy_cfg, clean_dir)
                copy_other_splits(splits, original.source, clean_dir)
                clean_cfg = resolved.model_copy(update={"train": clean_dir / original.source.name})
                clean, _ = load_analysed_split(clean_cfg, "train", ROOT)
                record(
                    {
                        "condition": f"{name} cleaned",
                        "rule": rule,
                        "policy": policy,
                        "reviews": len(clean),
                        "known_cells": int(clean.mask.sum()),
                        "tfidf_pair_f1": pair_f1(clean, test),
                    }
                )


if __name__ == "__main__":
    main()

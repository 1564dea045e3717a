"""Semi-supervised setting (issue 18, item 5): few labelled reviews plus many unlabelled ones.

The shared smartphone training split is cut into a labelled subsample (1,000 or
3,000 reviews; the same fixed subsample, ``random_state=0``, as
``benchmarks/generalization.py``) and the remaining reviews, whose labels are
dropped, as ``data.unlabeled`` (only the text column is written). Validation and
test are unchanged. Each run trains ``configs/quickstart.yaml`` through the real
``acsa.training.train`` with ``training.self_training.enabled: true``, so one run
gives both stages: the supervised model's test pair-F1 and the self-trained
one's (``metrics.json["self_training"]``), and which one the run kept::

    python benchmarks/semi_supervised.py --labelled 1000 --seeds 42

Every finished run is appended to ``--results`` (JSON lines); ``--report-only``
prints the table from it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
PHONE = ROOT.parent / "shared" / "data" / "vi-smartphone-reviews"
CONFIG = ROOT / "configs" / "quickstart.yaml"


def data_dir(work: Path, labelled: int) -> Path:
    """train.csv (``labelled`` reviews), unlabeled.csv (the rest, text only), validation, test."""
    folder = work / f"smartphone-{labelled}"
    if (folder / "unlabeled.csv").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.read_csv(PHONE / "train.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False)
    train = frame.sample(n=labelled, random_state=0)
    train.to_csv(folder / "train.csv", index=False, encoding="utf-8-sig")
    frame.drop(index=train.index)[["data"]].to_csv(
        folder / "unlabeled.csv", index=False, encoding="utf-8-sig"
    )
    for split in ("validation.csv", "test.csv"):
        (folder / split).write_bytes((PHONE / split).read_bytes())
    return folder


def run_one(labelled: int, seed: int, work: Path, overrides: dict[str, Any]) -> dict[str, Any]:
    from acsa.training import train
    from acsa.training.config import load_config

    folder = data_dir(work, labelled)
    out = work / "runs" / f"smartphone-{labelled}-seed{seed}"
    config = load_config(
        CONFIG,
        {
            "data.dir": str(folder),
            "data.unlabeled": str(folder / "unlabeled.csv"),
            "training.self_training": {"enabled": True},
            "output.dir": str(out),
            "output.overwrite": True,
            "training.seed": seed,
            **overrides,
        },
    )
    wall, cpu = time.perf_counter(), time.process_time()
    result = train(config, quiet=True, write_plots=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    st = result.metrics["test"]["self_training"]
    return {
        "labelled": labelled,
        "unlabelled": st["pseudo_labels"]["read"],
        "seed": seed,
        "overrides": overrides,
        "supervised_test": st["supervised"]["test_pair_f1"],
        "supervised_validation": st["supervised"]["validation_pair_f1"],
        "self_trained_test": (st.get("self_trained") or {}).get("test_pair_f1"),
        "self_trained_validation": (st.get("self_trained") or {}).get("validation_pair_f1"),
        "adopted": st["adopted"],
        "saved_test": result.metrics["test"]["pair_f1"],
        "pseudo_labels": st["pseudo_labels"],
        "second_train_s": st.get("train_seconds"),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "load": os.getloadavg()[0],
    }


def _mean_std(values: list[float]) -> str:
    if not values:
        return ""
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} +- {std:.4f}"


def render(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| labelled + unlabelled | seeds | supervised test pair-F1 | self-trained test pair-F1 "
        "| supervised val | self-trained val | kept (runs) | saved model test pair-F1 "
        "| CPU s per run | wall s per run |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for labelled in sorted({r["labelled"] for r in rows}):
        runs = [r for r in rows if r["labelled"] == labelled]
        kept = sum(bool(r["adopted"]) for r in runs)
        seeds = ", ".join(str(r["seed"]) for r in runs)
        st_test = [r["self_trained_test"] for r in runs if r["self_trained_test"]]
        st_val = [r["self_trained_validation"] for r in runs if r["self_trained_validation"]]
        lines.append(
            f"| {labelled:,} + {runs[0]['unlabelled']:,} | {seeds} "
            f"| {_mean_std([r['supervised_test'] for r in runs])} "
            f"| {_mean_std(st_test)} "
            f"| {_mean_std([r['supervised_validation'] for r in runs])} "
            f"| {_mean_std(st_val)} "
            f"| self-trained {kept} of {len(runs)} "
            f"| {_mean_std([r['saved_test'] for r in runs])} "
            f"| {min(r['cpu_s'] for r in runs):.0f}-{max(r['cpu_s'] for r in runs):.0f} "
            f"| {min(r['wall_s'] for r in runs):.0f}-{max(r['wall_s'] for r in runs):.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--labelled", nargs="+", type=int, default=[1000])
    parser.add_argument("--seeds", nargs="+", type=int, default=[42])
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--results", type=Path, default=ROOT / "runs" / "semi_supervised.jsonl")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    overrides: dict[str, Any] = {}
    for item in args.sets:
        key, _, value = item.partition("=")
        overrides[key] = yaml.safe_load(value)
    work = args.work or Path(tempfile.mkdtemp(prefix="acsa-semi-"))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        for labelled in args.labelled:
            for seed in args.seeds:
                row = run_one(labelled, seed, work, overrides)
                print(json.dumps(row), flush=True)
                with args.results.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(row) + "\n")
    rows = [
        json.loads(line)
        for line in args.results.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    print(render(rows))


if __name__ == "__main__":
    main()

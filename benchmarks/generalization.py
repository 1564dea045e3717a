"""Does the default hold beyond one data set? The quickstart default against the TF-IDF baseline.

For each data set of the benchmark (the shared smartphone reviews in full and
as training subsamples of 1,000 and 3,000 reviews with validation and test
unchanged, and the shared cosmetics reviews) and each seed, this trains the
ready config (``configs/quickstart.yaml``; ``configs/cosmetics.yaml`` for the
cosmetics labels) through the real ``acsa.training.train`` and reads the TF-IDF
baseline fitted beside it on the same splits (``metrics.json["baseline"]``).
Every run fits the baseline, as ``acsa train`` does: the saved default is the
blend of the network and the baseline when the blend's guard keeps it, so a
run without the baseline would measure the network alone, not the default. It
prints pair micro-F1 mean and std over seeds (the saved default and the
network alone), aspect-detection F1 and wall time per run::

    python benchmarks/generalization.py --seeds 0 1 2 --write-docs

``--set KEY=VALUE`` applies config overrides (YAML values, dotted keys) to
every run, for trying a change on all data sets at once; ``--datasets`` picks a
subset. Every finished run is appended to ``--results`` (JSON lines), so an
interrupted benchmark keeps what it measured and ``--report-only`` renders it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
PHONE = SHARED / "vi-smartphone-reviews"
COSMETICS = SHARED / "vi-cosmetics-reviews"
DOCS = ROOT / "docs" / "BENCHMARKS.md"
MARK = "generalization"


@dataclass(frozen=True)
class DataSet:
    name: str
    config: Path
    source: Path
    train_size: int | None = None  # a training subsample of this many reviews

    def data_dir(self, work: Path) -> Path:
        """The data folder: the shared one, or a copy whose train.csv is subsampled."""
        if self.train_size is None:
            return self.source
        folder = work / self.name
        if not (folder / "train.csv").exists():
            folder.mkdir(parents=True, exist_ok=True)
            frame = pd.read_csv(
                self.source / "train.csv", encoding="utf-8-sig", dtype=str, keep_default_na=False
            )
            # one fixed subsample (seed 0) per size, the same for every model seed
            frame.sample(n=self.train_size, random_state=0).to_csv(
                folder / "train.csv", index=False, encoding="utf-8-sig"
            )
            for split in ("validation.csv", "test.csv"):
                (folder / split).write_bytes((self.source / split).read_bytes())
        return folder


DATASETS = {
    d.name: d
    for d in (
        DataSet("smartphone-1k", ROOT / "configs" / "quickstart.yaml", PHONE, 1000),
        DataSet("smartphone-3k", ROOT / "configs" / "quickstart.yaml", PHONE, 3000),
        DataSet("smartphone", ROOT / "configs" / "quickstart.yaml", PHONE),
        DataSet("cosmetics", ROOT / "configs" / "cosmetics.yaml", COSMETICS),
    )
}


def parse_sets(items: list[str]) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set {item!r}: expected KEY=VALUE")
        overrides[key] = yaml.safe_load(value)
    return overrides


def run_one(
    dataset: DataSet, seed: int, work: Path, overrides: dict[str, Any], baseline: bool
) -> dict[str, Any]:
    from acsa.training import train
    from acsa.training.config import load_config

    out = work / "runs" / f"{dataset.name}-seed{seed}"
    config = load_config(
        dataset.config,
        {
            "data.dir": str(dataset.data_dir(work)),
            "output.dir": str(out),
            "output.overwrite": True,
            "training.seed": seed,
            "training.baseline": baseline,
            **overrides,
        },
    )
    wall, cpu = time.perf_counter(), time.process_time()
    result = train(config, quiet=True, write_plots=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    test = result.metrics["test"]
    row: dict[str, Any] = {
        "dataset": dataset.name,
        "seed": seed,
        "overrides": overrides,
        "pair_f1": test["pair_f1"],
        "aspect_f1": test["aspect_f1"],
        "argmax_pair_f1": (test.get("argmax") or {}).get("pair_f1", test["pair_f1"]),
        "train_reviews": len(pd.read_csv(config.data.train, dtype=str, keep_default_na=False))
        if config.data.train is not None and config.data.format != "label_list"
        else None,
        "steps": result.global_step,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "load": os.getloadavg()[0],
    }
    network = (test.get("network") or {}).get("test")
    if network:  # the network alone, beside the saved default (the blend when kept)
        row["network_pair_f1"] = network["pair_f1"]
        row["blend_kept"] = bool((test.get("blend") or {}).get("adopted"))
    base = (test.get("baseline") or {}).get("test")
    if base:
        row["baseline_pair_f1"] = base["pair_f1"]
        row["baseline_aspect_f1"] = base["aspect_f1"]
        row["baseline_fit_s"] = test["baseline"].get("fit_seconds")
    return row


def _mean_std(values: list[float]) -> str:
    if not values:
        return ""
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} +- {std:.4f}"


def render(rows: list[dict[str, Any]], overrides: dict[str, Any]) -> str:
    """Markdown table of the runs made with ``overrides``, one line per data set."""
    key = json.dumps(overrides, sort_keys=True)
    mine = [r for r in rows if json.dumps(r.get("overrides", {}), sort_keys=True) == key]
    lines = [
        "| data set | train reviews | seeds | default pair-F1 | default aspect-F1 "
        "| TF-IDF pair-F1 | TF-IDF aspect-F1 | difference (points) "
        "| network alone pair-F1 | blend kept | seeds below TF-IDF "
        "| CPU s per run | wall s per run |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in DATASETS:
        runs = [r for r in mine if r["dataset"] == name]
        if not runs:
            continue
        pairs = [r["pair_f1"] for r in runs]
        # the baseline is deterministic: any run on this data set that fitted it will do
        base = next((r for r in rows if r["dataset"] == name and "baseline_pair_f1" in r), None)
        base_pair = f"{base['baseline_pair_f1']:.4f}" if base else ""
        base_aspect = f"{base['baseline_aspect_f1']:.4f}" if base else ""
        diff = (
            f"**{100 * (statistics.mean(pairs) - base['baseline_pair_f1']):+.1f}**" if base else ""
        )
        networks = [r["network_pair_f1"] for r in runs if "network_pair_f1" in r]
        kept = sum(bool(r.get("blend_kept")) for r in runs)
        below = sum(p < base["baseline_pair_f1"] for p in pairs) if base else ""
        cpu = [r["cpu_s"] for r in runs]
        wall = [r["wall_s"] for r in runs]
        lines.append(
            f"| {name} | {runs[0].get('train_reviews') or ''} | {len(runs)} "
            f"| {_mean_std(pairs)} | {_mean_std([r['aspect_f1'] for r in runs])} "
            f"| {base_pair} | {base_aspect} | {diff} "
            f"| {_mean_std(networks)} | {kept} of {len(runs)} | {below} "
            f"| {min(cpu):.0f}-{max(cpu):.0f} | {min(wall):.0f}-{max(wall):.0f} |"
        )
    return "\n".join(lines)


def write_docs(table: str, command: str, load: str) -> None:
    text = DOCS.read_text(encoding="utf-8")
    begin, end = f"<!-- {MARK}:begin -->", f"<!-- {MARK}:end -->"
    body = f"{begin}\n\nCommand: `{command}` ({load}).\n\n{table}\n{end}"
    if begin in text:
        head, rest = text.split(begin, 1)
        text = head + body + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + body + "\n"
    DOCS.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--work", type=Path, default=None, help="folder for runs and subsamples")
    parser.add_argument("--results", type=Path, default=ROOT / "runs" / "generalization.jsonl")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="fit no TF-IDF baseline, so no blend: the network alone (the table takes the "
        "baseline from earlier rows of the results)",
    )
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    overrides = parse_sets(args.sets)
    work = args.work or Path(tempfile.mkdtemp(prefix="acsa-generalization-"))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())
    if not args.report_only:
        for name in args.datasets:
            for seed in args.seeds:
                row = run_one(DATASETS[name], seed, work, overrides, baseline=not args.no_baseline)
                print(json.dumps(row), flush=True)
                with args.results.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(row) + "\n")
    rows = [
        json.loads(line)
        for line in args.results.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    table = render(rows, overrides)
    print(table)
    if args.write_docs:
        load_after = " ".join(f"{x:.1f}" for x in os.getloadavg())
        command = "python benchmarks/generalization.py --seeds " + " ".join(map(str, args.seeds))
        write_docs(table, command, f"load average before {load_before}, after {load_after}")


if __name__ == "__main__":
    main()

"""Pre-training on unlabelled reviews (issue 18, item 2a): with and without, same code.

The semi-supervised cut of ``benchmarks/semi_supervised.py`` (smartphone: 1,000
labelled training reviews, the other 10,930 as ``data.unlabeled``, validation and
test unchanged); ``configs/quickstart.yaml`` trained per seed twice through the real
``acsa.training.train``: ``plain`` (no unlabelled data, no pre-training) and
``word2vec`` (``training.pretraining: {method: word2vec}`` on the training and
unlabelled texts). Self-training stays off in both::

    python benchmarks/pretraining.py --labelled 1000 --seeds 0 1 2

``--data-dir`` trains on another data set's own training texts instead (no unlabelled
file). Every finished run is appended to ``--results`` (JSON lines); ``--report-only``
prints the table from it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from semi_supervised import CONFIG, ROOT, data_dir  # noqa: E402

ARMS = ("plain", "word2vec")


def run_one(
    folder: Path, unlabeled: Path | None, config: Path, arm: str, seed: int, work: Path, sets: dict
) -> dict[str, Any]:
    from acsa.training import train
    from acsa.training.config import load_config

    overrides: dict[str, Any] = {
        "data.dir": str(folder),
        "output.dir": str(work / "runs" / f"{folder.name}-{arm}-seed{seed}"),
        "output.overwrite": True,
        "training.seed": seed,
        **sets,
    }
    if arm == "word2vec":
        overrides["training.pretraining"] = {"method": "word2vec"}
        if unlabeled is not None:
            overrides["data.unlabeled"] = str(unlabeled)
    wall, cpu = time.perf_counter(), time.process_time()
    result = train(load_config(config, overrides), quiet=True, write_plots=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    test = result.metrics["test"]
    run = json.loads((result.output_dir / "run.json").read_text(encoding="utf-8"))
    return {
        "data": folder.name,
        "arm": arm,
        "seed": seed,
        "network_test": ((test.get("network") or {}).get("test") or {}).get("pair_f1"),
        "saved_test": test["pair_f1"],
        "baseline_test": ((test.get("baseline") or {}).get("test") or {}).get("pair_f1"),
        "blend_kept": bool((test.get("blend") or {}).get("adopted")),
        "pretraining": run.get("pretraining"),
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "load": os.getloadavg()[0],
    }


def _mean_std(values: list[float]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return ""
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} +- {std:.4f}"


def render(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| data | arm | seeds | network alone test pair-F1 | saved default test pair-F1 "
        "| TF-IDF test pair-F1 | blend kept | wall s per run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for data in sorted({r["data"] for r in rows}):
        for arm in ARMS:
            runs = [r for r in rows if r["data"] == data and r["arm"] == arm]
            if not runs:
                continue
            lines.append(
                f"| {data} | {arm} | {', '.join(str(r['seed']) for r in runs)} "
                f"| {_mean_std([r['network_test'] for r in runs])} "
                f"| {_mean_std([r['saved_test'] for r in runs])} "
                f"| {_mean_std([r['baseline_test'] for r in runs])} "
                f"| {sum(r['blend_kept'] for r in runs)} of {len(runs)} "
                f"| {min(r['wall_s'] for r in runs):.0f}-{max(r['wall_s'] for r in runs):.0f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--labelled", type=int, default=1000)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--config", type=Path, default=CONFIG)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--arms", nargs="+", choices=ARMS, default=list(ARMS))
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--results", type=Path, default=ROOT / "runs" / "pretraining.jsonl")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args()
    sets = {k: yaml.safe_load(v) for k, _, v in (s.partition("=") for s in args.sets)}
    work = args.work or Path(tempfile.mkdtemp(prefix="acsa-pretrain-"))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        if args.data_dir is not None:
            folder, unlabeled = args.data_dir.resolve(), None
        else:
            folder = data_dir(work, args.labelled)
            unlabeled = folder / "unlabeled.csv"
        for seed in args.seeds:
            for arm in args.arms:
                row = run_one(folder, unlabeled, args.config, arm, seed, work, sets)
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

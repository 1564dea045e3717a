"""``acsa predict`` end to end (start-up included), PyTorch against ONNX Runtime (issue 21).

Each run is a fresh ``python -m acsa predict MODEL --input FILE --output OUT.csv
--runtime R`` subprocess, timed from start to exit: importing the libraries,
loading the model, reading, predicting and writing. The runtimes alternate
(torch first on even repeats, onnx first on odd ones) so that a change in the
machine's load falls on both. Inputs: the 1,492 shared smartphone test reviews,
and ``--large`` reviews made from them (each copy after the first drops one
random word, so texts are not exact repeats) in a temporary file.

    python benchmarks/predict_runtime.py --model runs/quickstart [--repeats 5] [--large 100000]

The model folder needs ``model.onnx`` (``acsa train`` writes it; else ``acsa
export MODEL --format onnx --output MODEL``). Prints, per input, the median and
minimum wall seconds and the median CPU seconds of each runtime, the ratio
torch / onnx of the medians, whether the two runtimes wrote identical labels,
and the largest probability gap (the CSV's rounded probabilities), with the
load average before and after.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST = ROOT.parent / "shared" / "data" / "vi-smartphone-reviews" / "test.csv"
RUNTIMES = ("torch", "onnx")


def read_texts(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [row["data"] for row in csv.DictReader(handle)]


def write_texts(path: Path, texts: list[str]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["data"])
        writer.writerows([t] for t in texts)
    return path


def enlarge(texts: list[str], count: int, seed: int = 0) -> list[str]:
    """``count`` reviews: the texts, then copies that each drop one random word."""
    rng = random.Random(seed)
    out = list(texts[:count])
    while len(out) < count:
        words = texts[len(out) % len(texts)].split()
        if len(words) > 1:
            del words[rng.randrange(len(words))]
        out.append(" ".join(words))
    return out


def run_once(model: Path, source: Path, output: Path, runtime: str) -> tuple[float, float]:
    """Wall and CPU seconds (the child's user + system) of one ``acsa predict`` run."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    command = [sys.executable, "-m", "acsa", "predict", str(model), "--input", str(source)]
    command += ["--output", str(output), "--overwrite", "--runtime", runtime, "--no-progress"]
    before = os.times()
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = os.times()
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip()}")
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, cpu


def labels_and_probabilities(path: Path) -> tuple[list[list[str]], list[list[float]]]:
    labels, probs = [], []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        prob_cols = [i for i, name in enumerate(header) if name.startswith("prob_")]
        label_cols = [i for i, name in enumerate(header) if i > 1 and i not in prob_cols]
        for row in reader:
            labels.append([row[i] for i in label_cols])
            probs.append([float(row[i]) for i in prob_cols])
    return labels, probs


def compare(a: Path, b: Path) -> tuple[bool, int, float]:
    """Identical labels?, how many cells differ, the largest probability gap."""
    la, pa = labels_and_probabilities(a)
    lb, pb = labels_and_probabilities(b)
    if len(la) != len(lb):
        return False, -1, float("nan")
    differ = sum(x != y for ra, rb in zip(la, lb, strict=True) for x, y in zip(ra, rb, strict=True))
    gap = max(
        (abs(x - y) for ra, rb in zip(pa, pb, strict=True) for x, y in zip(ra, rb, strict=True)),
        default=0.0,
    )
    return differ == 0, differ, gap


def measure(model: Path, source: Path, rows: int, repeats: int, folder: Path) -> None:
    walls: dict[str, list[float]] = {r: [] for r in RUNTIMES}
    cpus: dict[str, list[float]] = {r: [] for r in RUNTIMES}
    outputs = {r: folder / f"out_{r}_{source.stem}.csv" for r in RUNTIMES}
    for repeat in range(repeats):
        order = RUNTIMES if repeat % 2 == 0 else RUNTIMES[::-1]
        for runtime in order:
            wall, cpu = run_once(model, source, outputs[runtime], runtime)
            walls[runtime].append(wall)
            cpus[runtime].append(cpu)
            print(
                f"  {rows:>7,} reviews  {runtime:5} run {repeat + 1}: {wall:6.2f} s wall",
                flush=True,
            )
    same, differ, gap = compare(outputs["torch"], outputs["onnx"])
    median = {r: statistics.median(walls[r]) for r in RUNTIMES}
    for runtime in RUNTIMES:
        print(
            f"{rows:>7,} reviews  {runtime:5} median {median[runtime]:6.2f} s wall "
            f"(min {min(walls[runtime]):6.2f}, CPU {statistics.median(cpus[runtime]):6.2f} s) "
            f"over {repeats} runs"
        )
    print(
        f"{rows:>7,} reviews  torch / onnx = {median['torch'] / median['onnx']:.2f}x; "
        f"labels identical: {'yes' if same else f'NO ({differ} cells differ)'}; "
        f"largest probability gap {gap:.4f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="model (or run) folder")
    parser.add_argument("--test", type=Path, default=TEST, help="CSV of reviews (column data)")
    parser.add_argument(
        "--repeats", type=int, default=5, help="runs per runtime on the test reviews (0: skip)"
    )
    parser.add_argument(
        "--large", type=int, default=100_000, help="reviews of the large input (0: skip)"
    )
    parser.add_argument("--large-repeats", type=int, default=3, help="runs on the large input")
    args = parser.parse_args()
    texts = read_texts(args.test)
    print(f"load average before: {os.getloadavg()}; {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="acsa-predict-runtime-") as tmp:
        folder = Path(tmp)
        if args.repeats > 0:
            measure(args.model, args.test, len(texts), args.repeats, folder)
        if args.large:
            big = write_texts(folder / "large.csv", enlarge(texts, args.large))
            measure(args.model, big, args.large, args.large_repeats, folder)
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()

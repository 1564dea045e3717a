"""Where the quickstart's seconds go: the whole command, phase by phase.

Runs ``acsa train configs/quickstart.yaml --data-dir <shared smartphone data>``
as a subprocess (start-up included, as a user types it) and prints, per run:
the wall time of the whole command, its CPU time (user + system of the
command and the processes it starts, the baseline's worker included), its
peak memory, and the phases of ``run.json`` (``timings_s``; ``train`` is split
into optimizer steps and the validations inside it, from ``run.json``'s
``evaluation_seconds``), with test pair-F1 beside it.

``--before SRC`` runs the same command on another checkout's ``src`` folder
(``PYTHONPATH``) too, alternating the two, so a change is measured side by
side in one run on the same machine state; the ratio of the medians is
printed. The runs are sequential: the machine must be otherwise idle (the
load average before each run is printed beside it).

    python benchmarks/quickstart_profile.py
    git worktree add /tmp/before <commit>
    python benchmarks/quickstart_profile.py --before /tmp/before/src --repeats 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "vi-smartphone-reviews"
PHASES = ("load_data", "build_model", "encode", "train", "decision", "test", "baseline")
PHASES += ("blend", "report", "total")


def _children_rusage() -> tuple[float, int]:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def run_once(src: Path, output: Path, extra: list[str]) -> dict[str, object]:
    """One quickstart command on the code in ``src``: wall, CPU, peak memory, phases."""
    env = dict(os.environ, PYTHONPATH=str(src))
    command = [sys.executable, "-m", "acsa", "train", str(ROOT / "configs" / "quickstart.yaml")]
    command += ["--data-dir", str(DATA), "--output", str(output), "--overwrite", *extra]
    timer = Path("/usr/bin/time")
    report = output.with_suffix(".time")
    if timer.exists():  # GNU time: the command's own peak memory
        command = [str(timer), "-v", "-o", str(report), *command]
    load = os.getloadavg()[0]
    cpu_before, _ = _children_rusage()
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    cpu_after, peak_kb = _children_rusage()
    if done.returncode != 0:
        raise SystemExit(f"the quickstart failed:\n{done.stderr[-2000:]}")
    if report.exists():
        for line in report.read_text(encoding="utf-8").splitlines():
            if "Maximum resident set size" in line:
                peak_kb = int(line.rsplit(":", 1)[1])
    run = json.loads((output / "run.json").read_text(encoding="utf-8"))
    metrics = json.loads((output / "metrics.json").read_text(encoding="utf-8"))
    return {
        "load_before": load,
        "wall": wall,
        "cpu": cpu_after - cpu_before,
        # GNU time's maximum resident set size; without it, ru_maxrss of the children
        # (the largest child so far), in KiB on Linux
        "peak_gb": peak_kb / 1024**2,
        "phases": run["timings_s"],
        "evaluation_seconds": run.get("evaluation_seconds"),
        "pair_f1": metrics["pair_f1"],
    }


def _table(results: dict[str, list[dict[str, object]]]) -> str:
    names = list(results)
    header = "| | " + " | ".join(names) + " |\n|---|" + "---|" * len(names)
    rows = [header]

    def median(name: str, get: object) -> float:
        values = [get(r) for r in results[name]]  # type: ignore[operator]
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else float("nan")

    def row(label: str, get: object, fmt: str = "{:.1f}") -> None:
        rows.append(f"| {label} | " + " | ".join(fmt.format(median(n, get)) for n in names) + " |")

    for phase in PHASES:
        row(f"`{phase}`", lambda r, p=phase: r["phases"].get(p))
        if phase == "train":
            row("  of which validations", lambda r: r["evaluation_seconds"])
    row("**whole command, wall**", lambda r: r["wall"])
    row("CPU (user + system, with children)", lambda r: r["cpu"])
    row("peak memory (GB)", lambda r: r["peak_gb"], "{:.2f}")
    row("test pair-F1", lambda r: r["pair_f1"], "{:.4f}")
    row("load average before", lambda r: r["load_before"], "{:.2f}")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--before", type=Path, help="another checkout's src folder, run too")
    parser.add_argument("extra", nargs="*", help="extra arguments for acsa train (after --)")
    args = parser.parse_args()
    sides = {"this checkout": ROOT / "src"}
    if args.before is not None:
        sides = {"before": args.before.resolve(), **sides}
    results: dict[str, list[dict[str, object]]] = {name: [] for name in sides}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for name, src in sides.items():
                result = run_once(src, Path(tmp) / name.replace(" ", "_"), args.extra)
                results[name].append(result)
                print(
                    f"[{repeat + 1}/{args.repeats}] {name}: wall {result['wall']:.1f} s, "
                    f"CPU {result['cpu']:.1f} s, pair-F1 {result['pair_f1']:.4f}, "
                    f"load before {result['load_before']:.2f}",
                    flush=True,
                )
    print()
    print(_table(results))
    if args.before is not None:
        before = statistics.median(r["wall"] for r in results["before"])  # type: ignore[misc]
        after = statistics.median(r["wall"] for r in results["this checkout"])  # type: ignore[misc]
        print(f"\nwhole command, wall: this checkout / before = {after / before:.2f}x")


if __name__ == "__main__":
    main()

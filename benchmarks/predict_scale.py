"""``acsa predict`` at catalogue scale: memory, throughput, kill and resume, Ray against local.

All in one run, each ``acsa predict`` a subprocess, as a user runs it:

1. inputs of ``--sizes`` reviews (default 100,000 and 1,000,000), made by
   resampling the shared smartphone reviews (train, validation, test) with a
   fixed seed into a CSV file;
2. the local engine on each size: peak resident memory of the process (its
   ``ru_maxrss``) and of its whole process tree (sampled), reviews per second
   (the command's own count over its prediction time, and over the wall time
   including start-up);
3. the Ray engine with ``--actors`` actors on ``--ray-size`` reviews (a local
   Ray started by the command), same figures (the tree includes Ray's own
   processes; shared object-store pages count once per process that maps them);
4. kill and resume: ``acsa predict`` on ``--kill-size`` reviews killed with
   SIGKILL at a random point, rerun with ``--resume``, compared byte for byte
   with an uninterrupted run;
5. Ray against local on the shared test split: the CSV outputs compared byte
   for byte (1 thread per model copy on both sides).

    python benchmarks/predict_scale.py --model runs/quickstart/model
    python benchmarks/predict_scale.py --model runs/quickstart/model --write-docs
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "vi-smartphone-reviews"
DOCS = ROOT / "docs" / "BENCHMARKS.md"
BEGIN, END = "<!-- predict_scale:begin -->", "<!-- predict_scale:end -->"
SUMMARY = re.compile(r"([\d,]+) reviews in ([\d.]+) s")


def shared_texts() -> list[str]:
    import pandas as pd

    texts: list[str] = []
    for split in ("train", "validation", "test"):
        path = SHARED / f"{split}.csv"
        if not path.is_file():
            raise SystemExit(f"{path}: the shared data is needed for this benchmark")
        frame = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False)
        texts += [str(t) for t in frame["data"]]
    return texts


def make_input(path: Path, texts: list[str], count: int, seed: int = 0) -> Path:
    """``count`` reviews drawn with replacement from ``texts``, written as they are drawn."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["data"])
        for _ in range(count):
            writer.writerow([texts[rng.randrange(len(texts))]])
    return path


def acsa_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    env["RAY_USAGE_STATS_ENABLED"] = "0"
    return env


def tree_sample(pid: int, cpu: dict[int, float]) -> int:
    """RSS of ``pid`` and its descendants (bytes); records each one's CPU seconds in ``cpu``."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
            times = proc.cpu_times()
            cpu[proc.pid] = max(cpu.get(proc.pid, 0.0), times.user + times.system)
        except psutil.Error:
            pass
    return total


def run_acsa(
    args: list[str], kill_at_chunks: int | None = None, time_limit: float | None = None
) -> dict[str, float]:
    """One ``acsa`` subprocess: wall time, peak RSS (process and tree), CPU, its summary line."""
    probe = (
        "import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
        "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
        "sys.stderr.write(f'\\nmaxrss_kib {u.ru_maxrss} cpu_s {u.ru_utime + u.ru_stime}\\n'); "
        "sys.exit(rc)"
    )
    command = [sys.executable, "-c", probe, sys.executable, "-m", "acsa", *args]
    started = time.perf_counter()
    proc = subprocess.Popen(
        command, env=acsa_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    peak = [0]
    cpu: dict[int, float] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], tree_sample(proc.pid, cpu))
            stop.wait(0.5)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    if kill_at_chunks is not None:
        output = Path(args[args.index("-o") + 1])
        manifest = output.with_name(output.name + ".progress.json")
        while proc.poll() is None:
            try:
                state = json.loads(manifest.read_text(encoding="utf-8"))
                if state["chunks_done"] >= kill_at_chunks:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.05)
        time.sleep(random.uniform(0.0, 2.0))  # somewhere inside the next chunk
        import psutil

        for child in psutil.Process(proc.pid).children(recursive=True):
            child.send_signal(signal.SIGKILL)
    if time_limit is not None:
        try:
            proc.wait(timeout=time_limit)
        except subprocess.TimeoutExpired:
            import psutil

            # Ctrl-C: acsa keeps every complete chunk and says how many reviews are safe
            for child in psutil.Process(proc.pid).children(recursive=True):
                child.send_signal(signal.SIGINT)
    _, err = proc.communicate()
    wall = time.perf_counter() - started
    stop.set()
    sampler.join()
    found = SUMMARY.search(err)
    stopped = re.search(r"interrupted: ([\d,]+) reviews are safe", err)
    usage = re.search(r"maxrss_kib (\d+) cpu_s ([\d.]+)", err)
    return {
        "returncode": proc.returncode,
        "wall_s": wall,
        "rows": float(found.group(1).replace(",", "")) if found else 0.0,
        "predict_s": float(found.group(2)) if found else 0.0,
        "maxrss_mib": int(usage.group(1)) / 1024 if usage else 0.0,
        # the waited-for process (local engine); Ray's processes are sampled
        "cpu_s": max(float(usage.group(2)) if usage else 0.0, sum(cpu.values())),
        "tree_mib": peak[0] / 2**20,
        "stopped_at": float(stopped.group(1).replace(",", "")) if stopped else 0.0,
        "stderr": err,
    }


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except (AttributeError, OSError):
        return "unknown"


def row(label: str, size: int, result: dict[str, float]) -> str:
    if result["stopped_at"]:
        done = result["stopped_at"]
        return (
            f"| {label}, stopped by Ctrl-C (`--time-limit`) after {done:,.0f} reviews "
            f"| {size:,} | {result['maxrss_mib']:,.0f} | {result['tree_mib']:,.0f} | - "
            f"| {done / result['wall_s']:,.0f} | {done / result['cpu_s']:,.0f} "
            f"| {result['wall_s']:,.0f} | {result['cpu_s']:,.0f} |"
        )
    if result["returncode"] != 0:
        raise SystemExit(f"{label} failed:\n{result['stderr']}")
    rate = result["rows"] / result["predict_s"] if result["predict_s"] else 0.0
    return (
        f"| {label} | {size:,} | {result['maxrss_mib']:,.0f} | {result['tree_mib']:,.0f} "
        f"| {rate:,.0f} | {size / result['wall_s']:,.0f} | {size / result['cpu_s']:,.0f} "
        f"| {result['wall_s']:,.0f} | {result['cpu_s']:,.0f} |"
    )


HEADER = [
    "| engine | reviews | peak RSS MiB (process) | peak RSS MiB (process tree) "
    "| reviews/s (predicting) | reviews/s (wall, start-up included) "
    "| reviews per CPU-second | wall s | CPU s |",
    "|---|---|---|---|---|---|---|---|---|",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="a saved model (quickstart)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--ray-size", type=int, default=100_000, help="0: no Ray run")
    parser.add_argument("--actors", type=int, default=2)
    parser.add_argument("--kill-size", type=int, default=20_000)
    parser.add_argument("--chunk-size", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads of the local engine (on a shared machine 1 is fastest: busy "
        "cores make multi-threaded kernels spin-wait for each other)",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        help="stop each table run with Ctrl-C after this many seconds (the row then says how "
        "far it got; its memory figure still counts)",
    )
    parser.add_argument(
        "--keep-rows",
        action="store_true",
        help="keep the table rows already in the docs and add this run's (a run in parts)",
    )
    parser.add_argument(
        "--no-checks",
        action="store_true",
        help="skip the kill/resume and Ray-equality checks, keeping those already in the docs",
    )
    parser.add_argument("--work", type=Path, help="folder for the inputs (default: a temp dir)")
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="update docs/BENCHMARKS.md after every measurement (a cut run keeps what it did)",
    )
    args = parser.parse_args()
    random.seed(args.seed)
    texts = shared_texts()
    model = str(args.model)
    before = load_average()
    state: dict[str, list[str]] = {"rows": [], "checks": []}
    if args.no_checks:
        state["checks"] = documented_checks()
    if args.keep_rows:
        state["rows"] = documented_rows()

    def report(kind: str, line: str) -> None:
        state[kind].append(line)
        print(line, flush=True)
        if args.write_docs:
            write_docs(args, state, before, load_average())

    with tempfile.TemporaryDirectory(prefix="acsa-scale-", dir=args.work) as tmp:
        out = Path(tmp)
        chunk = ["--chunk-size", str(args.chunk_size)]
        if not args.no_checks:
            run_checks(args, texts, out, report)
        sizes = sorted(args.sizes)
        inputs = {n: make_input(out / f"in_{n}.csv", texts, n, args.seed) for n in sizes}
        if args.ray_size and args.ray_size not in inputs:
            inputs[args.ray_size] = make_input(out / "in_ray.csv", texts, args.ray_size, args.seed)
        limit = args.time_limit
        target = ["-o", str(out / "o.csv"), *chunk, "--overwrite"]
        ray_args = ["--engine", "ray", "--num-actors", str(args.actors)]
        local = f"local, {args.threads} torch thread(s)"
        threads = ["--threads", str(args.threads)]
        # the largest local run last: the longest, and the one to cut short if need be
        for n in sizes[:-1]:
            command = ["predict", model, "-i", str(inputs[n]), *target, *threads]
            report("rows", row(local, n, run_acsa(command, time_limit=limit)))
        if args.ray_size:
            command = ["predict", model, "-i", str(inputs[args.ray_size]), *target, *ray_args]
            result = run_acsa(command, time_limit=limit)
            report("rows", row(f"ray, {args.actors} actors x 1 thread", args.ray_size, result))
        n = sizes[-1]
        command = ["predict", model, "-i", str(inputs[n]), *target, *threads]
        report("rows", row(local, n, run_acsa(command, time_limit=limit)))
    print(f"load average before {before}, after {load_average()}")


def run_checks(args: argparse.Namespace, texts: list[str], out: Path, report: Any) -> None:
    """Ray against local on the test split; kill and resume. Short: before the long runs."""
    model = str(args.model)
    test = SHARED / "test.csv"
    local_out, ray_out = out / "t_local.csv", out / "t_ray.csv"
    run_acsa(["predict", model, "-i", str(test), "-o", str(local_out), "--threads", "1"])
    ray_args = ["--engine", "ray", "--num-actors", str(args.actors)]
    run_acsa(["predict", model, "-i", str(test), "-o", str(ray_out), *ray_args])
    same = local_out.exists() and local_out.read_bytes() == ray_out.read_bytes()
    report(
        "checks",
        f"Ray engine ({args.actors} actors) against the local engine (`--threads 1`) on the "
        f"shared test split: CSV outputs equal byte for byte: **{'yes' if same else 'NO'}**.",
    )

    kill_input = make_input(out / "in_kill.csv", texts, args.kill_size, args.seed + 1)
    kill_chunk = ["--chunk-size", str(max(1, args.kill_size // 10)), "--threads", str(args.threads)]
    whole, resumed = out / "whole.csv", out / "resumed.csv"
    run_acsa(["predict", model, "-i", str(kill_input), "-o", str(whole), *kill_chunk])
    at = random.randint(1, 8)
    killed = run_acsa(
        ["predict", model, "-i", str(kill_input), "-o", str(resumed), *kill_chunk],
        kill_at_chunks=at,
    )
    partial = resumed.with_name(resumed.name + ".partial")
    left = partial.exists() and not resumed.exists()
    progress = json.loads(
        resumed.with_name(resumed.name + ".progress.json").read_text(encoding="utf-8")
    )
    again = run_acsa(
        ["predict", model, "-i", str(kill_input), "-o", str(resumed), *kill_chunk, "--resume"]
    )
    same = resumed.read_bytes() == whole.read_bytes()
    report(
        "checks",
        f"Kill and resume ({args.kill_size:,} reviews, chunks of {args.kill_size // 10:,}): "
        f"SIGKILL at a random point after {progress['chunks_done']} complete chunks (exit "
        f"status {killed['returncode']}; only `.partial` and `.progress.json` left, no "
        f"final file: {'yes' if left else 'NO'}), `--resume` predicted the other "
        f"{again['rows']:,.0f}; the final CSV equals an uninterrupted run's, byte for "
        f"byte: **{'yes' if same else 'NO'}**.",
    )


def documented_rows() -> list[str]:
    """The table rows of the section already in the docs (for ``--keep-rows``)."""
    text = DOCS.read_text(encoding="utf-8")
    if BEGIN not in text:
        return []
    section = text[text.index(BEGIN) : text.index(END)]
    lines = [line for line in section.splitlines() if line.startswith("| ")]
    return [line for line in lines if line not in HEADER and not line.startswith("| engine ")]


def documented_checks() -> list[str]:
    """The check lines of the section already in the docs (for ``--no-checks``)."""
    text = DOCS.read_text(encoding="utf-8")
    if BEGIN not in text:
        return []
    section = text[text.index(BEGIN) : text.index(END)]
    return [p for p in section.split("\n\n") if p.startswith(("Ray engine (", "Kill and resume ("))]


def write_docs(
    args: argparse.Namespace, state: dict[str, list[str]], before: str, after: str
) -> None:
    import torch

    command = (
        f"python benchmarks/predict_scale.py --model {args.model.as_posix()} --sizes "
        f"{' '.join(str(s) for s in args.sizes)} --ray-size {args.ray_size} --actors "
        f"{args.actors} --kill-size {args.kill_size} --chunk-size {args.chunk_size} "
        f"--threads {args.threads} --write-docs"
    )
    try:
        import ray

        ray_version = ray.__version__
    except ImportError:
        ray_version = "not installed"
    table = "\n".join(HEADER + state["rows"])
    section = (
        f"{BEGIN}\n## Streaming `acsa predict` at catalogue scale (`--engine local` and `ray`)\n\n"
        "Inputs made by resampling the shared smartphone reviews (train, validation, test) "
        "into one CSV; each `acsa predict -i in.csv -o out.csv` is a subprocess run as a user "
        f"runs it, chunks of {args.chunk_size:,} reviews. Peak RSS: the `acsa` process's own "
        "(`ru_maxrss`), and the sum over its process tree sampled every 0.5 s (for Ray: the "
        "driver, Ray's own processes and the actors; the object store's shared pages count "
        "once per process that maps them). Reviews/s while predicting is the command's own "
        "count over its prediction loop; the wall rate includes start-up (and starting a "
        "local Ray); reviews per CPU-second divide by the CPU time of the process tree, which "
        "depends much less than wall time on the other jobs sharing the cores.\n\n"
        f"Command: `{command}` (torch {torch.__version__}, ray {ray_version}, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores shared with "
        f"other jobs; load average before {before}, at the last update {after}).\n\n"
        + "\n\n".join(state["checks"])
        + f"\n\n{table}\n{END}"
    )
    text = DOCS.read_text(encoding="utf-8")
    if BEGIN in text and END in text:
        start, end = text.index(BEGIN), text.index(END) + len(END)
        text = text[:start] + section + text[end:]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOCS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()

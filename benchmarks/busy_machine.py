"""A training on a busy machine: does it slow in proportion to the cores it gets?

Runs a 1-epoch quickstart (``acsa train configs/quickstart.yaml --epochs 1
--no-baseline``) in three settings, for each OpenMP wait policy asked for:

* **alone**;
* **beside a second acsa training** (the same command, started together);
* **beside two other jobs** (two single-threaded CPU-bound processes, like a
  compiler or a browser tab, running for the whole measurement).

and prints the wall time of the measured run and its ratio to the same
policy's run alone. On 2 cores a fair share beside one other training is 2x
(each gets one core), beside two single-threaded jobs 1.5x to 2x. The
runs are sequential, so the machine must be otherwise idle: the load average
before each run is printed beside it.

Policies: ``passive`` is what ``acsa`` sets by default (``OMP_WAIT_POLICY=
PASSIVE`` in :mod:`acsa.threads`: an idle OpenMP thread sleeps instead of
spinning); ``active`` is what PyTorch does without it (its threads spin
while they wait for work, stealing the core another process could use).

    python benchmarks/busy_machine.py                          # both policies
    python benchmarks/busy_machine.py --policies passive --settings alone beside_training
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "vi-smartphone-reviews"
SETTINGS = ("alone", "beside_training", "beside_two_jobs")
POLICIES = {"passive": "PASSIVE", "active": "ACTIVE"}

# a single-threaded CPU-bound job: pure-Python arithmetic, no OpenMP of its own
_BURNER = (
    "import time\nend = time.time() + {seconds}\nx = 0\nwhile time.time() < end:\n    x += 1\n"
)


def _train_command(output: Path, seed: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "acsa",
        "train",
        str(ROOT / "configs" / "quickstart.yaml"),
        "--data-dir",
        str(DATA),
        "--epochs",
        "1",
        "--no-baseline",
        "--seed",
        str(seed),
        "--output",
        str(output),
        "--overwrite",
    ]


def _env(policy: str) -> dict[str, str]:
    env = dict(os.environ)
    env["OMP_WAIT_POLICY"] = POLICIES[policy]
    return env


def _run(setting: str, policy: str, workdir: Path) -> float:
    """Wall seconds of one 1-epoch quickstart in ``setting`` under ``policy``."""
    env = _env(policy)
    neighbours: list[subprocess.Popen[bytes]] = []
    if setting == "beside_training":
        neighbours.append(
            subprocess.Popen(
                _train_command(workdir / "neighbour", seed=1),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    elif setting == "beside_two_jobs":
        for _ in range(2):
            neighbours.append(
                subprocess.Popen([sys.executable, "-c", _BURNER.format(seconds=3600)])
            )
    start = time.perf_counter()
    subprocess.run(
        _train_command(workdir / "measured", seed=0),
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    seconds = time.perf_counter() - start
    for process in neighbours:
        if setting == "beside_training":
            process.wait()  # a training neighbour runs to its end (it started with ours)
        else:
            process.kill()
            process.wait()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--policies", nargs="+", choices=list(POLICIES), default=list(POLICIES))
    parser.add_argument("--settings", nargs="+", choices=SETTINGS, default=list(SETTINGS))
    args = parser.parse_args()
    if not DATA.is_dir():
        sys.exit(f"no shared data at {DATA}")
    rows: list[tuple[str, str, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for policy in args.policies:
            for setting in args.settings:
                load = " ".join(f"{x:.2f}" for x in os.getloadavg())
                seconds = _run(setting, policy, Path(tmp))
                rows.append((policy, setting, seconds, load))
                print(f"{policy:8s} {setting:16s} {seconds:7.1f} s  (load before: {load})")
                sys.stdout.flush()
    alone = {p: s for p, setting, s, _ in rows if setting == "alone"}
    print()
    print("| OpenMP wait policy | setting | wall s | x alone (same policy) | load before |")
    print("|---|---|---:|---:|---|")
    for policy, setting, seconds, load in rows:
        ratio = f"{seconds / alone[policy]:.2f}" if policy in alone else "-"
        print(f"| {policy} | {setting} | {seconds:.1f} | {ratio} | {load} |")
    if "passive" in alone and "active" in alone:
        print(f"\nalone, passive / active: {alone['passive'] / alone['active']:.2f}")


if __name__ == "__main__":
    main()

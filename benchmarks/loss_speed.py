"""Forward+backward time of each acsa loss relative to ``F.cross_entropy`` on CPU.

Reference and candidate are timed alternately in one run (same logits, same
process, same moment), each sample being the mean of a few inner iterations,
and the median of the paired ratios is reported. The contrastive losses are timed in
absolute milliseconds at B = 256 with 128-d embeddings.

    python benchmarks/loss_speed.py                 # print the table
    python benchmarks/loss_speed.py --write-docs    # also update docs/BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from acsa.losses import build_loss

SHAPES = ((32, 11, 4), (256, 11, 4), (4096, 11, 4))
CLASSIFICATION = {
    "cross_entropy (acsa)": {"type": "cross_entropy"},
    "focal": {"type": "focal", "gamma": 2.0},
    "focal sigmoid": {"type": "focal", "gamma": 2.0, "use_sigmoid": True, "alpha": 0.25},
    "ghm": {"type": "ghm", "bins": 10, "momentum": 0.75},
    "ghm per-aspect": {"type": "ghm", "bins": 10, "momentum": 0.75, "per_aspect": True},
    "ghm sigmoid": {"type": "ghm", "bins": 10, "momentum": 0.75, "use_sigmoid": True},
    "unified_focal": {"type": "unified_focal"},
    "asymmetric": {"type": "asymmetric"},
    "class_balanced": {"type": "class_balanced", "beta": 0.999},
    "logit_adjusted": {"type": "logit_adjusted"},
}
CONTRASTIVE = {
    "supcon": {"type": "supcon"},
    "soft_contrastive": {"type": "soft_contrastive"},
}
TARGETS = {"ghm": (2.0, 1.5)}
DOCS = Path(__file__).resolve().parents[1] / "docs" / "BENCHMARKS.md"
BEGIN, END = "<!-- loss_speed:begin -->", "<!-- loss_speed:end -->"
NOTES = (
    "Notes. At B=32 one `F.cross_entropy` forward+backward is a few tens of "
    "microseconds, so the ratio counts kernel dispatches more than arithmetic: "
    "GHM-C, focal, ASL and unified focal compute their forward and their analytic "
    "gradient in one autograd node each, and GHM-C bins with integer arithmetic, "
    "`bincount` and `take` (about 20 small kernels against 4 for cross-entropy). "
    "Unified focal adds a batch-level Tversky term (soft TP counts per aspect and "
    "class) to a focal term, so it stays the slowest at small batches. The machine "
    "is shared with other jobs, hence thread CPU time: wall-clock ratios under a "
    "load average of 8 on 2 cores came out up to about 0.5x higher at B=32 and the "
    "contrastive wall times about 2.5x higher."
)


# Thread CPU time by default: on a shared machine a process waiting for a core
# accumulates wall-clock time but no CPU time. With one intra-op thread, forward and
# backward (the CPU autograd engine runs in the calling thread) are both counted.
CLOCK: Callable[[], float] = time.thread_time


def _step(fn: Callable[[], torch.Tensor], leaf: torch.Tensor, inner: int) -> float:
    start = CLOCK()
    for _ in range(inner):
        leaf.grad = None
        fn().backward()
    return (CLOCK() - start) / inner


def interleaved_ratio(
    reference: Callable[[], torch.Tensor],
    candidate: Callable[[], torch.Tensor],
    leaf: torch.Tensor,
    repeats: int,
    inner: int,
) -> tuple[float, float, float]:
    """``(median of paired candidate / reference ratios, median reference s, median cand. s)``.

    Each pair is timed back to back (the order alternating), so a load change on
    the shared machine hits both sides of a ratio alike.
    """
    for _ in range(3):
        _step(reference, leaf, inner)
        _step(candidate, leaf, inner)
    ref, cand = [], []
    for k in range(repeats):
        if k % 2:
            c = _step(candidate, leaf, inner)
            r = _step(reference, leaf, inner)
        else:
            r = _step(reference, leaf, inner)
            c = _step(candidate, leaf, inner)
        ref.append(r)
        cand.append(c)
    ratio = statistics.median(c / r for c, r in zip(cand, ref, strict=True))
    return ratio, statistics.median(ref), statistics.median(cand)


def run(repeats: int, only: str | None = None) -> tuple[list[str], list[str]]:
    torch.manual_seed(0)
    names = [n for n in CLASSIFICATION if only is None or only in n]
    header = "| loss | " + " | ".join(f"B={b}" for b, _, _ in SHAPES) + " |"
    rows = [header, "|" + "---|" * (len(SHAPES) + 1)]
    ce_row = ["F.cross_entropy (reference, us)"]
    ratios: dict[str, list[str]] = {n: [] for n in names}
    for b, a, c in SHAPES if names else ():
        logits = torch.randn(b, a, c, requires_grad=True)
        targets = torch.randint(0, c, (b, a))
        counts = torch.randint(1, 1000, (a, c))
        inner = max(3, 4096 // b)

        def reference(logits=logits, targets=targets, c=c):
            return F.cross_entropy(logits.view(-1, c), targets.view(-1))

        ref_times = []
        for name in names:
            loss = build_loss(dict(CLASSIFICATION[name]), class_counts=counts).train()

            def candidate(loss=loss, logits=logits, targets=targets):
                return loss(logits, targets)

            ratio, ref_s, _ = interleaved_ratio(reference, candidate, logits, repeats, inner)
            ref_times.append(ref_s)
            ratios[name].append(f"{ratio:.2f}x")
        ce_row.append(f"{statistics.median(ref_times) * 1e6:.0f}")
    rows.append("| " + " | ".join(ce_row) + " |")
    for name in names:
        rows.append(f"| {name} | " + " | ".join(ratios[name]) + " |")

    con_rows = ["| contrastive loss (B=256, D=128) | forward+backward ms |", "|---|---|"]
    emb = torch.randn(256, 128, requires_grad=True)
    targets = torch.randint(0, 4, (256, 11))
    for name, cfg in CONTRASTIVE.items():
        if only is not None and only not in name:
            continue
        loss = build_loss(dict(cfg))
        samples = [
            _step(lambda loss=loss: loss(emb, targets), emb, 5) for _ in range(max(5, repeats))
        ]
        con_rows.append(f"| {name} | {statistics.median(samples) * 1e3:.2f} |")
    return rows, con_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=41, help="timed samples per pair")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--write-docs", action="store_true", help="update docs/BENCHMARKS.md")
    parser.add_argument("--only", help="time only the losses whose name contains this")
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="thread CPU time (default, robust to other jobs) or wall-clock time",
    )
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.thread_time if args.clock == "cpu" else time.perf_counter
    if args.threads != 1 and args.clock == "cpu":
        parser.error("--clock cpu measures one thread; use --threads 1 or --clock wall")
    if args.write_docs and args.only:
        parser.error("--write-docs needs the full table; drop --only")
    torch.set_num_threads(args.threads)
    load = " ".join(f"{v:.1f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    rows, con_rows = run(args.repeats, args.only)
    command = (
        f"python benchmarks/loss_speed.py --repeats {args.repeats} --threads {args.threads} "
        f"--clock {args.clock}"
    )
    text = "\n".join(rows) + "\n\n" + "\n".join(con_rows)
    print(text)
    if args.write_docs:
        section = (
            f"{BEGIN}\n## Loss speed (CPU)\n\n"
            "Forward+backward time (thread CPU time unless `--clock wall`) of each loss "
            "divided by `F.cross_entropy` on the same "
            "`logits[B, 11, 4]`, timed alternately in one run (median of paired ratios); the "
            "reference row is the absolute `F.cross_entropy` time in microseconds. "
            "Targets: GHM-C <= 2.0x at B=32 and <= 1.5x at B=4096, other classification "
            "losses <= 1.5x, contrastive < 2 ms at B=256.\n\n"
            f"Command: `{command}` (torch {torch.__version__}, {platform.processor() or 'cpu'}, "
            f"{os.cpu_count()} cores shared with other jobs, load average {load}).\n\n"
            f"{text}\n\n{NOTES}\n{END}"
        )
        old = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
        if BEGIN in old and END in old:
            head, rest = old.split(BEGIN, 1)
            new = head + section + rest.split(END, 1)[1]
        else:
            new = old.rstrip("\n") + "\n\n" + section + "\n"
        DOCS.write_text(new, encoding="utf-8")
        print(f"updated {DOCS}")


if __name__ == "__main__":
    main()

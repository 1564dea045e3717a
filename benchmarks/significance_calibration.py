"""How often does each verdict rule call two variants different? Monte Carlo, no training.

Simulated comparisons (``tests/helpers/comparison_sim.py``): per-review
outcomes of runs whose seeds shift every cell's logit (training randomness)
and draw each cell independently (seeds getting different reviews right).
For every scenario and seed count, the share of trials in which each rule
says "better" or "worse" at the 95% level: a false-positive rate where the
variants are identical in distribution, the power where they differ.

    python benchmarks/significance_calibration.py --trials 1000 --boot 400

Rules: ``two_level`` (the verdict of ``acsa compare``), ``review_only``
(paired bootstrap over test reviews, seeds fixed), ``t_test`` (paired t over
seeds), ``nested`` / ``nested_expanded`` (reviews resampled inside every
resampled seed, without / with the small-sample expansion) and
``shared_only`` (the two-level rule with the review level shrunk to the
test-set sampling shared by all seeds).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

# the tests' simulator; the project root is not on sys.path for a script in benchmarks/
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.helpers.comparison_sim import (  # noqa: E402
    RULES,
    detection_rates,
    mean_difference,
    run_f1_sd,
)

SCENARIOS = (
    # name, seed_sd (logit), shift (logit), rho
    ("identical, seed sd 0.05", 0.05, 0.0, 1.0),
    ("identical, seed sd 0.10", 0.10, 0.0, 1.0),
    ("equal quality, other reviews (rho 0.7)", 0.05, 0.0, 0.7),
    ("0.5-point difference (shift 0.06)", 0.05, 0.06, 1.0),
    ("1-point difference (shift 0.127)", 0.05, 0.127, 1.0),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--boot", type=int, default=400)
    parser.add_argument("--seeds", type=int, nargs="+", default=[3, 5, 10])
    args = parser.parse_args()
    rules = list(RULES)
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for sd in (0.05, 0.10):
        print(f"seed sd {sd}: one run's pair F1 sd {100 * run_f1_sd(sd):.2f} points")
    for shift in (0.06, 0.127):
        print(f"shift {shift}: pair F1 difference {100 * mean_difference(shift, 0.05):+.2f} points")
    print()
    print(f"{args.trials} trials per cell, {args.boot} replicates, 1,500 reviews x 11 aspects")
    print()
    print("| scenario | seeds | " + " | ".join(rules) + " |")
    print("|---|---|" + "---|" * len(rules))
    start = time.perf_counter()
    for name, sd, shift, rho in SCENARIOS:
        for s in args.seeds:
            rates = detection_rates(
                args.trials,
                s,
                sd,
                shift,
                rho,
                n_boot=args.boot,
                seed=1000 * s + len(name),
                rules=rules,
            )
            cells = " | ".join(f"{rates[r]:.3f}" for r in rules)
            print(f"| {name} | {s} | {cells} |", flush=True)
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()

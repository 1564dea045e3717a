"""Decision rules fitted on validation, scored on test: argmax against mention thresholds.

For each trained run folder given (its ``config.yaml`` names the data), the
saved model's validation and test probabilities are computed once; each rule
is fitted on validation and scored on test (pair micro-F1, aspect F1):

* ``argmax``: the most probable of the 4 classes;
* ``micro k=5`` (acsa's default): per-aspect thresholds on ``1 - P(none)`` by
  coordinate ascent on the validation pair micro-F1, aspects with fewer than 5
  validation mentions keep the argmax;
* ``aspect k=5``: each aspect's own pair-F1 maximised;
* ``micro k=1``: no small-sample guard;
* ``global``: one threshold for every aspect.

With ``--baseline`` the TF-IDF baseline is fitted on the same splits (wall and
CPU seconds of the fit reported) and scored under argmax and ``micro k=5``.

    python benchmarks/decision_thresholds.py RUN_DIR [RUN_DIR ...] [--baseline]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from acsa import api
from acsa.data import load_and_validate
from acsa.evaluation import compute_metrics
from acsa.evaluation.decision import THRESHOLD_GRID, decide, fit_thresholds
from acsa.training.config import load_config


def _scores(gold: np.ndarray, pred: np.ndarray, mask: np.ndarray, aspects: Any) -> str:
    m = compute_metrics(gold, pred, list(aspects), mask)
    return f"pair-F1 {m['pair_f1']:.4f}  aspect-F1 {m['aspect_f1']:.4f}"


def _global_threshold(probs: np.ndarray, gold: np.ndarray, mask: np.ndarray) -> np.ndarray:
    aspects = [str(i) for i in range(probs.shape[1])]
    best = max(
        THRESHOLD_GRID,
        key=lambda t: compute_metrics(
            gold, decide(probs, np.full(probs.shape[1], t)), aspects, mask
        )["pair_f1"],
    )
    return np.full(probs.shape[1], best)


def _rules(val: Any, val_probs: np.ndarray) -> dict[str, np.ndarray | None]:
    fit = lambda **kw: fit_thresholds(val_probs, val.labels, val.mask, **kw)  # noqa: E731
    return {
        "argmax": None,
        "micro k=5": fit(min_mentions=5),
        "aspect k=5": fit(min_mentions=5, objective="aspect"),
        "micro k=1": fit(min_mentions=1),
        "global": _global_threshold(val_probs, val.labels, val.mask),
    }


def _report(name: str, val: Any, test: Any, val_probs: np.ndarray, test_probs: np.ndarray) -> None:
    print(f"\n{name}: {len(val)} validation, {len(test)} test reviews")
    for rule, thresholds in _rules(val, val_probs).items():
        pred = decide(test_probs, thresholds)
        fitted = "" if thresholds is None else f"  ({int((~np.isnan(thresholds)).sum())} fitted)"
        print(f"  {rule:<11} {_scores(test.labels, pred, test.mask, test.aspects)}{fitted}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--baseline", action="store_true", help="also the TF-IDF baseline")
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()}")
    for run in args.runs:
        config = load_config(run / "config.yaml")
        splits, _ = load_and_validate(config.data, Path.cwd())
        val, test = splits["validation"], splits["test"]
        predictor = api.load(run)
        val_probs = predictor.predict_proba(val.texts)
        test_probs = predictor.predict_proba(test.texts)
        _report(f"{run} ({config.model.encoder})", val, test, val_probs, test_probs)
        if args.baseline:
            from acsa.models.tfidf import TfidfAspectModel

            wall, cpu = time.perf_counter(), time.process_time()
            model = TfidfAspectModel().fit_reviews(splits["train"])
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            _report(
                f"TF-IDF baseline (fit {wall:.1f} s wall, {cpu:.1f} s CPU)",
                val,
                test,
                model.predict_proba(val.texts),
                model.predict_proba(test.texts),
            )


if __name__ == "__main__":
    main()

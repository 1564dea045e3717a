"""Per-aspect against global blend weights, on the predictions of finished runs (issue 18).

For each run folder: the network saved in ``<run>/model`` (its PyTorch weights
alone, whatever blend is saved beside it) and the TF-IDF baseline refitted on
the run's training split, both predicting the validation and test splits; the
blend (:func:`acsa.evaluation.blend.fit_blend`, with its guard and the
decision rule, all fitted on validation) is fitted once per ``blend_weights``
mode and scored on test::

    python benchmarks/blend_modes.py runs/phone runs/cos
"""

from __future__ import annotations

import sys
from pathlib import Path

from acsa.data import load_and_validate
from acsa.evaluation import compute_metrics
from acsa.evaluation.blend import blend, fit_blend
from acsa.evaluation.decision import canonical_probabilities, decide
from acsa.models.backend import TorchBackend
from acsa.training.baseline import fit_baseline
from acsa.training.config import load_config


def main(run_dirs: list[str]) -> None:
    print("| run | mode | adopted | out-of-fold gain | weights | test pair-F1 |")
    print("| --- | --- | --- | --- | --- | --- |")
    for run in map(Path, run_dirs):
        config = load_config(run / "config.yaml")
        splits, _ = load_and_validate(config.data)
        network = TorchBackend.load(run / "model")
        probs = {
            name: canonical_probabilities(
                network.predict_logits(splits[name].texts), network.label_space
            )
            for name in ("validation", "test")
        }
        tfidf = fit_baseline(splits).probabilities
        val, test = splits["validation"], splits["test"]
        training = config.training
        options = {
            "min_mentions": training.threshold_min_mentions,
            "cv_folds": training.threshold_cv_folds,
            "margin": training.threshold_margin,
        }
        for mode in ("aspect", "global"):
            fit = fit_blend(
                probs["validation"],
                tfidf["validation"],
                val.labels,
                val.mask,
                val.aspects,
                mode=mode,
                folds=training.threshold_cv_folds,
                margin=training.threshold_margin,
                rule_options=options,
                seed=training.seed,
            )
            mixed = blend(probs["test"], tfidf["test"], fit.fitted_weights)
            pred = fit.rule.decide(mixed) if fit.rule is not None else decide(mixed)
            score = compute_metrics(test.labels, pred, list(test.aspects), test.mask)["pair_f1"]
            gain = "-" if fit.check is None else f"{100 * fit.check.gain:+.2f}"
            weights = sorted(set(fit.fitted_weights.round(1).tolist()))
            print(f"| {run.name} | {mode} | {fit.adopted} | {gain} | {weights} | {score:.4f} |")


if __name__ == "__main__":
    main(sys.argv[1:])

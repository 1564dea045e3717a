"""Variants of the strict rule for the "polarity -> not-mentioned" flags (issue 22 follow-up).

On the real smartphone file, a hand check found 3 of the 21 flags of that kind
in the top 50 really wrong (docs/BENCHMARKS.md, "Label noise"). This script
measures, on planted noise (``label_noise.py``'s ``plant_noise``, same seed),
what happens to precision and recall when that kind is handled differently:

* a larger least margin ``p(not-mentioned) - p(given)`` for it than the strict
  rule's :data:`~acsa.analysis.issues.MENTION_MARGIN` (``--margins``);
* never suggesting not-mentioned for a given polarity: the suggestion is the
  best other polarity, with the polarity margin;
* no such flag at all.

The other kinds keep the strict rule. Every variant starts from cleanlab's
``filter_by="both"`` flags (the strict rule with its margins off). The
out-of-fold probabilities are ``label_noise.py --cache``'s files (computed and
saved when absent). With ``--original``, the unmodified split's strict flags of
that kind are counted per margin as well::

    python benchmarks/label_noise_rules.py --data cosmetics --cache /tmp/noise/cache --original
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from unittest import mock

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from label_noise import DATA, ROOT, UNKNOWN, plant_noise  # noqa: E402


def margin(probs: np.ndarray, labels: np.ndarray, suggested: np.ndarray) -> np.ndarray:
    """``float [N, A]``: ``p(suggested) - p(given)``."""
    given = np.take_along_axis(probs, labels[..., None], -1)[..., 0]
    return np.take_along_axis(probs, suggested[..., None], -1)[..., 0] - given


def variants(raw, probs, labels, margins) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Flags and suggestions of each variant, from cleanlab's unmargined flags ``raw``."""
    from acsa.analysis import issues

    suggested = issues.suggested_labels(labels, probs)
    strict = raw & issues.margin_ok(labels, probs, suggested)
    to_none = (labels > 0) & (suggested == 0)
    gap = margin(probs, labels, suggested)
    out = {"strict (default)": (strict, suggested)}
    for least in margins:
        out[f"polarity -> none margin {least:g}"] = (strict & ~(to_none & (gap < least)), suggested)
    polar = probs.copy()
    polar[..., 0] = -1.0
    polar_suggested = np.where(labels > 0, issues.suggested_labels(labels, polar), suggested)
    out["a polarity is suggested only a polarity"] = (
        raw & issues.margin_ok(labels, probs, polar_suggested),
        polar_suggested,
    )
    out["no polarity -> none flag"] = (strict & ~to_none, suggested)
    return out


def raw_flags(reviews, probs: np.ndarray) -> np.ndarray:
    """cleanlab's ``filter_by="both"`` flags without the strict rule's margins."""
    from acsa.analysis import issues

    with (
        mock.patch.object(issues, "MENTION_MARGIN", -1.0),
        mock.patch.object(issues, "POLARITY_MARGIN", -1.0),
    ):
        return issues.find_cell_issues(reviews, probs, rule="strict").flagged


def line(name: str, flagged, suggested, labels, planted=None) -> str:
    to_none = flagged & (labels > 0) & (suggested == 0)
    kinds = {
        "none->pol": flagged & (labels == 0),
        "pol->none": to_none,
        "pol->pol": flagged & (labels > 0) & (suggested > 0),
    }
    text = f"  {name:42s} flagged {int(flagged.sum()):5d}"
    if planted is not None:
        hits = int((flagged & planted).sum())
        text += (
            f"  planted and flagged {hits:5d}  precision {hits / max(int(flagged.sum()), 1):.3f}"
            f"  recall {hits / max(int(planted.sum()), 1):.3f}  |"
        )
    for kind, sel in kinds.items():
        text += f" {kind} {int(sel.sum())}"
        if planted is not None:
            text += f" ({int((sel & planted).sum())})"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=sorted(DATA), default="phone")
    parser.add_argument("--rates", type=float, nargs="+", default=[0.05, 0.10])
    parser.add_argument("--none-rate", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--margins", type=float, nargs="+", default=[0.99, 0.995, 0.999])
    parser.add_argument("--cache", type=Path, required=True, help="label_noise.py --cache")
    parser.add_argument("--original", action="store_true", help="also the unmodified split")
    args = parser.parse_args()

    from dataclasses import replace

    from acsa.analysis.crossfit import out_of_fold_proba
    from acsa.analysis.run import load_analysed_split
    from acsa.models.tfidf import TfidfModelConfig
    from acsa.training.config import load_config

    config_name, folder = DATA[args.data]
    overrides = {
        "data.dir": str(ROOT.parent / "shared" / "data" / folder),
        "data.missing_values": [UNKNOWN],
    }
    cfg = load_config(ROOT / "configs" / config_name, overrides)
    original, _ = load_analysed_split(cfg.data, "train", ROOT)

    def probabilities(name: str, reviews) -> np.ndarray:
        cached = args.cache / f"{args.data}_{name}_seed{args.seed}.npy"
        if cached.exists():
            return np.load(cached)
        probs = out_of_fold_proba(reviews, 5, config=TfidfModelConfig(), seed=0, jobs=2)
        cached.parent.mkdir(parents=True, exist_ok=True)
        np.save(cached, probs)
        return probs

    for rate in args.rates:
        noisy_labels = plant_noise(original.labels, rate, args.none_rate, args.seed)
        planted = (noisy_labels != original.labels) & original.mask
        noisy = replace(original, labels=np.where(planted, noisy_labels, original.labels))
        probs = probabilities(f"noisy{rate:g}", noisy)
        print(f"{args.data}, planted {rate:g}: {int(planted.sum())} planted cells")
        raw = raw_flags(noisy, probs)
        for name, (flagged, suggested) in variants(raw, probs, noisy.labels, args.margins).items():
            print(line(name, flagged, suggested, noisy.labels, planted))
    if args.original:
        probs = probabilities("original", original)
        print(f"{args.data}, unmodified file")
        raw = raw_flags(original, probs)
        for name, (flagged, suggested) in variants(
            raw, probs, original.labels, args.margins
        ).items():
            print(line(name, flagged, suggested, original.labels))


if __name__ == "__main__":
    main()

"""benchmarks/label_noise_rules.py: the variants of the strict rule for polarity -> none flags."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "label_noise_rules.py"


def load_script():
    spec = importlib.util.spec_from_file_location("label_noise_rules", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# one aspect, classes none / negative / neutral / positive; given labels and out-of-fold probs
LABELS = np.array([[3], [3], [3], [0], [1], [3]])
PROBS = np.array(
    [
        [[0.990, 0.0, 0.0, 0.010]],  # positive -> none, margin 0.98: strict keeps it
        [[0.998, 0.0, 0.0, 0.002]],  # positive -> none, margin 0.996
        [[0.0, 0.0, 0.200, 0.800]],  # positive, no flag (best other: neutral, margin -0.6)
        [[0.005, 0.0, 0.0, 0.995]],  # none -> positive, margin 0.99
        [[0.050, 0.050, 0.0, 0.900]],  # negative -> positive, margin 0.85
        [[0.700, 0.0, 0.0, 0.300]],  # positive -> none, margin 0.4: strict drops it
    ]
)


def test_variants_touch_only_the_polarity_to_none_flags() -> None:
    rules = load_script()
    raw = np.ones_like(LABELS, dtype=bool)
    out = rules.variants(raw, PROBS, LABELS, [0.99, 0.999])
    flagged = {name: set(np.flatnonzero(f[:, 0]).tolist()) for name, (f, _) in out.items()}
    assert flagged["strict (default)"] == {0, 1, 3, 4}
    assert flagged["polarity -> none margin 0.99"] == {1, 3, 4}
    assert flagged["polarity -> none margin 0.999"] == {3, 4}
    assert flagged["no polarity -> none flag"] == {3, 4}
    # a given polarity is suggested its best other polarity: rows 0, 1 and 5 get
    # positive -> negative/neutral with a negative margin, so no flag
    only_polar, suggested = out["a polarity is suggested only a polarity"]
    assert set(np.flatnonzero(only_polar[:, 0]).tolist()) == {3, 4}
    assert (suggested[LABELS > 0] > 0).all()
    # the strict variant is the library's own margin test on the same flags
    from acsa.analysis.issues import margin_ok, suggested_labels

    strict = margin_ok(LABELS, PROBS, suggested_labels(LABELS, PROBS))
    assert (out["strict (default)"][0] == strict).all()


def test_unmargined_flags_contain_the_strict_ones() -> None:
    """raw_flags switches the margins off for one call and leaves them as they were."""
    from acsa.analysis import issues
    from acsa.analysis.issues import MENTION_MARGIN, POLARITY_MARGIN, find_cell_issues
    from acsa.data.reviews import LabeledReviews

    rules = load_script()
    rng = np.random.default_rng(0)
    n = 120
    labels = rng.choice([0, 1, 3], size=(n, 1))
    believed = labels.copy()
    flip = rng.choice(n, 12, replace=False)  # the model disagrees with these labels
    believed[flip] = np.array([3, 3, 0, 0])[labels[flip]]
    probs = np.full((n, 1, 4), 0.001)
    np.put_along_axis(probs, believed[..., None], 0.997, axis=-1)
    unsure = flip[labels[flip, 0] != 1][:3]  # mention flips below the strict margin
    probs[unsure, 0] = np.where(probs[unsure, 0] > 0.5, 0.91, 0.03)
    reviews = LabeledReviews(
        texts=[f"r{i}" for i in range(n)],
        labels=labels,
        mask=np.ones_like(labels, dtype=bool),
        source=Path("synthetic.csv"),
        rows=list(range(2, n + 2)),
        aspects=("Battery",),
    )
    raw = rules.raw_flags(reviews, probs)
    strict = find_cell_issues(reviews, probs, rule="strict").flagged
    assert (strict <= raw).all() and strict.sum() > 0
    assert raw[unsure].all() and not strict[unsure].any()
    assert (issues.MENTION_MARGIN, issues.POLARITY_MARGIN) == (MENTION_MARGIN, POLARITY_MARGIN)

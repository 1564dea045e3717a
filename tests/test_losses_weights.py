"""Class weights derived from the training counts (``alpha: auto``, ``weight: auto``, priors),
against values computed by hand, from the loss options down to the training split."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from acsa.losses import build_loss

# two aspects, classes none / negative / neutral / positive; aspect 0 never has
# "positive" (a zero count), aspect 1 is balanced
COUNTS = torch.tensor([[6, 3, 1, 0], [2, 2, 2, 2]])


def _inverse_frequency_by_hand() -> list[list[float]]:
    # N_a / (C * n_ac), a class never seen counted as one example: aspect 0 is 6, 3, 1, 1
    return [[11 / 24, 11 / 12, 11 / 4, 11 / 4], [1.0, 1.0, 1.0, 1.0]]


def _inverse_frequency(rows: list[list[int]]) -> list[list[float]]:
    out = []
    for row in rows:
        seen = [max(n, 1) for n in row]
        out.append([sum(seen) / (len(seen) * n) for n in seen])
    return out


@pytest.mark.parametrize(
    ("config", "buffer"),
    [
        ({"type": "focal", "alpha": "auto"}, "alpha"),
        ({"type": "cross_entropy", "weight": "auto"}, "weight"),
    ],
)
def test_auto_weights_are_inverse_frequency(config: dict, buffer: str) -> None:
    loss = build_loss(config, class_counts=COUNTS)
    table = getattr(loss, buffer)
    torch.testing.assert_close(table, torch.tensor(_inverse_frequency_by_hand()))
    # the rarer a class, the larger its weight
    assert table[0, 2] > table[0, 1] > table[0, 0]


def test_sigmoid_focal_auto_alpha_is_the_share_of_the_other_classes() -> None:
    loss = build_loss({"type": "focal", "use_sigmoid": True, "alpha": "auto"}, class_counts=COUNTS)
    # 1 - n_ac / N_a, with the counts as they are (N_0 = 10)
    expected = [[1 - 6 / 10, 1 - 3 / 10, 1 - 1 / 10, 1.0], [0.75, 0.75, 0.75, 0.75]]
    torch.testing.assert_close(loss.alpha, torch.tensor(expected))


def test_class_balanced_weights_by_hand() -> None:
    beta = 0.9
    loss = build_loss({"type": "class_balanced", "beta": beta}, class_counts=COUNTS)
    expected = []
    for row in ([6, 3, 1, 1], [2, 2, 2, 2]):
        raw = [(1 - beta) / (1 - beta**n) for n in row]
        expected.append([w * len(row) / sum(raw) for w in raw])
    torch.testing.assert_close(loss.class_weights, torch.tensor(expected))
    assert loss.class_weights[0, 2] > loss.class_weights[0, 1] > loss.class_weights[0, 0]


def test_logit_adjusted_priors_by_hand() -> None:
    loss = build_loss({"type": "logit_adjusted", "tau": 1.0}, class_counts=COUNTS)
    expected = [[math.log(n / 11) for n in (6, 3, 1, 1)], [math.log(0.25)] * 4]
    torch.testing.assert_close(loss.log_prior, torch.tensor(expected))


def test_weighted_cross_entropy_value_by_hand() -> None:
    loss = build_loss({"type": "cross_entropy", "weight": "auto"}, class_counts=COUNTS)
    logits = torch.tensor(
        [
            [[2.0, 0.0, -1.0, 0.5], [0.0, 1.0, 0.0, 0.0]],
            [[0.0, 0.0, 3.0, 0.0], [1.0, 1.0, 1.0, 1.0]],
        ]
    )
    targets = torch.tensor([[2, 1], [0, 3]])
    mask = torch.tensor([[True, True], [True, False]])
    weights = _inverse_frequency_by_hand()
    total = 0.0
    for b in range(2):
        for a in range(2):
            if not mask[b, a]:
                continue
            row = logits[b, a].tolist()
            t = int(targets[b, a])
            nll = -(row[t] - math.log(sum(math.exp(x) for x in row)))
            total += weights[a][t] * nll
    assert loss(logits, targets, mask).item() == pytest.approx(total / 3, rel=1e-6)


def test_training_counts_reach_the_loss(tmp_path: Path) -> None:
    """``alpha: auto`` in a run uses the training split's counts, masked cells left out."""
    from acsa.training.config import config_from_dict
    from acsa.training.run import _build_loss, _load_splits

    data = tmp_path / "data"
    data.mkdir()
    # Battery: 3 positive, 1 negative, 2 none, one unknown ("?"); Camera: 1 neutral, 6 none
    rows = [
        ("pin tốt", "Positive", ""),
        ("pin rất tốt", "Positive", ""),
        ("pin ổn", "Positive", "Neutral"),
        ("pin tệ", "Negative", ""),
        ("máy đẹp", "", ""),
        ("giao nhanh", "", ""),
        ("không rõ", "?", ""),
    ]
    lines = ["data,Battery,Camera"] + [",".join(r) for r in rows]
    (data / "train.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (data / "validation.csv").write_text("data,Battery,Camera\npin tốt,Positive,\n", "utf-8")
    config = config_from_dict(
        {
            "data": {
                "dir": str(data),
                "train": "train.csv",
                "validation": "validation.csv",
                "aspects": ["Battery", "Camera"],
                "missing_values": ["?"],
            },
            "loss": {"type": "focal", "alpha": "auto"},
            "output": {"dir": str(tmp_path / "run")},
        }
    )
    splits = _load_splits(config)
    loss = _build_loss(config, splits["train"])
    # over the known cells, in the order none, negative, neutral, positive
    battery = [2, 1, 0, 3]
    camera = [6, 0, 1, 0]
    expected = _inverse_frequency([battery, camera])
    torch.testing.assert_close(loss.classification.alpha, torch.tensor(expected))

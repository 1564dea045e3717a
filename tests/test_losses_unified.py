"""Unified focal loss (Yeung et al. 2022) against its formula and its known special cases."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from acsa.losses import (
    AsymmetricUnifiedFocalLoss,
    asymmetric_focal_loss,
    asymmetric_focal_tversky_loss,
)
from acsa.losses.compat import (
    AsymmetricFocalLoss,
    AsymmetricFocalTverskyLoss,
    MultiLabelUnifiedFocalLoss,
    UnifiedFocalLoss,
)


def data(seed=0, b=6, a=2, c=3):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, a, c, generator=g, dtype=torch.float64) * 2
    return logits, torch.randint(0, c, (b, a), generator=g)


def naive_unified(logits, targets, lam, delta, gamma, gamma_t, rare, eps=1e-7):
    b, a, c = logits.shape
    probs = torch.softmax(logits, -1).tolist()
    focal = 0.0
    for i in range(b):
        for k in range(a):
            t = int(targets[i, k])
            p = probs[i][k][t]
            if t in rare:
                focal += -delta * math.log(p)
            else:
                focal += -(1 - delta) * (1 - p) ** gamma * math.log(p)
    focal /= b * a
    tversky = 0.0
    for k in range(a):
        for cls in range(c):
            tp = fn = fp = 0.0
            for i in range(b):
                y = 1.0 if int(targets[i, k]) == cls else 0.0
                p = probs[i][k][cls]
                tp += y * p
                fn += y * (1 - p)
                fp += (1 - y) * p
            ti = (tp + eps) / (tp + delta * fn + (1 - delta) * fp + eps)
            tversky += (1 - ti) ** (1 - gamma_t) if cls in rare else 1 - ti
    tversky /= a * c
    return lam * focal + (1 - lam) * tversky


@pytest.mark.parametrize("lam,delta,gamma,gamma_t", [(0.5, 0.6, 0.5, 0.5), (0.3, 0.7, 2.0, 0.75)])
@pytest.mark.parametrize(
    "rare,background,expected_rare", [(None, 0, {1, 2}), ((2,), 0, {2}), (None, 2, {0, 1})]
)
def test_matches_formula(lam, delta, gamma, gamma_t, rare, background, expected_rare):
    logits, targets = data()
    loss = AsymmetricUnifiedFocalLoss(
        lam, delta, gamma, gamma_t, rare_classes=rare, background_class=background
    )
    expected = naive_unified(logits, targets, lam, delta, gamma, gamma_t, expected_rare)
    assert loss(logits, targets).item() == pytest.approx(expected, rel=1e-6)


def test_focal_part_with_half_delta_and_no_gamma_is_half_ce():
    logits, targets = data(1)
    ce = F.cross_entropy(logits.view(-1, 3), targets.view(-1))
    got = asymmetric_focal_loss(logits, targets, delta=0.5, gamma=0.0)
    torch.testing.assert_close(got, 0.5 * ce)
    torch.testing.assert_close(AsymmetricUnifiedFocalLoss(1.0, 0.5, 0.0)(logits, targets), 0.5 * ce)


def test_focal_part_without_rare_classes_is_scaled_focal():
    logits, targets = data(2)
    log_pt = torch.log_softmax(logits, -1).gather(-1, targets[..., None]).squeeze(-1)
    focal = (-((1 - log_pt.exp()) ** 2) * log_pt).mean()
    got = asymmetric_focal_loss(logits, targets, delta=0.25, gamma=2.0, rare_classes=())
    torch.testing.assert_close(got, 0.75 * focal)


def test_tversky_part_with_half_delta_is_soft_dice():
    logits, targets = data(3)
    p = torch.softmax(logits, -1)
    y = F.one_hot(targets, 3).double()
    dice = (2 * (p * y).sum(0) + 1e-7) / ((p + y).sum(0) + 1e-7)
    got = asymmetric_focal_tversky_loss(logits, targets, delta=0.5, gamma=0.0)
    torch.testing.assert_close(got, (1 - dice).mean())
    torch.testing.assert_close(AsymmetricUnifiedFocalLoss(0.0, 0.5, 2.0, 0.0)(logits, targets), got)


def test_compat_names_use_the_older_scheme_background():
    # The older scripts had 3 classes (positive, negative, neutral): neutral is background.
    logits, targets = data(4)
    torch.testing.assert_close(
        AsymmetricFocalLoss(0.7, 2.0)(logits, targets),
        asymmetric_focal_loss(logits, targets, delta=0.7, gamma=2.0, background_class=2),
    )
    torch.testing.assert_close(
        AsymmetricFocalTverskyLoss(0.7, 0.75)(logits, targets),
        asymmetric_focal_tversky_loss(logits, targets, delta=0.7, gamma=0.75, background_class=2),
    )
    seed_core = AsymmetricUnifiedFocalLoss(0.5, 0.6, 0.5, 0.5, background_class=2)
    multi = MultiLabelUnifiedFocalLoss(2, 3, 0.5, 0.6, 0.5, 0.5)
    torch.testing.assert_close(multi(logits, targets), seed_core(logits, targets))
    torch.testing.assert_close(UnifiedFocalLoss()(logits, targets), seed_core(logits, targets))
    # Four classes: the with_none scheme, none (0) is background.
    four, four_targets = data(4, c=4)
    torch.testing.assert_close(
        UnifiedFocalLoss()(four, four_targets), AsymmetricUnifiedFocalLoss()(four, four_targets)
    )
    # The older single-aspect call shape.
    flat = UnifiedFocalLoss()(logits[:, 0], targets[:, 0])
    torch.testing.assert_close(flat, UnifiedFocalLoss()(logits[:, :1], targets[:, :1]))
    with pytest.raises(ValueError, match="out of range"):
        AsymmetricUnifiedFocalLoss(rare_classes=(5,))(logits, targets)
    with pytest.raises(ValueError, match="num_sentiments"):
        multi(torch.randn(6, 2, 4), targets)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"weight": 0.5, "delta": 0.6, "gamma": 2.0, "gamma_tversky": 0.5},
        {"weight": 0.3, "delta": 0.7, "gamma": 0.5, "gamma_tversky": 0.75, "reduction": "sum"},
        {"weight": 0.8, "delta": 0.4, "gamma": 1.0, "rare_classes": (2,), "reduction": "none"},
        {"weight": 0.0, "delta": 0.5, "gamma": 0.0, "gamma_tversky": 0.0},
        {"weight": 1.0, "delta": 0.5, "gamma": 3.0},
    ],
)
@pytest.mark.parametrize("masked", [False, True])
def test_gradcheck(kwargs, masked):
    logits, targets = data(5, b=3)
    mask = torch.tensor([[True, False], [True, True], [False, True]]) if masked else None
    loss = AsymmetricUnifiedFocalLoss(**kwargs)
    assert torch.autograd.gradcheck(lambda x: loss(x, targets, mask), (logits.requires_grad_(),))

"""Contrastive losses against naive loops; masking, precision and edge cases."""

from __future__ import annotations

import math

import pytest
import torch

from acsa.losses import (
    MultiLabelSupConLoss,
    SoftContrastiveLoss,
    multilabel_supcon_loss,
    soft_contrastive_loss,
)
from acsa.losses.compat import ImprovedMultiLabelContrastiveLoss


def data(seed=0, b=7, d=5, a=3, c=4):
    g = torch.Generator().manual_seed(seed)
    emb = torch.randn(b, d, generator=g, dtype=torch.float64)
    targets = torch.randint(0, c, (b, a), generator=g)
    mask = torch.rand(b, a, generator=g) > 0.25
    return emb, targets, mask


def naive(emb, weight_fn, temperature):
    z = torch.nn.functional.normalize(emb, dim=-1).tolist()
    b = len(z)
    sims = [
        [sum(x * y for x, y in zip(z[i], z[j], strict=True)) / temperature for j in range(b)]
        for i in range(b)
    ]
    losses = []
    for i in range(b):
        denom = math.log(sum(math.exp(sims[i][k]) for k in range(b) if k != i))
        w = [weight_fn(i, j) if j != i else 0.0 for j in range(b)]
        if sum(w) <= 0:
            continue
        losses.append(-sum(w[j] * (sims[i][j] - denom) for j in range(b)) / sum(w))
    return sum(losses) / len(losses) if losses else 0.0


def test_supcon_matches_naive():
    emb, targets, mask = data()

    def weight(i, j):
        both = [k for k in range(targets.shape[1]) if mask[i, k] and mask[j, k]]
        if not both:
            return 0.0
        return sum(1 for k in both if targets[i, k] == targets[j, k]) / len(both)

    got = multilabel_supcon_loss(emb, targets, mask, temperature=0.2)
    assert got.item() == pytest.approx(naive(emb, weight, 0.2), rel=1e-6)
    torch.testing.assert_close(MultiLabelSupConLoss(0.2)(emb, targets, mask), got)


@pytest.mark.parametrize("base_weight,background,extra", [(0.1, 2, 1.0), (0.0, 0, 0.5)])
def test_soft_matches_naive(base_weight, background, extra):
    emb, targets, mask = data(1)

    def weight(i, j):
        both = [k for k in range(targets.shape[1]) if mask[i, k] and mask[j, k]]
        score = 0.0
        for k in both:
            if targets[i, k] == targets[j, k]:
                score += 1.0 + (extra if targets[i, k] != background else 0.0)
        return base_weight + (score / len(both) if both else 0.0)

    got = soft_contrastive_loss(
        emb,
        targets,
        mask,
        temperature=0.07,
        base_weight=base_weight,
        extra_weight=extra,
        background_class=background,
    )
    assert got.item() == pytest.approx(naive(emb, weight, 0.07), rel=1e-6)
    module = SoftContrastiveLoss(0.07, base_weight, extra, background_class=background)
    torch.testing.assert_close(module(emb, targets, mask), got)


def test_compat_contrastive_is_soft_variant():
    emb, targets, _ = data(2)
    old = ImprovedMultiLabelContrastiveLoss(temperature=0.07, base_weight=0.1)
    # The older scripts' scheme: positive, negative, neutral; neutral (2) is the background.
    expected = soft_contrastive_loss(emb, targets, background_class=2)
    torch.testing.assert_close(old(emb, targets), expected)


def test_no_positive_pairs_gives_zero_and_zero_grad():
    emb = torch.randn(4, 3, requires_grad=True)
    targets = torch.arange(4)[:, None]
    value = multilabel_supcon_loss(emb, targets)
    value.backward()
    assert value.item() == 0.0 and torch.equal(emb.grad, torch.zeros_like(emb))
    all_masked = torch.zeros(4, 1, dtype=torch.bool)
    assert multilabel_supcon_loss(emb, torch.zeros(4, 1).long(), all_masked).item() == 0.0


def test_bf16_autocast_and_gradcheck():
    emb, targets, mask = data(3, b=16)
    x = emb.float().requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = multilabel_supcon_loss(x, targets, mask) + soft_contrastive_loss(x, targets, mask)
    value.backward()
    assert value.dtype == torch.float32 and torch.isfinite(x.grad).all()
    small = emb[:5].clone().requires_grad_()
    assert torch.autograd.gradcheck(
        lambda e: soft_contrastive_loss(e, targets[:5], mask[:5], temperature=0.5), (small,)
    )


def test_shape_errors():
    with pytest.raises(ValueError, match=r"\[B, A\]"):
        multilabel_supcon_loss(torch.randn(4, 3), torch.zeros(4).long())
    with pytest.raises(ValueError, match=r"\[B, D\]"):
        multilabel_supcon_loss(torch.randn(4, 3, 2), torch.zeros(4, 1).long())

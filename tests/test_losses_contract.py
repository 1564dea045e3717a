"""Contract shared by every classification loss: shapes, reductions, masks, precision."""

from __future__ import annotations

import pytest
import torch

from acsa.losses import LOSS_TYPES, LossConfigError, build_loss

COUNTS = torch.tensor([[50, 5, 10, 35], [80, 2, 3, 15], [10, 30, 30, 30]])
CONFIGS = [
    {"type": "cross_entropy"},
    {"type": "cross_entropy", "weight": "auto", "label_smoothing": 0.1},
    {"type": "focal", "gamma": 2.0},
    {"type": "focal", "gamma": 0.5, "alpha": "auto"},
    {"type": "focal", "gamma": 2.0, "use_sigmoid": True},
    {"type": "focal", "gamma": 2.0, "use_sigmoid": True, "alpha": "auto"},
    {"type": "ghm", "bins": 10, "momentum": 0.75},
    {"type": "ghm", "bins": 5, "momentum": 0.0, "use_sigmoid": True, "per_aspect": True},
    {"type": "unified_focal"},
    {"type": "asymmetric"},
    {"type": "asymmetric", "gamma_pos": 0.5, "gamma_neg": 0.5, "clip": 0.0},
    {"type": "class_balanced", "beta": 0.99},
    {"type": "class_balanced", "beta": 0.99, "loss_type": "focal"},
    {"type": "logit_adjusted", "tau": 1.0},
]
IDS = [str(sorted(c.items())) for c in CONFIGS]


def make(cfg: dict):
    return build_loss(dict(cfg), class_counts=COUNTS)


def batch(b: int = 6, scale: float = 1.0, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    logits = (torch.randn(b, 3, 4, generator=g) * scale).requires_grad_()
    targets = torch.randint(0, 4, (b, 3), generator=g)
    mask = torch.rand(b, 3, generator=g) > 0.3
    return logits, targets, mask


def test_every_classification_type_is_covered():
    covered = {c["type"] for c in CONFIGS}
    assert covered == set(LOSS_TYPES) - {"supcon", "soft_contrastive", "combined"}


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_reductions_agree(cfg):
    logits, targets, mask = batch()
    per_cell = build_loss({**cfg, "reduction": "none"}, COUNTS)(logits, targets, mask)
    total = build_loss({**cfg, "reduction": "sum"}, COUNTS)(logits, targets, mask)
    mean = build_loss({**cfg, "reduction": "mean"}, COUNTS)(logits, targets, mask)
    assert per_cell.shape == targets.shape
    assert torch.all(per_cell[~mask] == 0)
    torch.testing.assert_close(per_cell.sum(), total)
    torch.testing.assert_close(total / mask.sum(), mean)


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_mask_excludes_cells(cfg):
    logits, targets, mask = batch()
    loss = make(cfg)
    garbage = targets.masked_fill(~mask, -1)
    value = loss(logits, garbage, mask)
    value.backward()
    assert torch.isfinite(value)
    assert torch.all(logits.grad[~mask] == 0)


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_all_masked_gives_zero(cfg):
    logits, targets, _ = batch()
    value = make(cfg)(logits, targets, torch.zeros_like(targets, dtype=torch.bool))
    value.backward()
    assert value.item() == 0.0
    assert torch.equal(logits.grad, torch.zeros_like(logits))


@pytest.mark.parametrize("scale", [100.0, 1e4])
@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_large_logits_are_finite(cfg, scale):
    logits, targets, mask = batch(scale=scale)
    value = make(cfg)(logits, targets, mask)
    value.backward()
    assert torch.isfinite(value)
    assert torch.isfinite(logits.grad).all()


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_bf16_autocast(cfg):
    logits, targets, mask = batch(b=16, scale=30.0)
    loss = make(cfg)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        value = loss(logits.bfloat16(), targets, mask)
    value.backward()
    assert value.dtype == torch.float32
    assert torch.isfinite(value) and torch.isfinite(logits.grad).all()
    reference = make(cfg)(logits.detach().bfloat16().float(), targets, mask)
    torch.testing.assert_close(value.detach(), reference, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cfg", CONFIGS, ids=IDS)
def test_bad_reduction_lists_allowed_values(cfg):
    with pytest.raises(LossConfigError, match=r"\['none', 'mean', 'sum'\]") as info:
        build_loss({**cfg, "reduction": "avg"}, COUNTS)
    assert (info.value.key, info.value.value) == ("reduction", "avg")
    assert info.value.allowed == ("none", "mean", "sum")

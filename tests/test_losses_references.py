"""Cross-checks against independent implementations (kornia, pytorch-metric-learning).

torchvision's ``sigmoid_focal_loss`` is not installable beside the pinned torch build
(GUIDE.md section 5); kornia's ``binary_focal_loss_with_logits`` is the same formula.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from acsa.losses import focal_loss, multilabel_supcon_loss, sigmoid_focal_loss
from tests.helpers.requirements import require_module

# test dependencies (the test extra): skipped where absent, a failure under .ci/run
kornia_losses = require_module("kornia.losses")
pml_losses = require_module("pytorch_metric_learning.losses")


def data(seed: int, b: int = 16, a: int = 5, c: int = 4, scale: float = 3.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, a, c, generator=g) * scale, torch.randint(0, c, (b, a), generator=g)


@pytest.mark.parametrize("gamma", [0.0, 1.0, 2.0, 3.5])
@pytest.mark.parametrize("seed", [0, 1])
def test_softmax_focal_matches_kornia(gamma, seed):
    logits, targets = data(seed)
    # kornia wants the classes on dim 1; alpha=None with reduction="sum" is the plain
    # per-cell focal loss summed (its "mean" would also divide by C).
    ref = kornia_losses.focal_loss(
        logits.permute(0, 2, 1), targets, alpha=None, gamma=gamma, reduction="sum"
    )
    torch.testing.assert_close(focal_loss(logits, targets, gamma=gamma, reduction="sum"), ref)


@pytest.mark.parametrize("alpha", [0.25, 0.5, None])
@pytest.mark.parametrize("gamma", [0.0, 2.0])
def test_sigmoid_focal_matches_kornia(alpha, gamma):
    logits, targets = data(2)
    onehot = F.one_hot(targets, 4).float()
    ref = kornia_losses.binary_focal_loss_with_logits(
        logits, onehot, alpha=alpha, gamma=gamma, reduction="none"
    )
    got = sigmoid_focal_loss(logits, targets, alpha=alpha, gamma=gamma, reduction="none")
    torch.testing.assert_close(got, ref.sum(-1), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("temperature", [0.1, 0.5])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_supcon_single_label_matches_pml(temperature, seed):
    g = torch.Generator().manual_seed(seed)
    emb = torch.randn(24, 16, generator=g)
    labels = torch.randint(0, 4, (24,), generator=g)
    ref = pml_losses.SupConLoss(temperature=temperature)(emb, labels)
    got = multilabel_supcon_loss(emb, labels[:, None], temperature=temperature)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)
    # Gradients agree as well.
    e1, e2 = emb.clone().requires_grad_(), emb.clone().requires_grad_()
    pml_losses.SupConLoss(temperature=temperature)(e1, labels).backward()
    multilabel_supcon_loss(e2, labels[:, None], temperature=temperature).backward()
    torch.testing.assert_close(e2.grad, e1.grad, rtol=1e-4, atol=1e-5)

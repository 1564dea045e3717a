"""Each loss against its paper formula written out naively in float64."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from acsa.losses import (
    ClassBalancedLoss,
    CrossEntropyLoss,
    GHMCLoss,
    SoftmaxFocalLoss,
    asymmetric_loss,
    class_balanced_weights,
    cross_entropy_loss,
    focal_loss,
    log_priors,
    logit_adjusted_loss,
    sigmoid_focal_loss,
    unified_focal_loss,
)


def small(seed: int = 0, b: int = 3, a: int = 2, c: int = 3, scale: float = 2.0):
    g = torch.Generator().manual_seed(seed)
    logits = (torch.randn(b, a, c, generator=g, dtype=torch.float64) * scale).requires_grad_()
    targets = torch.randint(0, c, (b, a), generator=g)
    return logits, targets


def softmax_probs(x):
    e = [math.exp(v) for v in x]
    s = sum(e)
    return [v / s for v in e]


def naive_focal(logits, targets, alpha, gamma):
    total, n = 0.0, 0
    for i in range(logits.shape[0]):
        for a in range(logits.shape[1]):
            t = int(targets[i, a])
            p = softmax_probs(logits[i, a].tolist())[t]
            w = 1.0 if alpha is None else float(alpha[a, t]) if alpha.dim() == 2 else float(alpha)
            total += -w * (1 - p) ** gamma * math.log(p)
            n += 1
    return total / n


def naive_sigmoid_focal(logits, targets, alpha, gamma):
    total, cells = 0.0, 0
    for i in range(logits.shape[0]):
        for a in range(logits.shape[1]):
            cells += 1
            for c in range(logits.shape[2]):
                p = 1 / (1 + math.exp(-float(logits[i, a, c])))
                y = 1.0 if int(targets[i, a]) == c else 0.0
                pt = p if y else 1 - p
                at = alpha if y else 1 - alpha
                total += -at * (1 - pt) ** gamma * math.log(pt)
    return total / cells


def naive_asl(logits, targets, gamma_pos, gamma_neg, clip):
    total, cells = 0.0, 0
    for i in range(logits.shape[0]):
        for a in range(logits.shape[1]):
            cells += 1
            for c in range(logits.shape[2]):
                p = 1 / (1 + math.exp(-float(logits[i, a, c])))
                if int(targets[i, a]) == c:
                    total += -((1 - p) ** gamma_pos) * math.log(p)
                else:
                    pm = max(p - clip, 0.0)
                    total += -(pm**gamma_neg) * math.log(1 - pm)
    return total / cells


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0])
def test_focal_softmax_matches_formula(gamma):
    logits, targets = small()
    alpha = torch.rand(2, 3, dtype=torch.float64)
    for a in (None, torch.tensor(0.3, dtype=torch.float64), alpha):
        got = focal_loss(logits.double(), targets, alpha=a, gamma=gamma)
        expected = naive_focal(logits.detach(), targets, a, gamma)
        assert got.item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("gamma", [0.0, 2.0])
def test_sigmoid_focal_matches_formula(gamma):
    logits, targets = small(seed=1)
    got = sigmoid_focal_loss(logits, targets, alpha=0.25, gamma=gamma)
    expected = naive_sigmoid_focal(logits.detach(), targets, 0.25, gamma)
    assert got.item() == pytest.approx(expected, rel=1e-5)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.1, 20.0))
def test_gamma_zero_focal_is_cross_entropy(seed, scale):
    logits, targets = small(seed=seed, b=5, a=3, c=4, scale=scale)
    ce = F.cross_entropy(logits.detach().view(-1, 4), targets.view(-1))
    torch.testing.assert_close(focal_loss(logits.detach(), targets, gamma=0.0), ce)
    torch.testing.assert_close(SoftmaxFocalLoss(gamma=0.0)(logits.detach(), targets), ce)


def test_cross_entropy_matches_torch_with_weights_and_smoothing():
    logits, targets = small(seed=2, b=4, a=3, c=4)
    x = logits.detach().float()
    w = torch.tensor([0.5, 2.0, 1.0, 3.0])
    ref = F.cross_entropy(
        x.view(-1, 4), targets.view(-1), weight=w, label_smoothing=0.1, reduction="sum"
    )
    got = cross_entropy_loss(x, targets, weight=w, label_smoothing=0.1, reduction="sum")
    torch.testing.assert_close(got, ref)
    # Per-(aspect, class) weights equal to the per-class ones give the same loss.
    wide = CrossEntropyLoss(weight=w.expand(3, 4).clone(), label_smoothing=0.1, reduction="sum")
    torch.testing.assert_close(wide(x, targets), ref)


@pytest.mark.parametrize(
    "gamma_pos,gamma_neg,clip", [(0.0, 4.0, 0.05), (1.0, 2.0, 0.0), (0.5, 3.0, 0.2)]
)
def test_asl_matches_formula(gamma_pos, gamma_neg, clip):
    logits, targets = small(seed=3)
    got = asymmetric_loss(logits, targets, gamma_pos=gamma_pos, gamma_neg=gamma_neg, clip=clip)
    expected = naive_asl(logits.detach(), targets, gamma_pos, gamma_neg, clip)
    assert got.item() == pytest.approx(expected, rel=1e-5)


def test_asl_with_zero_gammas_and_clip_is_bce():
    logits, targets = small(seed=4, b=5, a=3, c=4)
    x = logits.detach().float()
    onehot = F.one_hot(targets, 4).float()
    bce = F.binary_cross_entropy_with_logits(x, onehot, reduction="none").sum(-1).mean()
    got = asymmetric_loss(x, targets, gamma_pos=0.0, gamma_neg=0.0, clip=0.0)
    torch.testing.assert_close(got, bce)


def test_class_balanced_weights_formula():
    counts = torch.tensor([[100.0, 10.0, 1.0], [5.0, 5.0, 5.0]])
    beta = 0.99
    got = class_balanced_weights(counts, beta)
    for a in range(2):
        raw = [(1 - beta) / (1 - beta ** float(n)) for n in counts[a]]
        norm = [3 * r / sum(raw) for r in raw]
        assert got[a].tolist() == pytest.approx(norm, rel=1e-6)
    assert torch.allclose(class_balanced_weights(counts, 0.0), torch.ones(2, 3))


def test_class_balanced_loss_is_weighted_ce_and_focal():
    logits, targets = small(seed=5)
    x = logits.detach().float()
    counts = torch.tensor([[30, 3, 7], [10, 10, 1]])
    w = class_balanced_weights(counts, 0.9)
    ce = ClassBalancedLoss(counts, 0.9, "ce")(x, targets)
    expected = naive_focal(x.double(), targets, w.double(), 0.0)
    assert ce.item() == pytest.approx(expected, rel=1e-5)
    focal = ClassBalancedLoss(counts, 0.9, "focal", gamma=2.0)(x, targets)
    assert focal.item() == pytest.approx(naive_focal(x.double(), targets, w.double(), 2.0), 1e-5)


def test_logit_adjusted_formula():
    logits, targets = small(seed=6)
    counts = torch.tensor([[60, 30, 10], [1, 1, 98]])
    prior = counts / counts.sum(-1, keepdim=True)
    x = logits.detach().float()
    adjusted = x + 2.0 * prior.log()
    ref = F.cross_entropy(adjusted.view(-1, 3), targets.view(-1))
    got = logit_adjusted_loss(x, targets, log_priors(counts), tau=2.0)
    torch.testing.assert_close(got, ref)
    assert logit_adjusted_loss(x, targets, log_priors(counts), tau=0.0).item() == pytest.approx(
        F.cross_entropy(x.view(-1, 3), targets.view(-1)).item(), rel=1e-6
    )


ASPECT_WEIGHTS = torch.tensor([[0.5, 1.0, 2.0], [3.0, 1.0, 0.2]])
MASK = torch.tensor([[True, False], [True, True]])
ALPHA01 = torch.tensor([[0.2, 0.5, 0.9], [0.4, 0.6, 0.1]])


@pytest.mark.parametrize(
    "fn",
    [
        lambda x, t: focal_loss(x, t, gamma=2.0),
        lambda x, t: focal_loss(
            x, t, MASK, alpha=ASPECT_WEIGHTS.to(x), gamma=0.5, reduction="none"
        ),
        lambda x, t: focal_loss(x, t, MASK, alpha=0.3, gamma=1.0, reduction="sum"),
        lambda x, t: focal_loss(x, t, gamma=0.0),
        lambda x, t: sigmoid_focal_loss(x, t, alpha=0.25, gamma=2.0),
        lambda x, t: sigmoid_focal_loss(
            x, t, MASK, alpha=ALPHA01.to(x), gamma=0.5, reduction="none"
        ),
        lambda x, t: sigmoid_focal_loss(x, t, MASK, alpha=None, gamma=0.0, reduction="sum"),
        lambda x, t: asymmetric_loss(x, t, gamma_pos=1.0, gamma_neg=2.0, clip=0.0),
        lambda x, t: asymmetric_loss(x, t),
        lambda x, t: asymmetric_loss(
            x, t, MASK, gamma_pos=0.5, gamma_neg=0.5, clip=0.1, reduction="none"
        ),
        lambda x, t: cross_entropy_loss(x, t, label_smoothing=0.1),
        lambda x, t: cross_entropy_loss(x, t, weight=ASPECT_WEIGHTS.to(x)),
        lambda x, t: logit_adjusted_loss(x, t, log_priors(torch.tensor([5, 1, 2])), tau=1.0),
        lambda x, t: ClassBalancedLoss(torch.tensor([5, 1, 2]), 0.9, "focal")(x, t),
        lambda x, t: GHMCLoss(bins=10, momentum=0.5).eval()(x, t, MASK),
        lambda x, t: GHMCLoss(bins=10, use_sigmoid=True, reduction="sum").eval()(x, t),
        lambda x, t: unified_focal_loss(x, t, MASK, weight=0.3, delta=0.7, gamma=2.0),
    ],
    ids=[
        "focal",
        "focal_none_masked",
        "focal_sum_masked",
        "focal_gamma0",
        "sigmoid_focal",
        "sigmoid_focal_none_masked",
        "sigmoid_focal_gamma0_sum",
        "asl",
        "asl_default",
        "asl_masked_none",
        "ce",
        "ce_aspect_weights",
        "logit_adj",
        "cb_focal",
        "ghm_eval",
        "ghm_sigmoid_eval",
        "unified",
    ],
)
def test_gradients_match_finite_differences(fn):
    # Autograd computes every gradient; this guards the formulas' clamps and where's.
    # float64 input is kept in float64 inside, so gradcheck runs at its usual tolerance.
    # GHM-C in evaluation mode: its weights depend on the batch only (no g sits on a
    # bin edge here), so they are constant under gradcheck's small perturbations.
    logits, targets = small(seed=7, b=2, a=2, c=3)
    assert torch.autograd.gradcheck(lambda x: fn(x, targets), (logits,))

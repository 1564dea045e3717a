"""build_loss, CombinedLoss, the older names and the torch-only import."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

import acsa.losses as losses
from acsa.errors import ConfigError
from acsa.losses import LOSS_TYPES, CombinedLoss, LossConfigError, build_loss, loss_parameters


def test_old_quick_test_runs_with_only_the_import_changed(capsys):
    from acsa.losses import FocalLoss, MultiLabelGHM_Loss

    logits = torch.randn(32, 11, 3)
    targets = torch.randint(0, 3, (32, 11))
    focal = FocalLoss(alpha=1, gamma=2)
    focal_loss = sum(focal(logits[:, i, :], targets[:, i]) for i in range(11)) / 11
    ghm = MultiLabelGHM_Loss(num_aspects=11, num_sentiments=3, bins=10, momentum=0.75)
    ghm_loss = ghm(logits, targets)
    print(f"Focal Loss: {focal_loss.item():.4f}")
    print(f"GHM Loss: {ghm_loss.item():.4f}")
    out = capsys.readouterr().out
    assert "Focal Loss:" in out and "GHM Loss:" in out
    assert torch.isfinite(focal_loss) and torch.isfinite(ghm_loss)
    # The per-aspect average equals the [B, A, C] call.
    torch.testing.assert_close(focal_loss, FocalLoss(alpha=1, gamma=2)(logits, targets))


def test_every_type_builds_with_defaults():
    counts = torch.randint(1, 50, (3, 4))
    for loss_type in LOSS_TYPES:
        if loss_type == "combined":
            continue
        assert isinstance(build_loss({"type": loss_type}, counts), torch.nn.Module)


def test_unknown_type_and_parameter_errors_list_allowed():
    with pytest.raises(ValueError, match="allowed: .*'ghm'") as info:
        build_loss({"type": "ghmc"})
    assert isinstance(info.value, ConfigError) and isinstance(info.value, LossConfigError)
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['bin'\].*'bins'"):
        build_loss({"type": "ghm", "bin": 10})
    with pytest.raises(ValueError, match="missing 'type'"):
        build_loss({"gamma": 2.0})
    with pytest.raises(ValueError, match="class_counts"):
        build_loss({"type": "focal", "alpha": "auto"})
    with pytest.raises(ValueError, match="class_counts"):
        build_loss({"type": "logit_adjusted"})
    with pytest.raises(ValueError, match="momentum"):
        build_loss({"type": "ghm", "momentum": 1.5})
    with pytest.raises(ValueError, match="loss_type"):
        build_loss({"type": "class_balanced", "loss_type": "dice"}, torch.ones(2, 3))


def test_parameters_are_passed_through():
    loss = build_loss(
        {"type": "ghm", "bins": 7, "momentum": 0.5, "per_aspect": True},
        class_counts=torch.ones(5, 4),
    )
    assert (loss.bins, loss.momentum, loss.ema_counts.shape) == (7, 0.5, (5, 7))
    focal = build_loss({"type": "focal", "alpha": [1.0, 2.0, 3.0], "gamma": 1.0})
    assert focal.alpha.tolist() == [1.0, 2.0, 3.0] and focal.gamma == 1.0
    assert "label_smoothing" in loss_parameters("cross_entropy")


def test_combined():
    cfg = {
        "type": "combined",
        "classification": {"type": "focal", "gamma": 2.0},
        "contrastive": {"type": "supcon", "temperature": 0.1},
        "classification_weight": 1.0,
        "contrastive_weight": 0.5,
    }
    loss = build_loss(cfg)
    assert isinstance(loss, CombinedLoss)
    logits, targets = torch.randn(8, 3, 4, requires_grad=True), torch.randint(0, 4, (8, 3))
    emb = torch.randn(8, 16, requires_grad=True)
    out = loss(logits, targets, None, embeddings=emb)
    expected = out.parts["classification"] + 0.5 * out.parts["contrastive"]
    torch.testing.assert_close(out.total.detach(), expected)
    out.total.backward()
    assert emb.grad is not None and logits.grad is not None
    with pytest.raises(ValueError, match="embeddings"):
        loss(logits, targets)
    with pytest.raises(ValueError, match="contrastive_weight"):
        build_loss({k: v for k, v in cfg.items() if k != "contrastive_weight"})
    with pytest.raises(ValueError, match="not a contrastive loss"):
        build_loss({**cfg, "contrastive": {"type": "focal"}})
    only_cls = build_loss({"type": "combined", "classification": {"type": "cross_entropy"}})
    assert set(only_cls(logits, targets).parts) == {"classification"}


def test_public_names():
    for name in losses.__all__:
        assert hasattr(losses, name), name


def test_imports_with_torch_only():
    code = (
        "import sys, acsa.losses; "
        "bad = {'transformers', 'sklearn', 'pandas', 'scipy', 'pydantic', 'kornia'}; "
        "print(sorted(bad & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

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
    from acsa.losses.compat import FocalLoss, MultiLabelGHM_Loss

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


def test_compat_names_from_the_package_warn_and_resolve():
    from acsa.losses import compat

    for name in compat.__all__:
        with pytest.warns(DeprecationWarning, match="acsa.losses.compat"):
            assert getattr(losses, name) is getattr(compat, name)
        assert name not in losses.__all__
    with pytest.raises(AttributeError):
        losses.NoSuchLoss  # noqa: B018


def test_ce_alias_and_type_lists():
    assert set(losses.CLASSIFICATION_LOSSES) | set(losses.CONTRASTIVE_LOSSES) | {"combined"} == set(
        LOSS_TYPES
    )
    assert losses.LOSS_ALIASES == {"ce": "cross_entropy"}
    assert loss_parameters("ce") == loss_parameters("cross_entropy")
    assert isinstance(build_loss({"type": "ce"}), losses.CrossEntropyLoss)


def test_every_type_builds_with_defaults():
    counts = torch.randint(1, 50, (3, 4))
    for loss_type in LOSS_TYPES:
        if loss_type == "combined":
            continue
        assert isinstance(build_loss({"type": loss_type}, counts), torch.nn.Module)


def test_errors_carry_key_value_allowed_and_suggestion():
    with pytest.raises(LossConfigError) as info:
        build_loss({"type": "ghmc"})
    err = info.value
    assert isinstance(err, ConfigError) and isinstance(err, ValueError)
    assert (err.key, err.value, err.suggestion) == ("type", "ghmc", "ghm")
    assert err.allowed == LOSS_TYPES
    assert str(err).startswith("loss.type: unknown loss 'ghmc' (allowed: cross_entropy, focal")
    with pytest.raises(LossConfigError) as info:
        build_loss({"type": "ghm", "bins": 10, "ghm_momentun": 0.5})
    err = info.value
    assert (err.key, err.problem, err.suggestion) == ("ghm_momentun", "unknown key", "momentum")
    assert err.allowed == loss_parameters("ghm")
    assert str(err) == (
        "loss.ghm_momentun: unknown key (allowed: bins, momentum, use_sigmoid, per_aspect, "
        "num_aspects, reduction); did you mean 'momentum'?"
    )
    with pytest.raises(LossConfigError, match="loss.type: is missing"):
        build_loss({"gamma": 2.0})
    with pytest.raises(LossConfigError, match="loss.alpha: 'auto' needs class_counts") as info:
        build_loss({"type": "focal", "alpha": "auto"})
    with pytest.raises(LossConfigError, match="needs class_counts"):
        build_loss({"type": "logit_adjusted"})
    with pytest.raises(
        LossConfigError, match=r"loss.momentum: must be in \[0, 1\), got 1.5"
    ) as info:
        build_loss({"type": "ghm", "momentum": 1.5})
    assert (info.value.key, info.value.value) == ("momentum", 1.5)
    with pytest.raises(LossConfigError, match="momentum: must be in") as info:
        build_loss({"type": "ghm", "momentum": "high"})  # a string never reaches a comparison
    with pytest.raises(LossConfigError, match="bins: must be a positive integer"):
        build_loss({"type": "ghm", "bins": 2.5})
    with pytest.raises(LossConfigError, match="alpha: must be a number, a list"):
        build_loss({"type": "focal", "alpha": {"a": 1}})
    with pytest.raises(LossConfigError, match="loss_type") as info:
        build_loss({"type": "class_balanced", "loss_type": "dice"}, torch.ones(2, 3))
    assert info.value.allowed == ("ce", "focal")


def test_kind_restricts_the_types():
    with pytest.raises(LossConfigError, match="'focal' is not a contrastive loss") as info:
        build_loss({"type": "focal"}, kind="contrastive")
    assert info.value.allowed == losses.CONTRASTIVE_LOSSES
    assert isinstance(build_loss({"type": "supcon"}, kind="contrastive"), torch.nn.Module)


def test_background_class_is_supplied_not_configured():
    assert "background_class" not in loss_parameters("unified_focal")
    assert "background_class" not in loss_parameters("soft_contrastive")
    assert build_loss({"type": "unified_focal"}).background_class == 0
    assert build_loss({"type": "unified_focal"}, background_class=2).background_class == 2
    assert build_loss({"type": "soft_contrastive"}, background_class=2).background_class == 2
    # Losses without the notion ignore it.
    assert isinstance(build_loss({"type": "focal"}, background_class=2), torch.nn.Module)


def test_parameters_are_passed_through():
    loss = build_loss(
        {"type": "ghm", "bins": 7, "momentum": 0.5, "per_aspect": True},
        class_counts=torch.ones(5, 4),
    )
    assert (loss.bins, loss.momentum, loss.ema_counts.shape) == (7, 0.5, (5, 7))
    focal = build_loss({"type": "focal", "alpha": [1.0, 2.0, 3.0], "gamma": 1.0})
    assert focal.alpha.tolist() == [1.0, 2.0, 3.0] and focal.gamma == 1.0
    assert "alpha" in dict(focal.named_buffers())
    sigmoid = build_loss({"type": "focal", "use_sigmoid": True, "alpha": 0.25})
    assert isinstance(sigmoid, losses.SigmoidFocalLoss) and sigmoid.alpha.item() == 0.25
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
    with pytest.raises(LossConfigError, match="contrastive_weight"):
        build_loss({k: v for k, v in cfg.items() if k != "contrastive_weight"})
    with pytest.raises(
        LossConfigError, match="loss.contrastive.type: 'focal' is not a contrastive"
    ):
        build_loss({**cfg, "contrastive": {"type": "focal"}})
    with pytest.raises(LossConfigError) as info:
        build_loss({**cfg, "classification": {"type": "focal", "gama": 2.0}})
    assert (info.value.key, info.value.suggestion) == ("classification.gama", "gamma")
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


@pytest.mark.parametrize(
    ("config", "key", "fragment"),
    [
        ({"type": "ghm", "use_sigmoid": "yes"}, "use_sigmoid", "true or false"),
        ({"type": "unified_focal", "rare_classes": 2}, "rare_classes", "list of class"),
        ({"type": "unified_focal", "gamma_tversky": -1}, "gamma_tversky", ">= 0"),
        ({"type": "soft_contrastive", "base_weight": "x"}, "base_weight", ">= 0"),
        ({"type": "logit_adjusted", "tau": [1]}, "tau", ">= 0"),
        ({"type": "unified_focal", "epsilon": [1, 2]}, "epsilon", "> 0"),
    ],
)
def test_values_of_the_wrong_kind_name_their_key(config, key, fragment):
    with pytest.raises(LossConfigError, match=fragment) as info:
        build_loss(config, torch.ones(3, 4))
    assert info.value.key == key


def test_per_class_counts_do_not_size_per_aspect_ghm():
    with pytest.raises(LossConfigError, match="num_aspects"):
        build_loss({"type": "ghm", "per_aspect": True}, torch.ones(4))
    assert build_loss({"type": "ghm", "per_aspect": True}, torch.ones(5, 4)).num_aspects == 5

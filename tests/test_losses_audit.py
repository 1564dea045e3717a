"""Reproducers of the loss bugs an independent audit found (issue 11), one test each."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import yaml

from acsa.losses import LOSS_TYPES, GHMCLoss, build_loss
from acsa.losses.unified_focal import asymmetric_focal_loss
from acsa.training.config import build_configured_loss, load_config

COUNTS = torch.tensor([[50, 5, 10, 35], [80, 2, 3, 15], [10, 30, 30, 30]])
CLASSIFICATION = [
    {"type": "cross_entropy"},
    {"type": "cross_entropy", "weight": "auto", "label_smoothing": 0.1},
    {"type": "focal"},
    {"type": "focal", "use_sigmoid": True, "alpha": "auto"},
    {"type": "ghm"},
    {"type": "ghm", "use_sigmoid": True, "per_aspect": True},
    {"type": "unified_focal"},
    {"type": "asymmetric"},
    {"type": "class_balanced"},
    {"type": "class_balanced", "loss_type": "focal"},
    {"type": "logit_adjusted"},
]
IDS = [str(sorted(c.items())) for c in CLASSIFICATION]


def _config(tmp_path: Path, scheme: str, loss: dict) -> Path:
    raw = {
        "data": {"train": "train.csv", "aspects": ["A", "B", "C"], "label_scheme": scheme},
        "loss": loss,
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


# -- unified focal: the suppressed class follows the label scheme


def test_asymmetric_focal_background_is_an_argument() -> None:
    logits, targets = torch.zeros(1, 3, 3), torch.tensor([[0, 1, 2]])
    rare = 0.6 * math.log(3)  # delta * -log p
    common = 0.4 * math.sqrt(2 / 3) * math.log(3)  # (1 - delta) (1 - p)^gamma * -log p
    default = asymmetric_focal_loss(logits, targets, delta=0.6, gamma=0.5, reduction="none")
    assert default[0].tolist() == pytest.approx([common, rare, rare], rel=1e-5)
    seed = asymmetric_focal_loss(
        logits, targets, delta=0.6, gamma=0.5, background_class=2, reduction="none"
    )
    assert seed[0].tolist() == pytest.approx([rare, rare, common], rel=1e-5)


@pytest.mark.parametrize(("scheme", "background"), [("with_none", 0), ("seed", 2)])
def test_configured_unified_focal_suppresses_the_empty_cell_class(
    tmp_path: Path, scheme: str, background: int
) -> None:
    section = {"type": "unified_focal", "weight": 1.0, "delta": 0.6, "gamma": 0.5}
    config = load_config(_config(tmp_path, scheme, {**section, "reduction": "none"}))
    num_classes = 3 if scheme == "seed" else 4
    loss = build_configured_loss(config, torch.ones(3, num_classes))
    logits = torch.zeros(num_classes, 3, num_classes)
    targets = torch.arange(num_classes)[:, None].expand(-1, 3)
    per_class = loss(logits, targets).total[:, 0]
    rare = 0.6 * math.log(num_classes)
    common = 0.4 * math.sqrt(1 - 1 / num_classes) * math.log(num_classes)
    expected = [common if c == background else rare for c in range(num_classes)]
    assert per_class.tolist() == pytest.approx(expected, rel=1e-5)


# -- soft contrastive: "both not mentioned" is no sentiment match


def _pair_weight_loss(targets: torch.Tensor, background: int) -> torch.Tensor:
    from acsa.losses.contrastive import soft_contrastive_loss

    emb = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    return soft_contrastive_loss(
        emb,
        targets,
        temperature=1.0,
        base_weight=0.0,
        extra_weight=1.0,
        background_class=background,
    )


def test_soft_contrastive_background_matches_get_no_extra_weight() -> None:
    # Reviews 0 and 1 both leave aspect 0 unmentioned (class 0 under with_none); review 2
    # mentions it. A plain match weighs 1, a sentiment match 1 + extra_weight.
    none_match = torch.tensor([[0], [0], [3]])
    sentiment_match = torch.tensor([[3], [3], [0]])
    # Same geometry, same label structure: only the meaning of class 0 vs 3 differs.
    with_none = _pair_weight_loss(none_match, background=0)
    as_sentiment = _pair_weight_loss(sentiment_match, background=0)
    relabelled = _pair_weight_loss(none_match, background=3)
    torch.testing.assert_close(with_none, _pair_weight_loss(sentiment_match, background=3))
    torch.testing.assert_close(as_sentiment, relabelled)


@pytest.mark.parametrize(("scheme", "background"), [("with_none", 0), ("seed", 2)])
def test_configured_soft_contrastive_follows_the_scheme(
    tmp_path: Path, scheme: str, background: int
) -> None:
    loss_section = {
        "type": "cross_entropy",
        "contrastive": {"type": "soft_contrastive"},
        "contrastive_weight": 0.1,
    }
    config = load_config(_config(tmp_path, scheme, loss_section))
    loss = build_configured_loss(config, torch.ones(3, 3 if scheme == "seed" else 4))
    assert loss.contrastive.background_class == background


# -- one 'mean' rule: none.sum() / number of valid cells


@pytest.mark.parametrize("cfg", CLASSIFICATION, ids=IDS)
def test_mean_is_sum_of_none_over_valid_cells(cfg: dict) -> None:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, 3, 4, generator=g)
    targets = torch.randint(0, 4, (6, 3), generator=g)
    mask = torch.rand(6, 3, generator=g) > 0.3
    none = build_loss({**cfg, "reduction": "none"}, COUNTS)(logits, targets, mask)
    mean = build_loss({**cfg, "reduction": "mean"}, COUNTS)(logits, targets, mask)
    torch.testing.assert_close(mean, none.sum() / mask.sum())


# -- empty and all-masked batches: a zero that keeps the graph


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("cfg", CLASSIFICATION, ids=IDS)
@pytest.mark.parametrize(("batch", "masked"), [(0, False), (0, True), (5, True)])
def test_empty_or_all_masked_batch_gives_an_attached_zero(
    cfg: dict, batch: int, masked: bool, reduction: str
) -> None:
    logits = torch.randn(batch, 3, 4, requires_grad=True)
    targets = torch.randint(0, 4, (batch, 3))
    mask = torch.zeros(batch, 3, dtype=torch.bool) if masked else None
    value = build_loss({**cfg, "reduction": reduction}, COUNTS)(logits, targets, mask)
    assert value.item() == 0.0 and value.requires_grad
    value.backward()
    assert torch.equal(logits.grad, torch.zeros_like(logits))


@pytest.mark.parametrize("loss_type", ["supcon", "soft_contrastive"])
@pytest.mark.parametrize("batch", [0, 1])
def test_contrastive_on_tiny_batches_gives_an_attached_zero(loss_type: str, batch: int) -> None:
    emb = torch.randn(batch, 8, requires_grad=True)
    value = build_loss({"type": loss_type})(emb, torch.zeros(batch, 3, dtype=torch.long))
    assert value.item() == 0.0 and value.requires_grad
    value.backward()
    assert torch.equal(emb.grad, torch.zeros_like(emb))


def test_every_loss_type_is_covered_here() -> None:
    covered = {c["type"] for c in CLASSIFICATION} | {"supcon", "soft_contrastive", "combined"}
    assert covered == set(LOSS_TYPES)


# -- GHM-C statistics stay float32


def test_ghm_statistics_stay_float32_under_a_module_cast() -> None:
    g = torch.Generator().manual_seed(1)
    batches = [
        (torch.randn(128, 11, 4, generator=g) * 3, torch.randint(0, 4, (128, 11), generator=g))
        for _ in range(4)
    ]
    reference = GHMCLoss(bins=10, momentum=0.75).train()
    cast = GHMCLoss(bins=10, momentum=0.75).to(torch.bfloat16).train()
    assert cast.ema_counts.dtype == torch.float32 and cast.last_counts.dtype == torch.float32
    for logits, targets in batches:
        low = logits.bfloat16()  # both see the same rounded logits, hence the same bins
        expected = reference(low.float(), targets)
        got = cast(low, targets)
        torch.testing.assert_close(cast.ema_counts, reference.ema_counts)
        torch.testing.assert_close(got, expected)
    assert reference.ema_counts.max() > 256  # beyond bf16's exact integers
    cast.half()
    assert cast.ema_counts.dtype == torch.float32
    torch.testing.assert_close(cast.ema_counts, reference.ema_counts)


# -- NaN logits: a NaN loss (the trainer's nan_policy handles it), not an IndexError


@pytest.mark.parametrize("cfg", CLASSIFICATION, ids=IDS)
def test_nan_logits_give_a_nan_loss(cfg: dict) -> None:
    loss = build_loss(cfg, COUNTS).train()
    logits = torch.randn(4, 3, 4)
    logits[1, 2] = float("nan")
    before = {k: v.clone() for k, v in loss.state_dict().items()}
    value = loss(logits, torch.randint(0, 4, (4, 3)))
    assert torch.isnan(value)
    if cfg["type"] == "ghm":
        # the bad cell does not enter the statistics
        assert loss.last_counts.sum().item() == 11 * (4 if cfg.get("use_sigmoid") else 1)
        assert all(torch.isfinite(v).all() for v in loss.state_dict().values())
        assert set(before) == set(loss.state_dict())


# -- 'ce' is an accepted alias, in YAML, legacy configs and build_loss


def test_ce_alias_everywhere(tmp_path: Path) -> None:
    ce = build_loss({"type": "ce", "label_smoothing": 0.1})
    assert type(ce).__name__ == "CrossEntropyLoss" and ce.label_smoothing == 0.1
    config = load_config(_config(tmp_path, "with_none", {"type": "ce"}))
    assert type(build_configured_loss(config).classification).__name__ == "CrossEntropyLoss"
    legacy = {"paths": {"train_file": "train.csv"}, "multi_label": {"loss_type": "ce"}}
    path = tmp_path / "legacy.yaml"
    path.write_text(yaml.safe_dump(legacy), encoding="utf-8")
    assert load_config(path).loss.type == "cross_entropy"


def test_nan_logits_into_ghm_reach_the_trainers_nan_policy(tmp_path: Path) -> None:
    """Not an IndexError from the binning: a NaN loss the trainer reports by step and part."""
    from torch import nn
    from transformers import TrainingArguments

    from acsa.errors import TrainingError
    from acsa.training.gradient_stats import GradientNormTracker
    from acsa.training.trainer import AcsaTrainer

    class NaNModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bias = nn.Parameter(torch.zeros(()))

        def forward(self, **features: torch.Tensor) -> dict:
            return {"logits": torch.full((4, 3, 4), float("nan")) + self.bias}

    loss = build_loss({"type": "combined", "classification": {"type": "ghm"}})
    args = TrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to=[])
    trainer = AcsaTrainer(
        model=NaNModel(),
        args=args,
        loss_fn=loss,
        nan_policy="stop",
        gradient_tracker=GradientNormTracker(),
    )
    inputs = {"labels": torch.zeros(4, 3, dtype=torch.long)}
    with pytest.raises(TrainingError, match=r"step 1 \(loss part 'classification' = nan\)"):
        trainer.compute_loss(trainer.model.train(), inputs)
    assert torch.equal(loss.classification.ema_counts, torch.zeros(10))

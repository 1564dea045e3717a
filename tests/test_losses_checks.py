"""Option checks and documented defaults of the losses (gaps found by mutation testing).

Every loss must reject an out-of-range option with a :class:`LossOptionError`
naming it, in the function form as in the module form, and its defaults are part
of the API the older scripts and the configs rely on.
"""

from __future__ import annotations

import pytest
import torch

from acsa.losses import (
    AsymmetricLoss,
    CombinedLoss,
    CrossEntropyLoss,
    GHMCLoss,
    LossOptionError,
    asymmetric_loss,
    cross_entropy_loss,
    focal_loss,
    multilabel_supcon_loss,
    sigmoid_focal_loss,
    unified_focal_loss,
)
from acsa.losses._common import class_weights


def _batch(seed: int = 0, b: int = 6, a: int = 3, c: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, a, c, generator=g), torch.randint(0, c, (b, a), generator=g)


@pytest.mark.parametrize(
    ("call", "option"),
    [
        (lambda x, t: asymmetric_loss(x, t, gamma_pos=-1.0), "gamma_pos"),
        (lambda x, t: asymmetric_loss(x, t, gamma_neg=-0.5), "gamma_neg"),
        (lambda x, t: asymmetric_loss(x, t, clip=1.0), "clip"),
        (lambda x, t: asymmetric_loss(x, t, clip=-0.1), "clip"),
        (lambda x, t: AsymmetricLoss(gamma_neg=-1.0), "gamma_neg"),
        (lambda x, t: AsymmetricLoss(clip=1.0), "clip"),
        (lambda x, t: cross_entropy_loss(x, t, reduction="avg"), "reduction"),
        (lambda x, t: cross_entropy_loss(x, t, label_smoothing=1.5), "label_smoothing"),
        (lambda x, t: focal_loss(x, t, gamma=-1.0), "gamma"),
        (lambda x, t: focal_loss(x, t, reduction="avg"), "reduction"),
        (lambda x, t: sigmoid_focal_loss(x, t, gamma=-1.0), "gamma"),
        (lambda x, t: sigmoid_focal_loss(x, t, reduction="avg"), "reduction"),
        (lambda x, t: unified_focal_loss(x, t, reduction="avg"), "reduction"),
        (lambda x, t: unified_focal_loss(x, t, weight=1.5), "weight"),
        (lambda x, t: unified_focal_loss(x, t, delta=1.2), "delta"),
        (lambda x, t: unified_focal_loss(x, t, gamma_tversky=-1.0), "gamma_tversky"),
    ],
)
def test_out_of_range_options_are_rejected_by_name(call, option: str) -> None:
    logits, targets = _batch()
    with pytest.raises(LossOptionError) as info:
        call(logits, targets)
    assert info.value.option == option


@pytest.mark.parametrize("rare", [[4], [-1], [1, 4]])
def test_rare_classes_out_of_range_are_rejected(rare: list[int]) -> None:
    logits, targets = _batch()  # 4 classes: 0..3
    with pytest.raises(ValueError, match=r"class -?\d is out of range for 4 classes"):
        unified_focal_loss(logits, targets, rare_classes=rare)
    with pytest.raises(ValueError, match="class 4 is out of range for 4 classes"):
        unified_focal_loss(logits, targets, background_class=4)
    unified_focal_loss(logits, targets, rare_classes=[3])  # the last class is in range


def test_a_three_dimensional_class_table_is_rejected() -> None:
    with pytest.raises(LossOptionError, match=r"must be a number, \[C\] or \[A, C\], got shape"):
        class_weights(torch.ones(2, 3, 4).tolist(), None, "weight")
    with pytest.raises(LossOptionError, match=r"weight must be a number"):
        CrossEntropyLoss(weight=torch.ones(2, 3, 4))
    assert class_weights([1.0, 2.0], None, "weight").shape == (2,)
    assert class_weights([[1.0, 2.0]], None, "weight").shape == (1, 2)


@pytest.mark.parametrize("weights", [(-1.0, 0.0), (1.0, -0.5), (-1.0, -1.0)])
def test_negative_combined_weights_are_rejected(weights: tuple[float, float]) -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        CombinedLoss(CrossEntropyLoss(), None, *weights)


def test_ghm_cell_weights_check_the_aspect_count() -> None:
    loss = GHMCLoss(bins=5, per_aspect=True, num_aspects=3)
    logits, targets = _batch(a=2)
    with pytest.raises(ValueError, match="num_aspects=3 but logits have 2 aspects"):
        loss.cell_weights(logits, targets)
    with pytest.raises(ValueError, match="num_aspects=3 but logits have 2 aspects"):
        loss(logits, targets)


def test_documented_defaults() -> None:
    from acsa.losses.compat import FocalLoss

    logits, targets = _batch(3)
    # FocalLoss(alpha, gamma, reduction) of the older scripts: gamma 2 by default
    assert FocalLoss().gamma == 2.0
    torch.testing.assert_close(FocalLoss()(logits, targets), focal_loss(logits, targets, gamma=2.0))
    embeddings = torch.randn(6, 8, generator=torch.Generator().manual_seed(4))
    labels = torch.tensor([[1, 0], [1, 0], [2, 3], [2, 3], [0, 0], [1, 3]])
    torch.testing.assert_close(
        multilabel_supcon_loss(embeddings, labels),
        multilabel_supcon_loss(embeddings, labels, temperature=0.1),
    )
    assert AsymmetricLoss().gamma_neg == 4.0 and AsymmetricLoss().clip == 0.05

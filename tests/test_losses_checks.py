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
    AsymmetricUnifiedFocalLoss,
    CombinedLoss,
    CrossEntropyLoss,
    GHMCLoss,
    LossOptionError,
    MultiLabelSupConLoss,
    SigmoidFocalLoss,
    SoftContrastiveLoss,
    SoftmaxFocalLoss,
    asymmetric_loss,
    cross_entropy_loss,
    focal_loss,
    multilabel_supcon_loss,
    sigmoid_focal_loss,
    soft_contrastive_loss,
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


# Every defaulted parameter of the public losses, with where the value comes from. A
# changed default silently changes what a config or an older script trains, so the table
# must list every defaulted parameter (a new one has to be added here, on purpose).
_NONE = {"reduction": "mean"}
# the function and the module form of a loss share these
_FOCAL = {"alpha": None, "gamma": 2.0, **_NONE}
# Yeung et al. 2022 (unified focal): lambda 0.5, delta 0.6, gamma 0.5
_UNIFIED = {
    "weight": 0.5,
    "delta": 0.6,
    "gamma": 0.5,
    "gamma_tversky": None,
    "rare_classes": None,
    "background_class": 0,
    "epsilon": 1e-7,
    **_NONE,
}
# Ridnik et al. 2021 (ASL): gamma+ 0, gamma- 4, clip 0.05
_ASL = {"gamma_pos": 0.0, "gamma_neg": 4.0, "clip": 0.05, **_NONE}
# the older scripts' soft contrastive loss: temperature 0.07, base weight 0.1
_SOFT = {"temperature": 0.07, "base_weight": 0.1, "extra_weight": 1.0, "background_class": 0}
# the unified loss's parts alone, with the older classes' names
_UNIFIED_COMPAT = {"weight": 0.5, "delta": 0.6, "gamma": 0.5, "gamma_tversky": None}
DOCUMENTED_DEFAULTS: dict[str, dict[str, object]] = {
    # Lin et al. 2017 (focal): gamma 2; torchvision's sigmoid_focal_loss: alpha 0.25
    "focal_loss": {"mask": None, **_FOCAL},
    "sigmoid_focal_loss": {"mask": None, **_FOCAL, "alpha": 0.25},
    "SoftmaxFocalLoss": {**_FOCAL, "class_counts": None},
    "SigmoidFocalLoss": {**_FOCAL, "class_counts": None},
    # Li et al. 2019 (GHM-C): 10 bins (M = 30 in the paper's ablation), EMA momentum 0.75
    "GHMCLoss": {
        "bins": 10,
        "momentum": 0.75,
        "use_sigmoid": False,
        "per_aspect": False,
        "num_aspects": None,
        **_NONE,
    },
    "unified_focal_loss": {"mask": None, **_UNIFIED},
    "AsymmetricUnifiedFocalLoss": _UNIFIED,
    # the components alone: delta 0.7, gamma 2 (focal part) and 0.75 (Tversky part)
    "asymmetric_focal_loss": {
        "mask": None,
        "delta": 0.7,
        "gamma": 2.0,
        "rare_classes": None,
        "background_class": 0,
        **_NONE,
    },
    "asymmetric_focal_tversky_loss": {
        "mask": None,
        "delta": 0.7,
        "gamma": 0.75,
        "rare_classes": None,
        "background_class": 0,
        "epsilon": 1e-7,
    },
    "asymmetric_loss": {"mask": None, **_ASL},
    "AsymmetricLoss": _ASL,
    # Cui et al. 2019 (class-balanced): beta 0.9999, focal gamma 2
    "class_balanced_weights": {"beta": 0.9999},
    "ClassBalancedLoss": {"beta": 0.9999, "loss_type": "ce", "gamma": 2.0, **_NONE},
    # Menon et al. 2021 (logit adjustment): tau 1
    "logit_adjusted_loss": {"mask": None, "tau": 1.0, **_NONE},
    "LogitAdjustedLoss": {"tau": 1.0, **_NONE},
    "cross_entropy_loss": {"mask": None, "weight": None, "label_smoothing": 0.0, **_NONE},
    "CrossEntropyLoss": {"weight": None, "label_smoothing": 0.0, "class_counts": None, **_NONE},
    # Khosla et al. 2020 (SupCon): temperature 0.1 here (0.07 in the paper's ImageNet runs)
    "multilabel_supcon_loss": {"mask": None, "temperature": 0.1},
    "MultiLabelSupConLoss": {"temperature": 0.1},
    "soft_contrastive_loss": {"mask": None, **_SOFT},
    "SoftContrastiveLoss": _SOFT,
    # a combined loss is its classification part unless a contrastive weight is given
    "CombinedLoss": {"contrastive": None, "classification_weight": 1.0, "contrastive_weight": 0.0},
    "gradient_norm": {"use_sigmoid": False},
    "build_loss": {"class_counts": None, "background_class": None, "kind": None},
    # the older scripts' class names (acsa.losses.compat), with their own defaults
    "compat.FocalLoss": _FOCAL,
    "compat.GHM_Loss": {"bins": 10, "momentum": 0.0, "use_sigmoid": True, "loss_weight": 1.0},
    "compat.MultiLabelGHM_Loss": {"bins": 10, "momentum": 0.75, "loss_weight": 1.0},
    "compat.AsymmetricFocalLoss": {"delta": 0.7, "gamma": 2.0},
    "compat.AsymmetricFocalTverskyLoss": {"delta": 0.7, "gamma": 0.75, "epsilon": 1e-7},
    "compat.UnifiedFocalLoss": {**_UNIFIED_COMPAT, "epsilon": 1e-7, "background_class": None},
    "compat.MultiLabelUnifiedFocalLoss": _UNIFIED_COMPAT,
    "compat.ImprovedMultiLabelContrastiveLoss": {
        "temperature": 0.07,
        "base_weight": 0.1,
        "background_class": 2,
    },
}


def _public(name: str):
    import acsa.losses
    import acsa.losses.compat

    if name.startswith("compat."):
        return getattr(acsa.losses.compat, name.removeprefix("compat."))
    return getattr(acsa.losses, name)


@pytest.mark.parametrize("name", sorted(DOCUMENTED_DEFAULTS))
def test_every_default_is_the_documented_one(name: str) -> None:
    import inspect

    params = inspect.signature(_public(name)).parameters
    defaults = {
        k: p.default
        for k, p in params.items()
        if p.default is not inspect.Parameter.empty and k != "kwargs"
    }
    assert defaults == DOCUMENTED_DEFAULTS[name]


def test_the_defaults_table_covers_every_public_loss() -> None:
    import inspect

    import acsa.losses
    import acsa.losses.compat

    with_defaults = set()
    for prefix, module in (("", acsa.losses), ("compat.", acsa.losses.compat)):
        for name in module.__all__:
            obj = getattr(module, name)
            if not callable(obj) or (isinstance(obj, type) and issubclass(obj, Exception)):
                continue
            try:
                params = inspect.signature(obj).parameters.values()
            except (TypeError, ValueError):
                continue
            if any(p.default is not inspect.Parameter.empty for p in params):
                with_defaults.add(prefix + name)
    with_defaults.discard("LossOutput")  # a result record, not a loss
    assert with_defaults <= set(DOCUMENTED_DEFAULTS)


@pytest.mark.parametrize(
    ("make", "option"),
    [
        (lambda: SoftmaxFocalLoss(gamma=-1.0), "gamma"),
        (lambda: SigmoidFocalLoss(gamma=-0.5), "gamma"),
        (lambda: MultiLabelSupConLoss(temperature=0.0), "temperature"),
        (lambda: SoftContrastiveLoss(temperature=0.0), "temperature"),
        (lambda: SoftContrastiveLoss(base_weight=-0.1), "base_weight"),
        (lambda: SoftContrastiveLoss(extra_weight=-1.0), "extra_weight"),
        (lambda: AsymmetricUnifiedFocalLoss(reduction="avg"), "reduction"),
        (lambda: GHMCLoss(bins=10**30), "bins"),
    ],
)
def test_modules_check_their_options_when_built(make, option: str) -> None:
    with pytest.raises(LossOptionError) as info:
        make()
    assert info.value.option == option


@pytest.mark.parametrize(
    "call",
    [
        lambda e, t: soft_contrastive_loss(e, t, temperature=0.0),
        lambda e, t: multilabel_supcon_loss(e, t, temperature=0.0),
    ],
)
def test_contrastive_functions_reject_a_zero_temperature(call) -> None:
    embeddings = torch.randn(4, 8, generator=torch.Generator().manual_seed(0))
    targets = torch.tensor([[1, 0], [1, 0], [2, 3], [0, 3]])
    with pytest.raises(LossOptionError) as info:
        call(embeddings, targets)
    assert info.value.option == "temperature"


def test_reduction_is_checked_by_each_unified_focal_part() -> None:
    from acsa.losses import asymmetric_focal_loss

    logits, targets = _batch()
    with pytest.raises(LossOptionError) as info:
        asymmetric_focal_loss(logits, targets, reduction="avg")
    assert info.value.option == "reduction"


def test_focal_auto_alpha_by_hand() -> None:
    counts = torch.tensor([[70.0, 10.0, 5.0, 15.0], [40.0, 20.0, 20.0, 20.0]])
    # sigmoid form: alpha weighs the positive term, so 1 - the class frequency
    complement = torch.tensor([[0.30, 0.90, 0.95, 0.85], [0.60, 0.80, 0.80, 0.80]])
    torch.testing.assert_close(
        SigmoidFocalLoss(alpha="auto", class_counts=counts).alpha, complement
    )
    # an aspect seen once or never: the frequency of its total, not of a clamped total
    rare = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    torch.testing.assert_close(
        SigmoidFocalLoss(alpha="auto", class_counts=rare).alpha,
        torch.tensor([[0.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]]),
    )
    # softmax form: inverse frequency N_a / (C n_ac)
    inverse = torch.tensor([[100 / 280, 2.5, 5.0, 100 / 60], [0.625, 1.25, 1.25, 1.25]])
    torch.testing.assert_close(SoftmaxFocalLoss(alpha="auto", class_counts=counts).alpha, inverse)


def test_build_loss_names_what_it_expected() -> None:
    from acsa.losses import LossConfigError, build_loss

    with pytest.raises(LossConfigError, match="expected a dict with a 'type' key, got 'focal'"):
        build_loss("focal")
    combined = build_loss({"type": "combined", "classification": {"type": "focal"}})
    assert combined.contrastive is None and combined.contrastive_weight == 0.0
    assert combined.classification_weight == 1.0


def test_an_unnamed_construction_error_is_one_line(monkeypatch) -> None:
    from acsa.losses import LossConfigError, build_loss, registry

    def broken(size: int = 1) -> torch.nn.Module:
        raise ValueError("cannot allocate\nException raised from a C++ frame #0 ...")

    monkeypatch.setitem(registry._CLASSIFICATION, "cross_entropy", broken)
    with pytest.raises(LossConfigError) as info:
        build_loss({"type": "cross_entropy", "size": 3})
    assert str(info.value) == "loss: type 'cross_entropy': cannot allocate"
    assert info.value.key == ""


def test_losses_reject_logits_that_are_not_three_dimensional() -> None:
    with pytest.raises(ValueError, match=r"logits must have shape \[B, A, C\], got \(6, 4\)"):
        focal_loss(torch.randn(6, 4), torch.zeros(6, 3, dtype=torch.long))


def test_safe_pow_by_hand() -> None:
    from acsa.losses._common import safe_pow

    base = torch.tensor([0.0, 0.25, 0.5, 1.0])
    torch.testing.assert_close(safe_pow(base, 2.0), base**2)
    torch.testing.assert_close(safe_pow(base, 1.0), base)
    torch.testing.assert_close(safe_pow(base, 0.0), torch.ones(4))
    torch.testing.assert_close(safe_pow(base, 0.5), base.clamp_min(1e-12) ** 0.5)


def test_compat_ghm_takes_float_class_indices() -> None:
    from acsa.losses.compat import GHM_Loss

    pred = torch.randn(5, 4, generator=torch.Generator().manual_seed(1))
    target = torch.tensor([0, 1, 2, 3, 1])
    torch.testing.assert_close(GHM_Loss()(pred, target.float()), GHM_Loss()(pred, target))


@pytest.mark.parametrize(
    ("embeddings", "targets", "message"),
    [
        (torch.randn(4, 2, 8), torch.zeros(4, 2, dtype=torch.long), r"embeddings must have shape"),
        (torch.randn(4, 8), torch.zeros(5, 2, dtype=torch.long), r"with B = 4, got \(5, 2\)"),
        (torch.randn(4, 8), torch.zeros(4, dtype=torch.long), r"for one aspect use"),
    ],
)
def test_soft_contrastive_checks_its_shapes(embeddings, targets, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        soft_contrastive_loss(embeddings, targets)


def test_focal_tversky_of_an_absent_unlikely_class_is_zero() -> None:
    # class 3 never occurs and the model gives it ~1e-13: TI = (0 + eps) / (~0 + eps) = 1,
    # so the class adds nothing (a denominator that dropped eps would blow this up)
    from acsa.losses import asymmetric_focal_tversky_loss

    logits = torch.zeros(4, 1, 4, dtype=torch.float64)
    logits[..., 3] = -30.0
    targets = torch.tensor([[0], [1], [2], [1]])
    prob = logits.softmax(-1)[:, 0]  # [B, C]
    truth = torch.nn.functional.one_hot(targets[:, 0], 4).to(prob)
    delta, eps, gamma = 0.7, 1e-7, 0.75
    tp = (prob * truth).sum(0)
    ti = (tp + eps) / (delta * truth.sum(0) + (1 - delta) * prob.sum(0) + eps)
    one_minus = 1 - ti
    assert float(one_minus[3]) == pytest.approx(0.0, abs=1e-5)
    terms = torch.where(torch.arange(4) > 0, one_minus.clamp_min(0) ** (1 - gamma), one_minus)
    expected = terms.mean()
    got = asymmetric_focal_tversky_loss(logits, targets, delta=delta, gamma=gamma, epsilon=eps)
    assert float(got) == pytest.approx(float(expected), rel=1e-6)


def test_class_balanced_weights_check_beta() -> None:
    from acsa.losses import class_balanced_weights

    with pytest.raises(LossOptionError) as info:
        class_balanced_weights(torch.tensor([10.0, 5.0]), beta=1.0)
    assert info.value.option == "beta"


def test_older_classes_keep_the_single_aspect_shape() -> None:
    from acsa.losses.compat import FocalLoss

    logits, targets = _batch(5, b=6, a=1)
    flat = FocalLoss(reduction="none")(logits[:, 0], targets[:, 0])
    assert flat.shape == (6,)
    torch.testing.assert_close(flat, FocalLoss(reduction="none")(logits, targets)[:, 0])
    assert FocalLoss(reduction="none")(logits, targets).shape == (6, 1)


def test_multilabel_ghm_scales_by_its_loss_weight() -> None:
    from acsa.losses.compat import MultiLabelGHM_Loss

    logits, targets = _batch(6, b=8, a=3, c=4)
    plain = GHMCLoss(momentum=0.0, per_aspect=True, num_aspects=3)(logits, targets)
    two = MultiLabelGHM_Loss(num_aspects=3, num_sentiments=4, momentum=0.0, loss_weight=2.0)
    torch.testing.assert_close(two(logits, targets), 2 * plain)
    half = MultiLabelGHM_Loss(num_aspects=3, num_sentiments=4, momentum=0.0, loss_weight=0.5)
    torch.testing.assert_close(half(logits, targets), 0.5 * plain)


def test_contrastive_mask_shape_is_checked() -> None:
    embeddings = torch.randn(4, 8, generator=torch.Generator().manual_seed(0))
    targets = torch.zeros(4, 2, dtype=torch.long)
    with pytest.raises(ValueError, match=r"mask must have shape \(4, 2\), got \(4, 3\)"):
        soft_contrastive_loss(embeddings, targets, torch.ones(4, 3, dtype=torch.bool))


def test_build_loss_checks_kind_and_the_combined_parts() -> None:
    from acsa.losses import LossConfigError, build_loss

    with pytest.raises(ValueError, match=r"kind must be one of \['classification', 'contrast"):
        build_loss({"type": "focal"}, kind="other")
    with pytest.raises(LossConfigError, match=r"loss\.classification: is missing"):
        build_loss({"type": "combined", "contrastive": {"type": "supcon"}})


def test_a_combined_loss_may_drop_its_classification_part() -> None:
    from acsa.losses import MultiLabelSupConLoss as SupCon

    loss = CombinedLoss(
        CrossEntropyLoss(), SupCon(), classification_weight=0.0, contrastive_weight=1.0
    )
    assert loss.classification_weight == 0.0


def test_compat_ghm_masks_samples_by_label_weight() -> None:
    from acsa.losses.compat import GHM_Loss

    g = torch.Generator().manual_seed(2)
    pred = torch.randn(6, 4, generator=g)
    target = torch.nn.functional.one_hot(torch.tensor([0, 1, 2, 3, 1, 0]), 4).float()
    label_weight = torch.ones(6, 4)
    label_weight[[1, 4]] = 0.0  # two samples left out, the older mmdet way
    keep = torch.tensor([0, 2, 3, 5])
    torch.testing.assert_close(
        GHM_Loss()(pred, target, label_weight), GHM_Loss()(pred[keep], target[keep])
    )

"""Tests of acsa.models: config, featurizers, forward shapes, save/load, inference."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from acsa.data.label_space import LabelSpace
from acsa.errors import CheckpointError
from acsa.models import (
    AcsaModel,
    HFFeaturizer,
    HuggingFaceModelConfig,
    OfflineFeaturizer,
    OfflineModelConfig,
    build_model,
    parse_model_config,
    predict_logits,
)
from acsa.models.text import tokenize
from tests.helpers.tiny_bert import build_tiny_bert, sample_texts

TEXTS = [
    "Pin trâu, camera chụp đẹp lắm!",
    "Giao hàng chậm, shop không nhiệt tình.",
    "máy ok",
    "Màn hình sáng nhưng loa hơi nhỏ, giá thì rẻ so với cấu hình",
    "Đóng gói cẩn thận. Pin trâu",
    "",
]
ASPECTS = ("Battery", "Camera", "Shipping")
SMALL = {
    "embedding_dim": 16,
    "hidden_size": 16,
    "char_min_count": 1,
    "bag_min_count": 1,
    "head": {"hidden_dim": 16, "projection_dim": 8},
}


def _offline(overrides: dict | None = None, scheme: str = "with_none"):
    torch.manual_seed(0)
    config = parse_model_config({**SMALL, **(overrides or {})})
    return build_model(config, LabelSpace(ASPECTS, scheme), TEXTS)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- config
def test_config_defaults_to_offline_and_rejects_unknown_keys() -> None:
    assert isinstance(parse_model_config(None), OfflineModelConfig)
    assert isinstance(parse_model_config({"encoder": "offline"}), OfflineModelConfig)
    with pytest.raises(ValidationError):
        parse_model_config({"encoder": "offline", "rnn_size": 3})
    with pytest.raises(ValidationError):
        parse_model_config({"head": {"hidden": 3}})
    with pytest.raises(ValidationError):
        parse_model_config({"encoder": "keras"})
    with pytest.raises(ValidationError):
        parse_model_config({"kernel_size": 4})


def test_huggingface_config_never_downloads_by_default() -> None:
    config = parse_model_config({"encoder": "huggingface", "name_or_path": "some/model"})
    assert isinstance(config, HuggingFaceModelConfig)
    assert config.local_files_only is True
    assert config.pooling == "cls"
    with pytest.raises(ValidationError):
        parse_model_config({"encoder": "huggingface"})  # name_or_path is required
    with pytest.raises(ValidationError):
        parse_model_config({"encoder": "huggingface", "name_or_path": "x", "pooling": "max"})


# ------------------------------------------------------------------ offline featurizer
def test_offline_encode_and_collate_pad_dynamically() -> None:
    config = OfflineModelConfig(**SMALL)
    featurizer = OfflineFeaturizer.fit(config, TEXTS)
    features = featurizer.encode(TEXTS)
    assert len(features) == len(TEXTS)
    assert features[-1]["input_ids"] == [1]  # an empty review still has one (unknown) token
    for f in features[:-1]:
        assert len(f["char_counts"]) == len(f["input_ids"])
        assert sum(f["char_counts"]) == len(f["char_ids"])
    batch = featurizer.collate(features[2:4])
    longest = max(len(f["input_ids"]) for f in features[2:4])
    assert batch["input_ids"].shape == (2, longest)  # padded to the batch, not to max_length
    assert batch["attention_mask"].sum().item() == sum(len(f["input_ids"]) for f in features[2:4])
    assert batch["char_ids"].shape[:2] == (2, longest)
    assert batch["bag_ids"].shape[0] == 2
    assert (batch["input_ids"][0, len(features[2]["input_ids"]) :] == 0).all()


def test_offline_featurizer_save_load_round_trip(tmp_path: Path) -> None:
    featurizer = OfflineFeaturizer.fit(OfflineModelConfig(**SMALL), TEXTS)
    featurizer.save(tmp_path)
    loaded = OfflineFeaturizer.load(tmp_path)
    assert loaded.encode(TEXTS) == featurizer.encode(TEXTS)
    unseen = ["Pinn trâuu quá", "camera xấu"]
    assert loaded.encode(unseen) == featurizer.encode(unseen)


# ---------------------------------------------------------------------- offline model
@pytest.mark.parametrize("sequence", ["cnn", "gru", "none"])
def test_offline_forward_shapes(sequence: str) -> None:
    model, featurizer = _offline({"sequence": sequence})
    out = model(**featurizer.collate(featurizer.encode(TEXTS)))
    assert out["logits"].shape == (len(TEXTS), len(ASPECTS), 4)
    assert out["projections"].shape == (len(TEXTS), 8)


def test_no_projection_head_and_seed_scheme() -> None:
    model, featurizer = _offline({"head": {"hidden_dim": 0, "projection_dim": 0}}, scheme="seed")
    batch = featurizer.collate(featurizer.encode(TEXTS))
    batch["labels"] = torch.zeros(len(TEXTS), len(ASPECTS), dtype=torch.long)  # ignored
    batch["example_index"] = torch.arange(len(TEXTS))  # ignored
    out = model(**batch)
    assert out["logits"].shape == (len(TEXTS), len(ASPECTS), 3)
    assert "projections" not in out


def test_offline_logits_do_not_depend_on_batch_padding() -> None:
    model, featurizer = _offline()
    model.eval()
    features = featurizer.encode(TEXTS)
    with torch.no_grad():
        together = model(**featurizer.collate(features))["logits"]
        alone = torch.cat([model(**featurizer.collate([f]))["logits"] for f in features])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-5)


def test_token_dropout_reads_known_tokens_as_unknown_in_training_only() -> None:
    model, featurizer = _offline({"token_dropout": 0.5, "embedding_dropout": 0.0})
    batch = featurizer.collate(featurizer.encode(TEXTS))
    seen: list[torch.Tensor] = []
    handle = model.encoder.token_embedding.register_forward_hook(
        lambda _module, inputs, _output: seen.append(inputs[0].clone())
    )
    torch.manual_seed(1)
    model.train()
    model(**batch)
    model.eval()
    model(**batch)
    handle.remove()
    trained, evaluated = seen
    ids = batch["input_ids"]
    assert torch.equal(evaluated, ids)  # evaluation reads every token
    changed = trained != ids
    assert changed.any()
    assert torch.all(trained[changed] == 1)  # dropped tokens become <unk> ...
    assert torch.all(ids[changed] > 1)  # ... and padding or <unk> are never touched
    share = changed.sum().item() / (ids > 1).sum().item()
    assert 0.25 < share < 0.75


def test_default_offline_encoder_reads_a_review_of_several_hundred_syllables_whole() -> None:
    config = parse_model_config({})
    long_review = " ".join(["pin trâu", "màn hình đẹp", "giao hàng nhanh"] * 120)  # 840 tokens
    featurizer = OfflineFeaturizer.fit(config, [long_review, "máy ok"])
    assert len(featurizer.encode([long_review])[0]["input_ids"]) == len(tokenize(long_review))


def test_offline_save_load_gives_identical_logits(tmp_path: Path) -> None:
    model, featurizer = _offline()
    model.save_pretrained(tmp_path / "m")
    names = {p.name for p in (tmp_path / "m").iterdir()}
    assert {"model.safetensors", "acsa_model.json", "featurizer.json"} <= names
    meta = json.loads((tmp_path / "m" / "acsa_model.json").read_text(encoding="utf-8"))
    assert meta["aspects"] == list(ASPECTS)
    assert meta["label_space"]["scheme"] == "with_none"
    assert meta["model_config"]["encoder"] == "offline"
    loaded, loaded_featurizer = AcsaModel.from_pretrained(tmp_path / "m")
    assert loaded.label_space == model.label_space
    before = predict_logits(model, featurizer, TEXTS, batch_size=4)
    after = predict_logits(loaded, loaded_featurizer, TEXTS, batch_size=4)
    np.testing.assert_array_equal(before, after)
    # other batch compositions only change float summation order
    regrouped = predict_logits(loaded, loaded_featurizer, TEXTS, batch_size=2)
    np.testing.assert_allclose(before, regrouped, rtol=1e-5, atol=1e-6)


def test_predict_logits_restores_input_order() -> None:
    model, featurizer = _offline()
    model.eval()
    logits = predict_logits(model, featurizer, TEXTS, batch_size=2)
    assert logits.shape == (len(TEXTS), len(ASPECTS), 4)
    assert logits.dtype == np.float32
    with torch.no_grad():
        for i, text in enumerate(TEXTS):
            single = model(**featurizer.collate(featurizer.encode([text])))["logits"][0]
            np.testing.assert_allclose(logits[i], single.numpy(), rtol=1e-5, atol=1e-5)
    assert predict_logits(model, featurizer, []).shape == (0, len(ASPECTS), 4)


def test_create_optimizer_resumes_exactly() -> None:
    model, featurizer = _offline()
    batch = featurizer.collate(featurizer.encode(TEXTS))
    opt = model.create_optimizer(learning_rate=1e-2, weight_decay=0.01)
    assert isinstance(opt, torch.optim.Optimizer)
    assert {g["weight_decay"] for g in opt.param_groups} == {0.0, 0.01}
    assert sum(len(g["params"]) for g in opt.param_groups) == len(list(model.parameters()))
    model.eval()  # no dropout so the two continuations are comparable

    def step(m: AcsaModel, o: torch.optim.Optimizer) -> None:
        o.zero_grad()
        m(**batch)["logits"].square().mean().backward()
        o.step()

    step(model, opt)
    twin, _ = _offline()
    twin.load_state_dict(model.state_dict())
    twin_opt = twin.create_optimizer(learning_rate=1e-2, weight_decay=0.01)
    # deep copy, as after a round trip through a file: load_state_dict may share tensors
    twin_opt.load_state_dict(copy.deepcopy(opt.state_dict()))
    twin.eval()
    step(model, opt)
    step(twin, twin_opt)
    for a, b in zip(model.parameters(), twin.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_the_fused_optimizer_steps_like_the_per_tensor_adamw() -> None:
    model, featurizer = _offline()
    batch = featurizer.collate(featurizer.encode(TEXTS))
    fused = model.create_optimizer(learning_rate=1e-2, weight_decay=0.01)
    assert fused.defaults["fused"]  # torch 2.13 on CPU has the fused kernel
    twin, _ = _offline()
    twin.load_state_dict(model.state_dict())
    groups = twin.create_optimizer(learning_rate=1e-2, weight_decay=0.01).param_groups
    reference = torch.optim.AdamW(
        [{"params": g["params"], "weight_decay": g["weight_decay"]} for g in groups],
        lr=1e-2,
        fused=False,
        foreach=False,
    )
    model.eval()
    twin.eval()
    for _ in range(3):
        for m, o in ((model, fused), (twin, reference)):
            o.zero_grad()
            m(**batch)["logits"].square().mean().backward()
            o.step()
    compared = 0
    for (name, a), b in zip(model.named_parameters(), twin.parameters(), strict=True):
        if name == "encoder.aspect_queries.bias":
            # a constant shift of softmax scores: its gradient is zero in exact arithmetic,
            # so Adam normalises rounding noise, which the two kernels round differently
            continue
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
        compared += 1
    assert compared == len(list(model.parameters())) - 1


# ------------------------------------------------------------------------ bad checkpoints
@pytest.fixture()
def saved_offline(tmp_path: Path) -> Path:
    model, _ = _offline()
    return model.save_pretrained(tmp_path / "ckpt")


@pytest.mark.parametrize(
    "damage",
    ["no_dir", "no_weights", "no_meta", "no_featurizer", "bad_weights", "bad_meta", "bad_shape"],
)
def test_from_pretrained_refuses_damaged_checkpoints(saved_offline: Path, damage: str) -> None:
    target = saved_offline
    if damage == "no_dir":
        target = saved_offline.parent / "missing"
    elif damage == "no_weights":
        (saved_offline / "model.safetensors").unlink()
    elif damage == "no_meta":
        (saved_offline / "acsa_model.json").unlink()
    elif damage == "no_featurizer":
        (saved_offline / "featurizer.json").unlink()
    elif damage == "bad_weights":
        raw = (saved_offline / "model.safetensors").read_bytes()
        (saved_offline / "model.safetensors").write_bytes(raw[: len(raw) // 2])
    elif damage == "bad_meta":
        (saved_offline / "acsa_model.json").write_text("{not json", encoding="utf-8")
    elif damage == "bad_shape":
        path = saved_offline / "acsa_model.json"
        meta = json.loads(path.read_text(encoding="utf-8"))
        meta["model_config"]["embedding_dim"] = 24
        path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(CheckpointError) as info:
        AcsaModel.from_pretrained(target)
    assert "\n" not in str(info.value)


def test_from_pretrained_refuses_pickle(saved_offline: Path) -> None:
    torch.save({"x": torch.zeros(1)}, saved_offline / "model.safetensors")
    with pytest.raises(CheckpointError):
        AcsaModel.from_pretrained(saved_offline)


# --------------------------------------------------------------------- Hugging Face path
@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("tiny_bert"), sample_texts(300))


def _hf(path: Path, pooling: str = "cls"):
    torch.manual_seed(0)
    config = parse_model_config(
        {"encoder": "huggingface", "name_or_path": str(path), "pooling": pooling, "max_length": 16}
    )
    return build_model(config, LabelSpace(ASPECTS), [])


def test_hf_featurizer_truncates_and_pads_per_batch(tiny_bert: Path) -> None:
    featurizer = HFFeaturizer.from_name_or_path(tiny_bert, max_length=16)
    features = featurizer.encode(TEXTS + ["pin " * 100])
    assert max(len(f["input_ids"]) for f in features) == 16
    assert len(features[2]["input_ids"]) < 16  # no padding at encode time
    batch = featurizer.collate(features[2:4])
    width = max(len(f["input_ids"]) for f in features[2:4])
    assert batch["input_ids"].shape == batch["attention_mask"].shape == (2, width)
    assert batch["attention_mask"][0].sum().item() == len(features[2]["input_ids"])


@pytest.mark.parametrize("pooling", ["cls", "mean"])
def test_hf_save_load_gives_identical_logits(tiny_bert: Path, tmp_path: Path, pooling: str) -> None:
    model, featurizer = _hf(tiny_bert, pooling)
    out = model(**featurizer.collate(featurizer.encode(TEXTS)))
    assert out["logits"].shape == (len(TEXTS), len(ASPECTS), 4)
    assert out["projections"].shape[0] == len(TEXTS)
    model.eval()
    before = predict_logits(model, featurizer, TEXTS, batch_size=4)
    # the copy proves the checkpoint does not need the original backbone directory
    original = tmp_path / "original"
    shutil.copytree(tiny_bert, original)
    model2, featurizer2 = _hf(original, pooling)
    model2.load_state_dict(model.state_dict())
    model2.save_pretrained(tmp_path / "saved")
    shutil.rmtree(original)
    loaded, loaded_featurizer = AcsaModel.from_pretrained(tmp_path / "saved")
    after = predict_logits(loaded, loaded_featurizer, TEXTS, batch_size=3)
    np.testing.assert_allclose(before, after, rtol=1e-5, atol=1e-6)


def test_hf_missing_local_model_is_a_checkpoint_error(tmp_path: Path) -> None:
    config = parse_model_config(
        {"encoder": "huggingface", "name_or_path": str(tmp_path / "nowhere")}
    )
    with pytest.raises(CheckpointError):
        build_model(config, LabelSpace(ASPECTS), [])

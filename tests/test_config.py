"""Config schema: one-line errors naming the key, legacy mapping, overrides."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml

from acsa.errors import ConfigError
from acsa.training.config import AcsaConfig, dump_config, load_config

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


BASE = "data: {train: train.csv}\n"


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    return message


def test_typo_in_loss_parameter_names_key_and_allowed(tmp_path: Path) -> None:
    message = error_of(tmp_path, BASE + "loss: {type: ghm, bins: 10, ghm_momentun: 0.75}\n")
    assert message.startswith("config.yaml: loss.ghm_momentun: unknown key (allowed: ")
    assert "momentum" in message and "did you mean 'momentum'" in message


def test_negative_learning_rate(tmp_path: Path) -> None:
    message = error_of(tmp_path, BASE + "training: {learning_rate: -0.1}\n")
    assert message == "config.yaml: training.learning_rate: must be > 0, got -0.1"


@pytest.mark.parametrize(
    ("section", "key_path", "fragment"),
    [
        ("loss: {type: ghm, momentum: 1.5}", "loss.momentum", "[0, 1)"),
        ("loss: {type: ghm, bins: 0}", "loss.bins", "positive integer"),
        ("loss: {type: focul}", "loss.type", "allowed: cross_entropy, focal"),
        ("training: {epochs: 0}", "training.epochs", "must be >= 1"),
        ("training: {warmup_ratio: 1.5}", "training.warmup_ratio", "must be < 1"),
        ("training: {scheduler: step}", "training.scheduler", "'linear', 'cosine'"),
        ("training: {precision: fp8}", "training.precision", "'fp32'"),
        ("training: {nan_policy: ignore}", "training.nan_policy", "'stop', 'skip'"),
        ("training: {epocs: 3}", "training.epocs", "did you mean 'epochs'"),
        ("trainig: {epochs: 3}", "trainig", "allowed: data, model, loss, training, output"),
        ("model: {encoder: offline, embeding_dim: 8}", "model.embeding_dim", "embedding_dim"),
        ("model: {encoder: huggingface}", "model.name_or_path", "required key is missing"),
        ("model: {encoder: bow}", "model", "'offline', 'huggingface', 'tfidf'"),
        ("model: {encoder: tfidf, head: {}}", "model.head", "allowed: encoder, word_ngram_max"),
        ("output: {directory: x}", "output.directory", "allowed: dir, overwrite"),
        (
            "loss: {type: focal, contrastive: {type: soft_contrastive, temprature: 0.1}, "
            "contrastive_weight: 0.1}",
            "loss.contrastive.temprature",
            "did you mean 'temperature'",
        ),
        (
            "loss: {type: focal, contrastive_weight: 0.1}",
            "loss.contrastive_weight",
            "no 'contrastive:'",
        ),
        (
            "loss: {type: focal, contrastive: {type: supcon}}",
            "loss.contrastive_weight",
            "must be > 0",
        ),
        (
            "loss: {type: focal, contrastive: {type: ghm}, contrastive_weight: 0.1}",
            "loss.contrastive.type",
            "supcon",
        ),
    ],
)
def test_bad_values_name_the_key(
    tmp_path: Path, section: str, key_path: str, fragment: str
) -> None:
    message = error_of(tmp_path, BASE + section + "\n")
    assert message.startswith(f"config.yaml: {key_path}:"), message
    assert fragment in message, message


def test_missing_data_section(tmp_path: Path) -> None:
    assert (
        error_of(tmp_path, "loss: {type: focal}\n") == "config.yaml: data: required key is missing"
    )


def test_misspelt_section_is_named_before_the_missing_one(tmp_path: Path) -> None:
    # "traning" makes "data" look missing too; the typo is what the user must fix
    message = error_of(tmp_path, "traning: {epochs: 1}\n")
    assert message.startswith("config.yaml: traning: unknown key (allowed: data, model")
    assert message.endswith("did you mean 'training'?")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("- a\n- b\n", "expected a mapping"),
        ("data: {train: [unclosed\n", "line"),
    ],
)
def test_unreadable_files(tmp_path: Path, text: str, fragment: str) -> None:
    assert fragment in error_of(tmp_path, text)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("data: {train: caf\u00e9.csv}\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not valid UTF-8"):
        load_config(path)


def test_defaults_and_relative_paths(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "data: {dir: data, train: train.csv}\n"))
    assert config.data.train == (tmp_path / "data" / "train.csv").resolve()
    assert config.model.encoder == "offline"
    assert config.loss.type == "cross_entropy"
    assert config.training.precision == "fp32"


def test_overrides_are_dotted_and_validated(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "training: {epochs: 5}\n")
    config = load_config(path, {"training.epochs": 2, "output.dir": "x", "training.seed": None})
    assert config.training.epochs == 2 and config.output.dir == Path("x")
    with pytest.raises(ConfigError, match="training.epochs: must be >= 1"):
        load_config(path, {"training.epochs": 0})


def test_loss_build_config_shape(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            BASE + "loss: {type: focal, gamma: 2, contrastive: {type: soft_contrastive, "
            "temperature: 0.1}, classification_weight: 0.95, contrastive_weight: 0.05}\n",
        )
    )
    built = config.loss.to_build_config()
    assert built["type"] == "combined"
    assert built["classification"] == {"type": "focal", "gamma": 2}
    assert built["contrastive"] == {"type": "soft_contrastive", "temperature": 0.1}
    assert built["contrastive_weight"] == 0.05


def test_resolved_config_round_trips(tmp_path: Path) -> None:
    config = load_config(CONFIGS / "quickstart.yaml", {"data.dir": str(tmp_path)})
    dump_config(config, tmp_path / "resolved.yaml")
    again = load_config(tmp_path / "resolved.yaml")
    assert again.model_dump() == config.model_dump()


@pytest.mark.parametrize(
    "name", ["quickstart", "seed_focal_contrastive", "seed_ghm_contrastive", "seed_unified_focal"]
)
def test_shipped_configs_load(name: str) -> None:
    config = load_config(CONFIGS / f"{name}.yaml")
    assert isinstance(config, AcsaConfig)


def test_legacy_config_is_mapped_with_notice(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="acsa"):
        config = load_config(CONFIGS / "legacy_multi_label_ghm.yaml")
    notices = [r.getMessage() for r in caplog.records]
    assert len(notices) == 1 and "\n" not in notices[0]
    assert "older config shape" in notices[0] and "training.optim" in notices[0]
    assert config.loss.type == "ghm"
    assert config.loss.model_extra == {"bins": 10, "momentum": 0.75}
    assert config.loss.contrastive is not None
    assert config.loss.contrastive.type == "soft_contrastive"
    assert config.loss.contrastive.model_extra == {"temperature": 0.1, "base_weight": 0.1}
    assert (config.loss.classification_weight, config.loss.contrastive_weight) == (0.95, 0.05)
    assert config.data.label_scheme == "seed"
    assert config.data.train is not None and config.data.train.name == "train.csv"
    assert config.model.encoder == "huggingface"
    assert config.training.batch_size == 32 and config.training.gradient_accumulation_steps == 2
    assert config.training.scheduler == "cosine" and config.training.epochs == 5
    assert config.output.dir == Path("runs/legacy_ghm")


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (
            {
                "loss_type": "focal",
                "focal_gamma": 3.0,
                "focal_weight": 0.8,
                "contrastive_weight": 0.2,
            },
            {"type": "focal", "gamma": 3.0},
        ),
        ({"loss_type": "unified", "contrastive_weight": 0.0}, {"type": "unified_focal"}),
    ],
)
def test_legacy_loss_variants(tmp_path: Path, block: dict, expected: dict) -> None:
    raw = {"paths": {"train_file": "train.csv"}, "multi_label": block}
    config = load_config(write(tmp_path, yaml.safe_dump(raw)))
    assert config.loss.classification_params() == expected
    if block.get("contrastive_weight"):
        assert config.loss.contrastive_weight == block["contrastive_weight"]
        assert config.loss.classification_weight == block["focal_weight"]
    else:
        assert not config.loss.uses_contrastive


def test_legacy_typo_still_reported(tmp_path: Path) -> None:
    raw = {
        "paths": {"train_file": "t.csv"},
        "multi_label": {"loss_type": "ghm", "ghm_momentum": 1.2},
    }
    with pytest.raises(ConfigError, match=r"loss\.momentum: must be in \[0, 1\)"):
        load_config(write(tmp_path, yaml.safe_dump(raw)))


def test_config_from_dict_resolves_data_paths_once_against_the_current_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from acsa.training.config import config_from_dict

    monkeypatch.chdir(tmp_path)
    raw = {"data": {"dir": "data", "train": "train.csv"}}
    config = config_from_dict(raw)
    assert config.data.train == (tmp_path / "data" / "train.csv").resolve()
    elsewhere = config_from_dict(raw, base_dir=tmp_path / "cfg")
    assert elsewhere.data.dir == (tmp_path / "cfg" / "data").resolve()
    # already absolute: building again changes nothing
    assert config_from_dict(config.model_dump(mode="python")).data == config.data

"""The saved model folder (acsa.models.saved): description round trip, errors, resolve rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import acsa
from acsa.data.label_space import LabelSpace
from acsa.errors import CheckpointError
from acsa.models.config import OfflineModelConfig, TfidfModelConfig
from acsa.models.saved import (
    CONFIG_FILE,
    MODEL_FORMAT,
    ONNX_FILE,
    RUN_MODEL_DIR,
    WEIGHTS_FILE,
    onnx_only,
    read_metadata,
    resolve_model_dir,
    write_metadata,
)

SPACE = LabelSpace(("Battery", "Camera"), "seed")


def test_metadata_round_trip(tmp_path: Path) -> None:
    config = OfflineModelConfig(embedding_dim=32)
    path = write_metadata(tmp_path, config, SPACE, sizes={"vocab_size": 7})
    assert path == tmp_path / CONFIG_FILE
    meta = read_metadata(tmp_path)
    assert meta.path == path and meta.encoder == "offline"
    assert meta.model_config == config
    assert meta.label_space.to_dict() == SPACE.to_dict()
    assert meta.aspects == ("Battery", "Camera")
    assert meta.fields["sizes"] == {"vocab_size": 7}
    assert meta.fields["format"] == MODEL_FORMAT
    assert meta.fields["acsa_version"] == acsa.__version__
    assert read_metadata(tmp_path, kind="offline").model_config == config


def _write(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG_FILE).write_text(text, encoding="utf-8")
    return folder


def _valid(**change: object) -> str:
    data = {
        "format": MODEL_FORMAT,
        "model_config": {"encoder": "tfidf"},
        "label_space": SPACE.to_dict(),
    }
    data.update(change)
    return json.dumps(data)


@pytest.mark.parametrize(
    ("setup", "kind", "fragments"),
    [
        (lambda d: d, None, ["nothing: model directory not found"]),
        (lambda d: d.mkdir() or d, None, [CONFIG_FILE, "missing; not a saved acsa model"]),
        (lambda d: _write(d, '{"format": '), None, [CONFIG_FILE, "unreadable", "JSONDecodeError"]),
        (lambda d: _write(d, "[1, 2]"), None, [CONFIG_FILE, "unreadable model description"]),
        (lambda d: _write(d, '{"model_config": {}}'), None, ["unreadable model description"]),
        (lambda d: _write(d, _valid()), "offline", ["not an offline acsa model description"]),
        (lambda d: _write(d, _valid(format="x")), "tfidf", ["not a TF-IDF acsa model"]),
        (lambda d: _write(d, _valid(label_space=3)), "tfidf", ["not a TF-IDF", "TypeError"]),
    ],
)
def test_missing_or_damaged_description_is_one_line(
    tmp_path: Path, setup: object, kind: str | None, fragments: list[str]
) -> None:
    folder = setup(tmp_path / "nothing")  # type: ignore[operator]
    with pytest.raises(CheckpointError) as info:
        read_metadata(folder, kind)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_sections_are_checked_when_read(tmp_path: Path) -> None:
    # the kind alone is enough to pick a loader; the sections are checked on use
    meta = read_metadata(_write(tmp_path, _valid(format="x", label_space=[])))
    assert meta.encoder == "tfidf"
    with pytest.raises(CheckpointError, match="unreadable model description"):
        meta.model_config  # noqa: B018
    with pytest.raises(CheckpointError, match="unreadable model description"):
        meta.label_space  # noqa: B018
    assert read_metadata(_write(tmp_path / "ok", _valid())).model_config == TfidfModelConfig()


def test_resolve_model_dir_rules(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="model folder not found"):
        resolve_model_dir(tmp_path / "absent")
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    with pytest.raises(CheckpointError, match="expected a model folder, found a file"):
        resolve_model_dir(tmp_path / "file.txt")

    run = tmp_path / "run"
    (run / RUN_MODEL_DIR).mkdir(parents=True)
    assert resolve_model_dir(run) == run / RUN_MODEL_DIR  # a run folder gives its model/
    assert resolve_model_dir(run / RUN_MODEL_DIR) == run / RUN_MODEL_DIR
    # a folder with its own weights (or graph) is the model, even beside a model/ folder
    (run / WEIGHTS_FILE).write_bytes(b"")
    assert resolve_model_dir(run) == run
    (run / WEIGHTS_FILE).unlink()
    (run / ONNX_FILE).write_bytes(b"")
    assert resolve_model_dir(run) == run


def test_onnx_only(tmp_path: Path) -> None:
    assert not onnx_only(tmp_path)
    (tmp_path / ONNX_FILE).write_bytes(b"")
    assert onnx_only(tmp_path)
    (tmp_path / WEIGHTS_FILE).write_bytes(b"")
    assert not onnx_only(tmp_path)

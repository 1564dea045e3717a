"""The README's example predictions are what the quickstart model really says (issue 20).

Needs a trained quickstart model: ``ACSA_QUICKSTART_MODEL=PATH`` (a run folder or its
``model/``), else ``runs/quickstart`` in the project; skipped (with the reason) when
there is none, since training one takes minutes (``acsa train configs/quickstart.yaml
--data-dir ../shared/data/vi-smartphone-reviews``). After retraining the quickstart,
run this test and update the README where it fails.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"


def quickstart_model() -> Path:
    given = os.environ.get("ACSA_QUICKSTART_MODEL")
    path = Path(given) if given else PROJECT_ROOT / "runs" / "quickstart"
    if not (path.is_dir() and ((path / "model").is_dir() or (path / "acsa_model.json").exists())):
        pytest.skip(f"no quickstart model at {path}; set ACSA_QUICKSTART_MODEL or train one")
    return path


def test_readme_predict_example_is_the_quickstart_models_answer() -> None:
    from acsa import api

    text = README.read_text(encoding="utf-8")
    example = re.search(r'acsa predict runs/quickstart/model --text "([^"]+)"', text)
    printed = re.search(r"`acsa predict` prints `text<TAB>([^`]+)`", text)
    assert example and printed, "README: the predict example or its printed line is gone"
    predictor = api.load(quickstart_model())
    (prediction,) = predictor.predict([example.group(1)])
    shown = "; ".join(f"{a}: {s}" for a, s in prediction.aspects.items())
    assert shown == printed.group(1)


def test_readme_server_example_is_the_quickstart_models_answer() -> None:
    from acsa import api

    text = README.read_text(encoding="utf-8")
    block = re.search(
        r'\{"predictions": \[\{"text": "([^"]+)",\s*"aspects": (\{[^}]*\}),'
        r'\s*"confidence": (\{[^}]*\})',
        text,
    )
    assert block, "README: the /v1/predict example is gone"
    (prediction,) = api.load(quickstart_model()).predict([block.group(1)])
    record = prediction.to_record()
    assert record["aspects"] == json.loads(block.group(2))
    assert record["confidence"] == json.loads(block.group(3))

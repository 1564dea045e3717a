"""After ``acsa train``: export the saved model to ONNX and check it gives PyTorch's labels.

``acsa predict`` and ``acsa serve`` run a model folder on ONNX Runtime by
default (:func:`acsa.models.backend.choose_runtime`) only when this check
passed: every validation review gets the same labels (blend and decision
rule included, exactly as a reloaded model decides them) from both runtimes.
ONNX Runtime then starts without importing PyTorch (docs/BENCHMARKS.md,
"Prediction runtime"). The result is recorded in ``acsa_model.json``
(:func:`acsa.models.saved.write_onnx_check`). A model that cannot be
exported (another encoder, a missing ``serve`` extra, an exporter error) or
whose labels differ keeps running on PyTorch; the run does not fail.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from acsa.errors import AcsaError, first_line

logger = logging.getLogger(__name__)

EXPORTED_ENCODERS = ("offline", "huggingface")


def _labels(backend: Any, model_dir: Path, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Labels under the saved rule and probabilities, as :class:`acsa.api.Predictor` gives them."""
    from acsa.evaluation.decision import DecisionRule, canonical_probabilities, decide

    probs = canonical_probabilities(backend.predict_logits(list(texts)), backend.label_space)
    rule = DecisionRule.load(model_dir, backend.label_space.aspects)
    return (decide(probs) if rule is None else rule.decide(probs)), probs


def export_checked_onnx(model_dir: Path, encoder: str, texts: Sequence[str]) -> dict[str, Any]:
    """Export ``model_dir`` to ``model_dir/model.onnx`` and compare labels on ``texts``.

    Returns the check recorded in ``acsa_model.json``: ``identical_labels``,
    ``reviews``, ``differing_cells``, ``max_probability_gap``, ``seconds`` per
    runtime on ``texts``, ``export_seconds``; or ``{"exported": False,
    "reason": ...}`` when the model was not exported.
    """
    from acsa.models.saved import remove_onnx, write_onnx_check

    remove_onnx(model_dir)
    if encoder not in EXPORTED_ENCODERS:
        return {"exported": False, "reason": f"a {encoder} model has no network to export"}
    start = time.perf_counter()
    try:
        from acsa.models.onnx_export import export_onnx

        export_onnx(model_dir, model_dir, overwrite=True)
    except (AcsaError, ImportError) as exc:
        remove_onnx(model_dir)
        reason = first_line(exc, 200)
        logger.info("ONNX export skipped, predictions will run on PyTorch: %s", reason)
        return {"exported": False, "reason": reason}
    export_seconds = time.perf_counter() - start
    check = compare_runtimes(model_dir, texts)
    check["export_seconds"] = round(export_seconds, 2)
    write_onnx_check(model_dir, check)
    if not check["identical_labels"]:
        logger.warning(
            "model.onnx gives other labels than PyTorch on %d of %d validation cells; "
            "predictions stay on PyTorch (acsa predict --runtime onnx forces ONNX Runtime)",
            check["differing_cells"],
            check["cells"],
        )
    return check


def compare_runtimes(model_dir: Path, texts: Sequence[str]) -> dict[str, Any]:
    """Labels and probabilities of both runtimes on ``texts`` (the folder's saved rule)."""
    from acsa.models.backend import load_backend

    seconds: dict[str, float] = {}
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for runtime in ("torch", "onnx"):
        tick = time.perf_counter()
        found[runtime] = _labels(load_backend(model_dir, runtime), model_dir, texts)
        seconds[runtime] = round(time.perf_counter() - tick, 3)
    (torch_labels, torch_probs), (onnx_labels, onnx_probs) = found["torch"], found["onnx"]
    differing = int((torch_labels != onnx_labels).sum())
    gap = float(np.abs(torch_probs - onnx_probs).max()) if len(texts) else 0.0
    return {
        "identical_labels": differing == 0 and len(texts) > 0,
        "reviews": len(texts),
        "cells": int(torch_labels.size),
        "differing_cells": differing,
        "max_probability_gap": gap,
        "split": "validation",
        "seconds": seconds,
    }

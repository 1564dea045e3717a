"""``acsa predict --explain``: each mentioned aspect's strongest tokens, as text or JSON lines."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

# reviews explained per call: bounds memory, keeps Integrated Gradients' passes batched
EXPLAIN_CHUNK = 256


def _texts(texts: list[str] | None, input_file: Path | None, fmt: str | None, column: str | None):
    if texts:
        yield from texts
        return
    from acsa.batch.readers import open_input, read_texts

    assert input_file is not None
    yield from read_texts(open_input(input_file, fmt, column))


def text_line(explanation: Any, top_k: int) -> str:
    """``review<TAB>Aspect: label [+1.23 "word", -0.40 "other"]; ...`` (no aspect: a note)."""
    from acsa.batch.records import explanation_line

    evidence = {a: e.to_dict(top_k) for a, e in explanation.evidence.items()}
    return explanation_line(explanation.text, evidence)


def run_explain(
    model_dir: Path,
    *,
    texts: list[str] | None,
    input_file: Path | None,
    input_format: str | None,
    text_column: str | None,
    as_json: bool,
    top_k: int,
    batch_size: int,
    threads: int | None,
) -> None:
    """Print one line per review with its explanations, chunk by chunk."""
    from acsa.api import Predictor

    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    predictor = Predictor.load(model_dir, "torch")  # gradients: the model's own weights
    chunk: list[str] = []

    def flush() -> None:
        for explanation in predictor.explain(chunk, batch_size):
            if as_json:
                line = json.dumps(explanation.to_payload(top_k), ensure_ascii=False)
            else:
                line = text_line(explanation, top_k)
            sys.stdout.write(line + "\n")
        chunk.clear()

    for text in _texts(texts, input_file, input_format, text_column):
        chunk.append(text)
        if len(chunk) >= EXPLAIN_CHUNK:
            flush()
    if chunk:
        flush()

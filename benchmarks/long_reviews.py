"""Long reviews (issue 18, item 4): test pair-F1 per review length, on finished runs.

``buckets RUN...``: for each run folder, the test split's pair-F1 overall and per
length bucket (tokens of the offline tokenizer), for the network alone (argmax
rule, its PyTorch weights and its saved ``long_reviews`` policy) and for the
saved model (blend and decision rule, as ``acsa evaluate`` scores it)::

    python benchmarks/long_reviews.py buckets runs/cos_t32_truncate runs/cos_t32_windows

``readings RUN``: one trained network, the test reviews read several ways at
predict time: whole; truncated to 32 or 64 tokens; cut into windows of 32 or 64
tokens (a quarter shared) or into sentences, each piece predicted alone and the
pieces pooled per aspect (the piece least sure the aspect is absent, or the
mean of the pieces' probabilities)::

    python benchmarks/long_reviews.py readings runs/cos
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from acsa.api import Predictor
from acsa.data import load_and_validate
from acsa.evaluation.decision import canonical_probabilities, decide, pair_f1
from acsa.models.backend import TorchBackend
from acsa.models.text import tokenize
from acsa.training.config import load_config

BUCKETS = ((1, 32), (33, 64), (65, 128), (129, None))


def _bucket_names() -> list[str]:
    return [f"{lo}-{hi}" if hi else f">{lo - 1}" for lo, hi in BUCKETS]


def _scores(gold: np.ndarray, pred: np.ndarray, mask: np.ndarray, lengths: np.ndarray) -> list:
    row = [pair_f1(gold, pred, mask)]
    for lo, hi in BUCKETS:
        keep = (lengths >= lo) & (lengths <= (hi or lengths.max()))
        row.append(pair_f1(gold[keep], pred[keep], mask[keep]))
    return row


def _test_split(run: Path):  # noqa: ANN202 - a Reviews split
    config = load_config(run / "config.yaml")
    splits, _ = load_and_validate(config.data)
    test = splits["test"]
    lengths = np.array([len(tokenize(t)) for t in test.texts])
    return test, lengths


def _header(first: str) -> None:
    names = _bucket_names()
    print(f"| {first} | all | " + " | ".join(f"{n} tokens" for n in names) + " |")
    print("| --- " * (len(names) + 2) + "|")


def _line(name: str, row: Sequence[float]) -> None:
    print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in row) + " |")


def buckets(runs: Sequence[str]) -> None:
    first = True
    for run in map(Path, runs):
        test, lengths = _test_split(run)
        if first:
            counts = [
                ((lengths >= lo) & (lengths <= (hi or lengths.max()))).sum() for lo, hi in BUCKETS
            ]
            print("test reviews per bucket: " + ", ".join(map(str, counts)))
            _header("run")
            first = False
        network = TorchBackend.load(run / "model")
        probs = canonical_probabilities(network.predict_logits(test.texts), network.label_space)
        _line(f"{run.name} network", _scores(test.labels, decide(probs), test.mask, lengths))
        saved = Predictor.load(run / "model")
        pred = saved.decide(saved.predict_proba(test.texts))
        _line(f"{run.name} saved model", _scores(test.labels, pred, test.mask, lengths))


def _windows(tokens: list[str], size: int) -> list[str]:
    if len(tokens) <= size:
        return [" ".join(tokens)]
    step = size - size // 4
    return [" ".join(tokens[i : i + size]) for i in range(0, len(tokens) - size // 4, step)]


def _sentences(text: str) -> list[str]:
    return [p for p in re.split(r"(?<=[.!?\n])\s*", text) if p.strip()] or [text]


def _pooled(
    probs: Callable[[list[str]], np.ndarray], pieces: list[list[str]]
) -> tuple[np.ndarray, np.ndarray]:
    """Per review: per aspect the piece with the lowest P(none), and the pieces' mean."""
    flat = [p for review in pieces for p in review]
    owner = np.repeat(np.arange(len(pieces)), [len(p) for p in pieces])
    p = probs(flat)
    least = np.zeros((len(pieces), *p.shape[1:]), p.dtype)
    mean = np.zeros_like(least)
    for i in range(len(pieces)):
        own = p[owner == i]
        pick = own[..., 0].argmin(0)
        least[i] = own[pick, np.arange(own.shape[1])]
        mean[i] = own.mean(0)
    return least, mean


def readings(run: Path) -> None:
    test, lengths = _test_split(run)
    network = TorchBackend.load(run / "model")

    def probs(texts: list[str]) -> np.ndarray:
        return canonical_probabilities(network.predict_logits(texts), network.label_space)

    def line(name: str, p: np.ndarray) -> None:
        _line(name, _scores(test.labels, decide(p), test.mask, lengths))

    tokens = [tokenize(t) for t in test.texts]
    _header("reading")
    line("whole", probs(list(test.texts)))
    for size in (32, 64):
        line(f"truncated to {size}", probs([" ".join(t[:size]) for t in tokens]))
        least, mean = _pooled(probs, [_windows(t, size) for t in tokens])
        line(f"windows of {size}, least P(none)", least)
        line(f"windows of {size}, mean", mean)
    least, mean = _pooled(probs, [_sentences(t) for t in test.texts])
    line("sentences, least P(none)", least)
    line("sentences, mean", mean)


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "buckets":
        buckets(args)
    elif command == "readings":
        readings(Path(args[0]))
    else:
        raise SystemExit(f"unknown command {command!r}; use buckets or readings")

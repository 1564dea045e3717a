"""Faithfulness and speed of acsa's per-aspect explanations (ERASER, DeYoung et al., ACL 2020).

On a sample of the test split, every (review, aspect the model says is
mentioned) with more than ``k`` tokens is one case. For each model, three
ways of choosing ``k`` tokens are scored by comprehensiveness (drop of the
predicted label's probability when they are removed; higher = more faithful)
and sufficiency (drop when only they are kept; lower = better):

* ``explanation``: the ``k`` tokens of largest contribution to the label
  (Integrated Gradients for the offline encoder, exact shares for TF-IDF);
* ``random``: ``k`` tokens drawn uniformly (seeded);
* ``attention`` (offline encoder): the ``k`` tokens of largest weight in the
  aspect's attention pooling; (Hugging Face encoder) the ``k`` words of largest
  last-layer attention from ``[CLS]``, averaged over the heads and summed over a
  word's pieces (and windows). It is the same for every aspect: the backbone's
  attention knows nothing of aspects.

Speed: ``Predictor.explain`` on one review at a time (median of the sample's
first 50 reviews, one thread) and on the whole sample at once, and, with
``--full``, on the whole test split; wall-clock and process CPU seconds (on a
machine shared with other jobs the CPU time is the one that measures the code).

    python benchmarks/explain_faithfulness.py MODEL_DIR [MODEL_DIR ...] \\
        [--data ../shared/data/vi-smartphone-reviews/test.csv] [--sample 300] [--k 3] [--full]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from acsa import api
from acsa.explain.faithfulness import Case, eraser_scores
from acsa.explain.spans import token_spans

DEFAULT_DATA = Path(__file__).resolve().parents[1] / "../shared/data/vi-smartphone-reviews/test.csv"


def attention_weights(predictor: api.Predictor, texts: list[str]) -> list[np.ndarray]:
    """Per review ``[T, A]``: the offline encoder's aspect attention over its tokens."""
    backend = predictor.backend
    encoder = backend.model.encoder
    captured: list[torch.Tensor] = []
    hook = encoder.aspect_queries.register_forward_hook(lambda m, i, o: captured.append(o))
    out = []
    try:
        for start in range(0, len(texts), 64):
            batch = backend.featurizer.collate(backend.featurizer.encode(texts[start : start + 64]))
            captured.clear()
            with torch.no_grad():
                backend.model(**batch)
            mask = batch["attention_mask"].bool().unsqueeze(-1)
            weights = torch.softmax(captured[0].masked_fill(~mask, float("-inf")), dim=1)
            lengths = batch["attention_mask"].sum(1)
            out += [w[: int(n)].numpy() for w, n in zip(weights, lengths, strict=True)]
    finally:
        hook.remove()
    return out


def hf_attention(predictor: api.Predictor, texts: list[str]) -> list[np.ndarray]:
    """Per review ``[W]`` over its :func:`token_spans` words: the last layer's attention from
    the first token (``[CLS]``, ``<s>``), mean over heads, summed over each word's pieces."""
    from acsa.explain.hf_ig import piece_maps

    backend = predictor.backend
    backbone = backend.model.encoder.backbone
    backbone.set_attn_implementation("eager")  # SDPA returns no attention weights
    out = []
    for start in range(0, len(texts), 32):
        maps = piece_maps(backend.featurizer, texts[start : start + 32])
        batch = backend.featurizer.collate([m.features for m in maps])
        ids, mask = batch["input_ids"], batch["attention_mask"]
        width = ids.shape[-1]
        with torch.no_grad():
            result = backbone(
                input_ids=ids.reshape(-1, width),
                attention_mask=mask.reshape(-1, width),
                output_attentions=True,
            )
        from_first = result.attentions[-1][:, :, 0, :].mean(1).reshape(mask.shape)
        for i, m in enumerate(maps):
            weights = from_first[i][mask[i].bool()].numpy()
            keep = m.token_of >= 0
            out.append(np.bincount(m.token_of[keep], weights=weights[keep], minlength=m.tokens))
    return out


def run_model(model_dir: Path, texts: list[str], k: int, seed: int) -> dict[str, Any]:
    torch.set_num_threads(1)
    predictor = api.load(model_dir)
    predictor.explain(texts[:2])  # warm-up: imports, caches
    single, single_cpu = [], []
    for text in texts[:50]:
        started, cpu = time.perf_counter(), time.process_time()
        predictor.explain([text])
        single.append(time.perf_counter() - started)
        single_cpu.append(time.process_time() - cpu)
    started, cpu = time.perf_counter(), time.process_time()
    explanations = predictor.explain(texts)
    batch_seconds = time.perf_counter() - started
    batch_cpu = time.process_time() - cpu

    rng = np.random.default_rng(seed)
    encoder = predictor.info["encoder"]
    attention: Any = None
    if encoder == "offline" and predictor.backend.model.encoder.aspect_queries is not None:
        attention = attention_weights(predictor, texts)
    elif encoder == "huggingface":
        attention = hf_attention(predictor, texts)
    cases: list[Case] = []
    chosen: dict[str, list[list[int]]] = {"explanation": [], "random": [], "attention": []}
    aspects = list(predictor.aspects)
    for i, explanation in enumerate(explanations):
        spans = tuple(token_spans(explanation.text))
        if len(spans) <= k:
            continue
        for aspect, evidence in explanation.evidence.items():
            a = aspects.index(aspect)
            cases.append(Case(explanation.text, a, int(explanation.prediction.labels[a]), spans))
            scores = np.array([t.contribution for t in evidence.tokens])
            chosen["explanation"].append(np.argsort(-scores, kind="stable")[:k].tolist())
            chosen["random"].append(rng.choice(len(spans), size=k, replace=False).tolist())
            if attention is not None:
                weights = np.zeros(len(spans))
                seen = attention[i][:, a] if attention[i].ndim == 2 else attention[i]
                weights[: len(seen)] = seen[: len(spans)]
                chosen["attention"].append(np.argsort(-weights, kind="stable")[:k].tolist())
    result: dict[str, Any] = {
        "model": str(model_dir),
        "encoder": predictor.info["encoder"],
        "reviews": len(texts),
        "cases": len(cases),
        "single_ms_median": 1000 * statistics.median(single),
        "single_cpu_ms_median": 1000 * statistics.median(single_cpu),
        "batch_seconds": batch_seconds,
        "batch_cpu_seconds": batch_cpu,
    }
    for method, picks in chosen.items():
        if not picks:
            continue
        comp, suff = eraser_scores(cases, picks, predictor.predict_proba)
        result[method] = {
            "comprehensiveness": float(comp.mean()),
            "sufficiency": float(suff.mean()),
        }
    result["ratio_vs_random"] = (
        result["explanation"]["comprehensiveness"] / result["random"]["comprehensiveness"]
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+", type=Path)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sample", type=int, default=300, help="0: the whole split")
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--full", action="store_true", help="also time the whole split")
    args = parser.parse_args()
    texts_all = pd.read_csv(args.data, encoding="utf-8-sig")["data"].astype(str).tolist()
    rng = np.random.default_rng(args.seed)
    texts = texts_all
    if args.sample and args.sample < len(texts_all):
        texts = [texts_all[i] for i in sorted(rng.choice(len(texts_all), args.sample, False))]
    print(f"{args.data}: {len(texts)} of {len(texts_all)} reviews, k={args.k}")
    print(f"load average before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    for model_dir in args.models:
        r = run_model(model_dir, texts, args.k, args.seed)
        print(
            f"\n{r['model']} ({r['encoder']}): {r['cases']} (review, aspect) cases; "
            f"explain one review {r['single_ms_median']:.0f} ms wall, "
            f"{r['single_cpu_ms_median']:.0f} ms CPU (medians, 1 thread); "
            f"{r['reviews']} reviews in {r['batch_seconds']:.1f} s wall, "
            f"{r['batch_cpu_seconds']:.1f} s CPU"
        )
        print(f"  {'tokens':<12} {'comprehensiveness':>18} {'sufficiency':>12}")
        for method in ("explanation", "random", "attention"):
            if method in r:
                m = r[method]
                print(f"  {method:<12} {m['comprehensiveness']:>18.3f} {m['sufficiency']:>12.3f}")
        print(f"  comprehensiveness, explanation / random: {r['ratio_vs_random']:.1f}x")
        if args.full:
            predictor = api.load(model_dir)
            started, cpu = time.perf_counter(), time.process_time()
            predictor.explain(texts_all)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            print(
                f"  whole split: {len(texts_all)} reviews explained in {seconds:.1f} s wall, "
                f"{cpu:.1f} s CPU, 1 thread"
            )
        print(f"  load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

"""Research script: quality and wall time of offline encoder designs on the shared split.

Trains each candidate on train.csv, selects the epoch on validation.csv by pair
micro-F1, and reports test pair/aspect micro-F1 and wall time (featurization +
training + validation + test evaluation). A minimal loop is used here on
purpose; the product trains through ``transformers.Trainer``.

    python benchmarks/offline_encoder_quality.py --variants default --epochs 8

Variants are overrides of :class:`acsa.models.config.OfflineModelConfig` plus
loop options; see ``VARIANTS`` below.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from acsa.models.config import parse_model_config
from acsa.models.heads import AspectHead
from acsa.models.offline_encoder import OfflineEncoder
from acsa.models.offline_featurizer import OfflineFeaturizer

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "vi-smartphone-reviews"
LABELS = {"": 0, "negative": 1, "neutral": 2, "positive": 3, "posititve": 3}

# name -> (model config overrides, loop options)
VARIANTS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "default": ({}, {}),
    "gru": ({"sequence": "gru"}, {}),
    "bag_only": ({"sequence": "none", "aspect_attention": False}, {}),
    "no_attention": ({"aspect_attention": False}, {}),
    "no_chars": ({"char_ngram_max": 0}, {}),
    "no_bag": ({"bag_ngram_max": 0}, {}),
    "weighted_ce": ({}, {"class_weights": "sqrt_inv"}),
    "cnn3": ({"num_layers": 3}, {}),
    "cnn1": ({"num_layers": 1}, {}),
    "k5": ({"kernel_size": 5}, {}),
    "h128": ({"hidden_size": 128}, {}),
    "epochs6": ({}, {"epochs": 6}),
    "wide": ({"embedding_dim": 192, "hidden_size": 384}, {}),
    "hidden512": ({"head": {"hidden_dim": 512}}, {}),
    "lr3e-3": ({}, {"lr": 3e-3}),
    "bs32": ({}, {"batch_size": 32}),
}


def read_split(path: Path) -> tuple[list[str], np.ndarray, list[str]]:
    frame = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False, dtype=str)
    aspects = [c for c in frame.columns if c != "data"]
    labels = np.array(
        [[LABELS[v.strip().lower()] for v in frame[a]] for a in aspects], dtype=np.int64
    ).T
    return frame["data"].tolist(), labels, aspects


def pair_aspect_f1(gold: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    """Pair micro-F1 and aspect-detection micro-F1 (GUIDE.md section 2)."""
    gold_m, pred_m = gold > 0, pred > 0
    tp_pair = np.sum(gold_m & (pred == gold))
    fp_pair = np.sum(pred_m) - tp_pair
    fn_pair = np.sum(gold_m) - tp_pair
    pair = 2 * tp_pair / max(1, 2 * tp_pair + fp_pair + fn_pair)
    tp_a = np.sum(gold_m & pred_m)
    aspect = 2 * tp_a / max(1, np.sum(gold_m) + np.sum(pred_m))
    return float(pair), float(aspect)


class Net(nn.Module):
    def __init__(self, encoder: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.encoder, self.head = encoder, head

    def forward(self, **batch: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(**batch))["logits"]


def length_grouped_batches(
    lengths: list[int], batch_size: int, generator: torch.Generator
) -> list[list[int]]:
    """Random batches of similar length, like the Trainer's ``group_by_length`` sampler:
    shuffle, cut into mega-batches of 50 batches, sort each by length, shuffle batches."""
    perm = torch.randperm(len(lengths), generator=generator).tolist()
    mega = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(perm), mega):
        chunk = sorted(perm[start : start + mega], key=lambda i: -lengths[i])
        batches.extend(chunk[s : s + batch_size] for s in range(0, len(chunk), batch_size))
    order = torch.randperm(len(batches), generator=generator).tolist()
    return [batches[i] for i in order]


def predict(net: Net, feat: OfflineFeaturizer, encoded: list, batch_size: int = 256) -> np.ndarray:
    net.eval()
    order = np.argsort([len(f["input_ids"]) for f in encoded])
    out = np.zeros((len(encoded),), dtype=object)
    with torch.inference_mode():
        for s in range(0, len(order), batch_size):
            idx = order[s : s + batch_size]
            logits = net(**feat.collate([encoded[i] for i in idx]))
            for i, row in zip(idx, logits.argmax(-1).numpy(), strict=True):
                out[i] = row
    return np.stack(list(out))


def run_variant(
    name: str,
    overrides: dict[str, Any],
    loop: dict[str, Any],
    data: dict,
    args: argparse.Namespace,
    seed: int,
) -> dict[str, Any]:
    torch.manual_seed(seed)
    np.random.seed(seed)
    start = time.perf_counter()
    cpu_start = time.process_time()
    cfg = parse_model_config(overrides)
    (tr_x, tr_y, aspects), (va_x, va_y, _), (te_x, te_y, _) = (
        data["train"],
        data["val"],
        data["test"],
    )
    feat = OfflineFeaturizer.fit(cfg, tr_x)
    tr_f, va_f, te_f = feat.encode(tr_x), feat.encode(va_x), feat.encode(te_x)
    encoder = OfflineEncoder(cfg, feat.vocab_size, feat.bag_size, feat.char_size, len(aspects))
    net = Net(encoder, AspectHead(encoder.output_dim, len(aspects), 4, cfg.head))
    lr = loop.get("lr", args.lr)
    batch_size = loop.get("batch_size", args.batch_size)
    epochs = loop.get("epochs", args.epochs)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=loop.get("weight_decay", 0.01))
    steps_per_epoch = math.ceil(len(tr_f) / batch_size)
    total = steps_per_epoch * epochs
    warm = steps_per_epoch // 2
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda s: min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(s, total) / total)),
    )
    weight = None
    if loop.get("class_weights") == "sqrt_inv":
        counts = np.bincount(tr_y.ravel(), minlength=4).astype(float)
        w = 1.0 / np.sqrt(counts / counts.sum())
        weight = torch.tensor(w / w.mean(), dtype=torch.float32)
    loss_fn = nn.CrossEntropyLoss(weight=weight)
    targets = torch.as_tensor(tr_y)
    lengths = [len(f["input_ids"]) for f in tr_f]
    generator = torch.Generator().manual_seed(seed)
    best = (-1.0, -1, None)
    history = []
    for epoch in range(epochs):
        net.train()
        t0, c0 = time.perf_counter(), time.process_time()
        for idx in length_grouped_batches(lengths, batch_size, generator):
            logits = net(**feat.collate([tr_f[i] for i in idx]))
            loss = loss_fn(logits.reshape(-1, 4), targets[idx].reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
        va_pair, va_aspect = pair_aspect_f1(va_y, predict(net, feat, va_f))
        history.append(
            {
                "epoch": epoch + 1,
                "val_pair": round(va_pair, 4),
                "val_aspect": round(va_aspect, 4),
                "sec": round(time.perf_counter() - t0, 1),
                "cpu_sec": round(time.process_time() - c0, 1),
            }
        )
        print(
            f"  [{name} s{seed}] epoch {epoch + 1}: val pair {va_pair:.4f} aspect {va_aspect:.4f}"
            f" ({time.perf_counter() - t0:.1f}s wall, {time.process_time() - c0:.1f}s cpu)",
            flush=True,
        )
        if va_pair > best[0]:
            best = (va_pair, epoch + 1, copy.deepcopy(net.state_dict()))
    net.load_state_dict(best[2])
    te_pred = predict(net, feat, te_f)
    te_pair, te_aspect = pair_aspect_f1(te_y, te_pred)
    seconds = time.perf_counter() - start
    params = sum(p.numel() for p in net.parameters())
    return {
        "variant": name,
        "seed": seed,
        "test_pair_f1": round(te_pair, 4),
        "test_aspect_f1": round(te_aspect, 4),
        "best_epoch": best[1],
        "val_pair_f1": round(best[0], 4),
        "seconds": round(seconds, 1),
        "cpu_seconds": round(time.process_time() - cpu_start, 1),
        "params": params,
        "history": history,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="default", help="comma list of " + ",".join(VARIANTS))
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=None, help="append JSON lines here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = {
        k: read_split(args.data_dir / f"{f}.csv")
        for k, f in (("train", "train"), ("val", "validation"), ("test", "test"))
    }
    print(f"load: {os.getloadavg()}", flush=True)
    for name in args.variants.split(","):
        overrides, loop = VARIANTS[name]
        for seed in (int(s) for s in args.seeds.split(",")):
            result = run_variant(name, overrides, loop, data, args, seed)
            result["load_after"] = [round(x, 2) for x in os.getloadavg()]
            summary = {k: v for k, v in result.items() if k != "history"}
            print(json.dumps(summary), flush=True)
            if args.out:
                with args.out.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()

"""Each loss's share of a full training step on CPU, and GHM-C against cross-entropy.

Part 1 builds two models at batch 32 and times, in the same run, interleaved
repetition by repetition:

* **quickstart**: the offline default encoder (``acsa.models.build_model`` with the
  quickstart model section), fitted on real review texts of the shared data;
* **ViSoBERT-shaped**: an XLM-R base encoder (12 layers, hidden 768, 12 heads,
  vocabulary 15,000, random weights built locally from ``XLMRobertaConfig``, no
  download) on sequences of 64 tokens.

A full training step is forward, loss, backward and an AdamW step; its time is
the median over the repetitions (the loss rotating through the list). A loss's
own time is its forward+backward on that model's real logits (and projections
for the contrastive parts), median over repetitions; the share is the ratio of
the two. Part 2 times GHM-C against cross-entropy forward+backward at batch
4,096 (11 aspects, 4 classes), paired and interleaved, median of the ratios.

Thread CPU time with one intra-op thread by default: the machine is shared, and a
process waiting for a core accumulates wall-clock time but no CPU time.

    python benchmarks/loss_speed.py                 # print the tables
    python benchmarks/loss_speed.py --write-docs    # also update docs/BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from acsa.losses import build_loss

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "vi-smartphone-reviews" / "train.csv"
DOCS = ROOT / "docs" / "BENCHMARKS.md"
BEGIN, END = "<!-- loss_speed:begin -->", "<!-- loss_speed:end -->"
BATCH = 32
# canonical classes; "Posititve" is a known typo of the shared train split
LABELS = {"": 0, "Negative": 1, "Neutral": 2, "Positive": 3, "Posititve": 3}
CLASSIFICATION: dict[str, dict[str, Any]] = {
    "cross_entropy": {"type": "cross_entropy"},
    "focal": {"type": "focal", "gamma": 2.0},
    "focal sigmoid": {"type": "focal", "gamma": 2.0, "use_sigmoid": True, "alpha": 0.25},
    "ghm": {"type": "ghm", "bins": 10, "momentum": 0.75},
    "ghm per-aspect": {"type": "ghm", "bins": 10, "momentum": 0.75, "per_aspect": True},
    "ghm sigmoid": {"type": "ghm", "bins": 10, "momentum": 0.75, "use_sigmoid": True},
    "unified_focal": {"type": "unified_focal"},
    "asymmetric": {"type": "asymmetric"},
    "class_balanced": {"type": "class_balanced", "beta": 0.999},
    "logit_adjusted": {"type": "logit_adjusted"},
}
CONTRASTIVE: dict[str, dict[str, Any]] = {
    "cross_entropy + supcon": {"type": "supcon"},
    "cross_entropy + soft_contrastive": {"type": "soft_contrastive"},
}
LARGE_BATCH = 4096
LARGE = {
    "ghm": CLASSIFICATION["ghm"],
    "ghm per-aspect": CLASSIFICATION["ghm per-aspect"],
    "ghm sigmoid": CLASSIFICATION["ghm sigmoid"],
    "cross_entropy (acsa)": CLASSIFICATION["cross_entropy"],
}

NOTE = (
    "Every loss is plain PyTorch: autograd computes the gradients. The first build's six "
    "hand-written `autograd.Function`s were faster at B=32 by 50 to 130 us per loss call "
    "(commit 138a24b against this one, bare losses, thread CPU time, separate processes "
    "run alternately: cross-entropy 100 vs 157 us, focal 150 vs 207, GHM-C 182 vs 288, "
    "unified focal 389 vs 514, ASL 195 vs 263), that is under 0.1% of the quickstart step "
    "above: not worth writing every formula twice."
)

# Thread CPU time: with one intra-op thread, forward and backward (the CPU autograd
# engine runs in the calling thread) are both counted, waiting for a core is not.
CLOCK: Callable[[], float] = time.thread_time


def objective(name: str, counts: torch.Tensor) -> torch.nn.Module:
    """The combined objective the trainer would build for a row of the table."""
    if name in CONTRASTIVE:
        config = {
            "type": "combined",
            "classification": {"type": "cross_entropy"},
            "contrastive": CONTRASTIVE[name],
            "contrastive_weight": 0.1,
        }
    else:
        config = {"type": "combined", "classification": CLASSIFICATION[name]}
    return build_loss(config, class_counts=counts).train()


def read_reviews(count: int, aspects_out: list[str], seed: int) -> tuple[list[str], torch.Tensor]:
    """``count`` texts and canonical labels ``[count, A]`` of the shared train split.

    Without the shared data: generated texts and random labels (said in the output).
    """
    rng = random.Random(seed)
    if DATA.is_file():
        import pandas as pd

        frame = pd.read_csv(DATA, encoding="utf-8-sig", keep_default_na=False)
        aspects_out.extend(c for c in frame.columns if c != "data")
        rows = rng.sample(range(len(frame)), min(count, len(frame)))
        texts = [str(frame["data"].iloc[i]) for i in rows]
        cells = [[LABELS[str(frame[a].iloc[i]).strip()] for a in aspects_out] for i in rows]
        return texts, torch.tensor(cells)
    words = "pin camera màn hình giao hàng nhanh đẹp tốt tệ giá rẻ shop máy mượt nóng".split()
    aspects_out.extend(f"aspect{i}" for i in range(11))
    texts = [" ".join(rng.choices(words, k=rng.randint(5, 60))) for _ in range(count)]
    return texts, torch.randint(0, 4, (count, 11), generator=torch.Generator().manual_seed(seed))


class Setup:
    """One model, its optimizer, a few batches, and its timings."""

    def __init__(
        self,
        label: str,
        model: torch.nn.Module,
        batches: list[dict],
        counts: torch.Tensor,
        step_every_loss: bool,
    ) -> None:
        self.label = label
        self.step_every_loss = step_every_loss
        self.model = model.train()
        self.optimizer = model.create_optimizer(2e-3, 0.01)
        self.batches = batches
        self.objectives = {n: objective(n, counts) for n in (*CLASSIFICATION, *CONTRASTIVE)}
        self.steps: list[float] = []
        self.loss_times: dict[str, list[float]] = {n: [] for n in self.objectives}
        with torch.no_grad():
            out = model(**batches[0]["features"])
        self.logits = out["logits"].detach().requires_grad_()
        self.projections = out["projections"].detach().requires_grad_()

    def step(self, name: str, k: int) -> None:
        batch = self.batches[k % len(self.batches)]
        start = CLOCK()
        out = self.model(**batch["features"])
        result = self.objectives[name](
            out["logits"], batch["targets"], batch["mask"], embeddings=out["projections"]
        )
        result.total.backward()
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.steps.append(CLOCK() - start)

    def time_loss(self, name: str, inner: int) -> None:
        loss = self.objectives[name]
        batch = self.batches[0]
        start = CLOCK()
        for _ in range(inner):
            self.logits.grad = self.projections.grad = None
            result = loss(self.logits, batch["targets"], batch["mask"], embeddings=self.projections)
            result.total.backward()
        self.loss_times[name].append((CLOCK() - start) / inner)


def quickstart_setup(texts, labels, aspects, counts) -> Setup:
    from acsa.data import LabelSpace
    from acsa.models import build_model
    from acsa.training.config import config_from_dict

    config = config_from_dict(
        {"data": {"train": "train.csv", "aspects": aspects}, "model": {"encoder": "offline"}}
    )
    space = LabelSpace(tuple(aspects))
    model, featurizer = build_model(config.model, space, texts)
    encoded = featurizer.encode(texts)
    batches = []
    for start in range(0, len(texts) - BATCH + 1, BATCH):
        features = featurizer.collate(encoded[start : start + BATCH])
        batches.append(_batch(features, labels[start : start + BATCH]))
    return Setup("quickstart", model, batches, counts, step_every_loss=True)


def visobert_setup(labels, aspects, counts, seq_len: int) -> Setup:
    from transformers import XLMRobertaConfig, XLMRobertaModel

    from acsa.data import LabelSpace
    from acsa.models.config import HuggingFaceModelConfig
    from acsa.models.hf_encoder import HFEncoder
    from acsa.models.model import AcsaModel

    backbone = XLMRobertaModel(
        XLMRobertaConfig(
            vocab_size=15_000,
            hidden_size=768,
            num_hidden_layers=12,
            num_attention_heads=12,
            intermediate_size=3072,
            max_position_embeddings=seq_len + 2,
        )
    )
    model_config = HuggingFaceModelConfig(encoder="huggingface", name_or_path="random-xlm-r-base")
    space = LabelSpace(tuple(aspects))
    model = AcsaModel(HFEncoder(backbone, model_config), model_config, space)
    gen = torch.Generator().manual_seed(0)
    batches = []
    for start in range(0, len(labels) - BATCH + 1, BATCH):
        ids = torch.randint(5, 15_000, (BATCH, seq_len), generator=gen)
        features = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
        batches.append(_batch(features, labels[start : start + BATCH]))
    return Setup("ViSoBERT-shaped", model, batches, counts, step_every_loss=False)


def _batch(features: dict, labels: torch.Tensor) -> dict:
    return {"features": features, "targets": labels, "mask": torch.ones_like(labels, dtype=bool)}


def share_table(setups: list[Setup], repeats: int, inner: int) -> list[str]:
    names = list(setups[0].objectives)
    for k in range(repeats):
        for setup in setups:  # the models alternate, repetition by repetition
            # The quickstart step is short: every loss gets its own step. The large
            # encoder's step does not depend on the loss; one step per repetition.
            for name in names if setup.step_every_loss else [names[k % len(names)]]:
                setup.step(name, k)
            for name in names:
                setup.time_loss(name, inner)
    header = "| loss (objective) |"
    rule = "|---|"
    for setup in setups:
        header += f" {setup.label}: loss us | share of step |"
        rule += "---|---|"
    rows = [header, rule]
    step_row = "| full step (forward, loss, backward, AdamW), ms CPU |"
    for setup in setups:
        step_row += f" {statistics.median(setup.steps) * 1e3:.1f} | 100% |"
    rows.append(step_row)
    for name in names:
        row = f"| {name} |"
        for setup in setups:
            loss_s = statistics.median(setup.loss_times[name])
            row += f" {loss_s * 1e6:.0f} | {loss_s / statistics.median(setup.steps):.3%} |"
        rows.append(row)
    return rows


def _fwd_bwd(fn: Callable[[], torch.Tensor], leaf: torch.Tensor, inner: int) -> float:
    start = CLOCK()
    for _ in range(inner):
        leaf.grad = None
        fn().backward()
    return (CLOCK() - start) / inner


def large_batch_table(repeats: int) -> list[str]:
    """GHM-C and acsa's cross-entropy against ``F.cross_entropy`` at B = 4,096."""
    logits = torch.randn(LARGE_BATCH, 11, 4, requires_grad=True)
    targets = torch.randint(0, 4, (LARGE_BATCH, 11))
    counts = torch.randint(1, 1000, (11, 4))

    def reference() -> torch.Tensor:
        return F.cross_entropy(logits.view(-1, 4), targets.view(-1))

    rows = ["| loss (B=4096, 11 aspects, 4 classes) | forward+backward ms | / F.cross_entropy |"]
    rows.append("|---|---|---|")
    ref_times: list[float] = []
    for name, config in LARGE.items():
        loss = build_loss(config, class_counts=counts).train()

        def candidate(loss: torch.nn.Module = loss) -> torch.Tensor:
            return loss(logits, targets)

        ratios, times = [], []
        for k in range(repeats + 2):
            # alternate the order within the pair; the first two pairs warm up
            order = (reference, candidate) if k % 2 == 0 else (candidate, reference)
            seconds = {fn: _fwd_bwd(fn, logits, 5) for fn in order}
            if k >= 2:
                ref_times.append(seconds[reference])
                times.append(seconds[candidate])
                ratios.append(times[-1] / ref_times[-1])
        rows.append(
            f"| {name} | {statistics.median(times) * 1e3:.2f} | {statistics.median(ratios):.2f}x |"
        )
    rows.insert(
        2, f"| F.cross_entropy (reference) | {statistics.median(ref_times) * 1e3:.2f} | 1x |"
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="repetitions (median)")
    parser.add_argument("--inner", type=int, default=20, help="loss calls per loss timing")
    parser.add_argument("--seq-len", type=int, default=64, help="tokens per review (ViSoBERT)")
    parser.add_argument("--no-visobert", action="store_true", help="skip the large encoder")
    parser.add_argument("--write-docs", action="store_true", help="update docs/BENCHMARKS.md")
    args = parser.parse_args()
    if args.write_docs and args.no_visobert:
        parser.error("--write-docs needs both models; drop --no-visobert")
    torch.set_num_threads(1)
    torch.manual_seed(0)
    load_before = _load_average()
    aspects: list[str] = []
    texts, labels = read_reviews(8 * BATCH, aspects, seed=0)
    from acsa.data import class_counts

    counts = torch.as_tensor(class_counts(labels.numpy(), None, 4))
    setups = [quickstart_setup(texts, labels, aspects, counts)]
    if not args.no_visobert:
        setups.append(visobert_setup(labels, aspects, counts, args.seq_len))
    rows = share_table(setups, args.repeats, args.inner)
    large = large_batch_table(max(args.repeats, 9))
    load_after = _load_average()
    source = (
        "shared smartphone train split" if DATA.is_file() else "generated texts (no shared data)"
    )
    text = "\n".join(rows) + "\n\n" + "\n".join(large)
    print(text)
    print(f"load average before {load_before}, after {load_after}; texts: {source}")
    if args.write_docs:
        write_docs(args, text, load_before, load_after, source)


def write_docs(args: argparse.Namespace, text: str, before: str, after: str, source: str) -> None:
    command = (
        f"python benchmarks/loss_speed.py --repeats {args.repeats} --inner {args.inner} "
        f"--seq-len {args.seq_len} --write-docs"
    )
    section = (
        f"{BEGIN}\n## Loss speed (CPU): a loss's share of a training step\n\n"
        "What a loss costs where it matters: its forward+backward time against a full "
        "training step (forward, loss, backward, AdamW) at batch 32, for the quickstart "
        "model (offline encoder fitted on real reviews) and a ViSoBERT-shaped encoder "
        f"(XLM-R base: 12 layers, hidden 768, 12 heads, vocabulary 15k, random weights, "
        f"{args.seq_len} tokens), both in one run, interleaved repetition by repetition, "
        "medians. Thread CPU time with one intra-op thread, because the machine is "
        "shared with other jobs (a process waiting for a core gets wall-clock time but "
        "no CPU time). Rows with a contrastive part time the whole objective "
        "(cross-entropy + 0.1 x contrastive on the 128-d projections). Target: every "
        "loss under 1% of a step on CPU; GHM-C at most 2x cross-entropy at B=4096.\n\n"
        f"Command: `{command}` (torch {torch.__version__}, "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores shared with "
        f"other jobs; load average before {before}, after {after}; texts: {source}).\n\n"
        f"{text}\n\n"
        f"{NOTE}\n"
        f"{END}"
    )
    old = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    if BEGIN in old and END in old:
        head, rest = old.split(BEGIN, 1)
        new = head + section + rest.split(END, 1)[1]
    else:
        new = old.rstrip("\n") + "\n\n" + section + "\n"
    DOCS.write_text(new, encoding="utf-8")
    print(f"updated {DOCS}")


def _load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except (AttributeError, OSError):  # Windows has no load average
        return "n/a"


if __name__ == "__main__":
    main()

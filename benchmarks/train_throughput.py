"""Training throughput: this pipeline's data path vs the older scripts' approach.

Both sides train the same small transformer encoder (a random BERT built
locally, with a WordPiece tokenizer trained on the reviews; no download) with
the same head, loss, optimizer and batch size. They differ only in the data
path:

* **pipeline**: reviews tokenized once up front (``HFFeaturizer.encode``),
  dynamic padding per batch (``AcsaCollator``), length-grouped batches
  (``transformers`` ``LengthGroupedSampler``, as ``acsa train`` uses);
* **reference**: the tokenizer runs in ``Dataset.__getitem__`` on every
  access and pads every review to 256 tokens, batches drawn at random.

The two are measured side by side in one process, interleaved in rounds so
that load from other processes hits both alike. The pipeline's one-time
tokenization is charged to it. Prints samples/second of each and the ratio.

    python benchmarks/train_throughput.py                      # shared data
    python benchmarks/train_throughput.py --write-docs         # update docs/BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "vi-smartphone-reviews" / "train.csv"
DOCS = ROOT / "docs" / "BENCHMARKS.md"
BEGIN, END = "<!-- pipeline:begin -->", "<!-- pipeline:end -->"
THROUGHPUT_BEGIN, THROUGHPUT_END = "<!-- throughput:begin -->", "<!-- throughput:end -->"
REFERENCE_LENGTH = 256


def read_texts(count: int, seed: int) -> list[str]:
    """``count`` review texts: a random sample of the shared train split, else synthetic."""
    rng = random.Random(seed)
    if DATA.is_file():
        import pandas as pd

        texts = pd.read_csv(DATA, encoding="utf-8-sig", keep_default_na=False)["data"].tolist()
        return rng.sample([str(t) for t in texts], min(count, len(texts)))
    words = "pin camera màn hình giao hàng nhanh đẹp tốt tệ giá rẻ shop máy mượt nóng".split()
    return [" ".join(rng.choices(words, k=rng.randint(5, 80))) for _ in range(count)]


def build_encoder(folder: Path, texts: list[str], hidden: int, layers: int) -> Path:
    """A random BERT and a WordPiece tokenizer trained on ``texts``, saved locally."""
    # the tests' builder; the project root is not on sys.path for a script in benchmarks/
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.helpers.tiny_bert import build_tiny_bert

    return build_tiny_bert(
        folder,
        texts,
        vocab_size=4000,
        hidden_size=hidden,
        num_layers=layers,
        num_heads=max(1, hidden // 64),
        intermediate_size=hidden * 4,
        max_positions=512,
    )


def _load_average() -> str:
    # other jobs on the machine change absolute rates; say how busy it was
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except (AttributeError, OSError):  # Windows has no load average
        return "unknown"


class ReferenceDataset(torch.utils.data.Dataset):
    """The older scripts' dataset: tokenize and pad to 256 on every ``__getitem__``."""

    def __init__(self, texts: list[str], labels: torch.Tensor, tokenizer: Any) -> None:
        self.texts, self.labels, self.tokenizer = texts, labels, tokenizer

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        enc = self.tokenizer(
            self.texts[index],
            padding="max_length",
            truncation=True,
            max_length=REFERENCE_LENGTH,
            return_tensors="pt",
        )
        return {
            "input_ids": enc["input_ids"].squeeze(0),
            "attention_mask": enc["attention_mask"].squeeze(0),
            "labels": self.labels[index],
            "label_mask": torch.ones_like(self.labels[index], dtype=torch.bool),
        }


def make_model(encoder_dir: Path, label_space: Any) -> Any:
    from acsa.models import build_model

    torch.manual_seed(0)
    config = {
        "encoder": "huggingface",
        "name_or_path": str(encoder_dir),
        "max_length": REFERENCE_LENGTH,
        "head": {"hidden_dim": 128, "projection_dim": 0},
    }
    model, featurizer = build_model(config, label_space, [])
    return model, featurizer


def train_steps(model: Any, loader_iter: Any, steps: int, loss_fn: Any, opt: Any) -> int:
    """Run ``steps`` optimizer steps from ``loader_iter``; returns samples seen."""
    seen = 0
    for _ in range(steps):
        batch = next(loader_iter)
        targets, mask = batch.pop("labels"), batch.pop("label_mask")
        batch.pop("example_index", None)
        out = model(**batch)
        loss = loss_fn(out["logits"], targets, mask)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        seen += targets.shape[0]
    return seen


def cycle(loader: Any) -> Any:
    while True:
        yield from loader


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from transformers.trainer_pt_utils import LengthGroupedSampler
    from transformers.utils import logging as hf_logging

    from acsa.data import AcsaCollator, EncodedDataset, LabelSpace
    from acsa.losses import build_loss

    hf_logging.disable_progress_bar()
    torch.set_num_threads(args.threads)
    texts = read_texts(args.samples, args.seed)
    label_space = LabelSpace(("Battery", "Camera", "Price", "Shipping"))
    gen = torch.Generator().manual_seed(args.seed)
    labels = torch.randint(0, 4, (len(texts), label_space.num_aspects), generator=gen)

    with tempfile.TemporaryDirectory() as tmp:
        encoder_dir = build_encoder(Path(tmp), texts, args.hidden, args.layers)
        model_a, featurizer = make_model(encoder_dir, label_space)
        model_b, _ = make_model(encoder_dir, label_space)
        loss_fn = build_loss({"type": "cross_entropy"})

        started = time.perf_counter()
        features = featurizer.encode(texts)  # once
        encode_s = time.perf_counter() - started
        pipeline_ds = EncodedDataset(features, labels.numpy())
        sampler = LengthGroupedSampler(
            args.batch_size, dataset=pipeline_ds, lengths=pipeline_ds.lengths(), generator=gen
        )
        pipeline_loader = torch.utils.data.DataLoader(
            pipeline_ds,
            batch_size=args.batch_size,
            sampler=sampler,
            collate_fn=AcsaCollator(featurizer.collate),
        )
        reference_loader = torch.utils.data.DataLoader(
            ReferenceDataset(texts, labels, featurizer.tokenizer),
            batch_size=args.batch_size,
            shuffle=True,
            generator=gen,
        )
        sides = {
            "pipeline": (model_a, cycle(pipeline_loader)),
            "reference": (model_b, cycle(reference_loader)),
        }
        opts = {name: torch.optim.AdamW(m.parameters(), lr=1e-4) for name, (m, _) in sides.items()}
        for name, (model, it) in sides.items():  # warm-up, not timed
            model.train()
            train_steps(model, it, 1, loss_fn, opts[name])
        totals = {name: [0.0, 0] for name in sides}
        per_round: dict[str, list[float]] = {name: [] for name in sides}
        for round_index in range(args.rounds):
            order = list(sides) if round_index % 2 == 0 else list(reversed(list(sides)))
            for name in order:
                model, it = sides[name]
                tick = time.perf_counter()
                seen = train_steps(model, it, args.steps, loss_fn, opts[name])
                elapsed = time.perf_counter() - tick
                totals[name][0] += elapsed
                totals[name][1] += seen
                per_round[name].append(seen / elapsed)
        # charge the one-time tokenization to the pipeline, pro rata of the
        # reviews it trained on (one epoch of them at most)
        charged = encode_s * min(1.0, totals["pipeline"][1] / len(texts))
        pipeline_rate = totals["pipeline"][1] / (totals["pipeline"][0] + charged)
        reference_rate = totals["reference"][1] / totals["reference"][0]
        lengths = pipeline_ds.lengths()
    return {
        "pipeline_samples_per_s": pipeline_rate,
        "reference_samples_per_s": reference_rate,
        "ratio": pipeline_rate / reference_rate,
        "round_ratios": [
            a / b for a, b in zip(per_round["pipeline"], per_round["reference"], strict=True)
        ],
        "encode_once_s": encode_s,
        "mean_tokens": statistics.mean(lengths),
        "texts": len(texts),
        "args": vars(args),
    }


def docs_section(result: dict[str, Any], command: str) -> str:
    a = result["args"]
    rounds = ", ".join(f"{r:.2f}" for r in result["round_ratios"])
    return "\n".join(
        [
            THROUGHPUT_BEGIN,
            "### Training throughput (benchmarks/train_throughput.py)",
            "",
            f"Command: `{command}`",
            "",
            f"Random BERT built locally (hidden {a['hidden']}, {a['layers']} layers), batch "
            f"{a['batch_size']}, {result['texts']} training reviews (mean "
            f"{result['mean_tokens']:.0f} tokens), {a['rounds']} interleaved rounds of "
            f"{a['steps']} steps per side, {a['threads']} torch threads; "
            f"{platform.processor() or platform.machine()}, load average before the run "
            f"{_load_average()}.",
            "",
            "| data path | samples/s |",
            "| --- | --- |",
            f"| reference: tokenize in `__getitem__`, pad to 256 | "
            f"{result['reference_samples_per_s']:.1f} |",
            f"| acsa: tokenize once, dynamic padding, length grouping | "
            f"{result['pipeline_samples_per_s']:.1f} |",
            f"| **ratio** | **{result['ratio']:.2f}x** |",
            "",
            f"Per-round ratios: {rounds}. The pipeline's one-time tokenization "
            f"({result['encode_once_s']:.2f} s) is included in its time.",
            THROUGHPUT_END,
        ]
    )


def update_docs(section: str, begin: str = THROUGHPUT_BEGIN, end: str = THROUGHPUT_END) -> None:
    """Replace the throughput block inside the pipeline section of docs/BENCHMARKS.md."""
    text = DOCS.read_text(encoding="utf-8") if DOCS.is_file() else "# Benchmarks\n"
    if BEGIN not in text:
        text = text.rstrip("\n") + f"\n\n{BEGIN}\n## Training pipeline\n\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    body, tail = rest.split(END, 1)
    if begin in body:
        before, after = body.split(begin, 1)
        body = before + section + after.split(end, 1)[1]
    else:
        body = body.rstrip("\n") + "\n\n" + section + "\n"
    DOCS.write_text(head + BEGIN + body + END + tail, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000, help="reviews sampled from train")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=8, help="optimizer steps per side per round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write-docs", action="store_true", help="update docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    result = measure(args)
    print(
        f"reference (pad to 256, tokenize per item): "
        f"{result['reference_samples_per_s']:.1f} samples/s"
    )
    print(
        f"pipeline (tokenize once, dynamic padding, length groups): "
        f"{result['pipeline_samples_per_s']:.1f} samples/s"
    )
    print(f"per-round ratios: {', '.join(f'{r:.2f}' for r in result['round_ratios'])}")
    print(f"ratio: {result['ratio']:.2f}x")
    if args.write_docs:
        flags = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--write-docs"]
        command = " ".join(["python benchmarks/train_throughput.py", *flags]).strip()
        update_docs(docs_section(result, command))
        print(f"updated {DOCS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""ONNX Runtime against PyTorch on CPU, both encoders, side by side in one process.

* **offline**: a saved offline model (the quickstart's), on the whole shared test split;
* **BERT-base-shaped**: a Hugging Face BERT with 12 layers, hidden 768, 12 heads
  (random weights and a WordPiece tokenizer trained on the shared reviews, built
  locally: no download), on ``--hf-reviews`` test reviews.

Each model is exported with ``acsa.models.onnx_export.export_onnx`` and both
runtimes predict the same reviews through ``acsa.api`` (featurizer included:
what a user of ``acsa predict`` or ``acsa serve`` gets), with the same number
of intra-op threads, interleaved repetition by repetition (the order swapped
every time), medians. Reported: CPU time (this process; a process waiting for a
core gets wall time but no CPU time) and wall time, the speed-up, and the parity
(largest probability difference, identical labels).

    python benchmarks/onnx_speed.py --model runs/quickstart/model
    python benchmarks/onnx_speed.py --model runs/quickstart/model --write-docs
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "vi-smartphone-reviews"
DOCS = ROOT / "docs" / "BENCHMARKS.md"
BEGIN, END = "<!-- onnx:begin -->", "<!-- onnx:end -->"
NOTE = (
    "Reading the table: in length-sorted batches both runtimes spend their time in the same "
    "kind of kernels (convolutions and gathers for the offline encoder, matrix products for "
    "BERT), so ONNX Runtime gains little there; its gain is the fixed cost of a call, which "
    "dominates when every review is its own call. The featurizer (Python) is the same on "
    "both sides and included in both."
)


def read_texts(split: str) -> list[str]:
    import pandas as pd

    path = SHARED / f"{split}.csv"
    if not path.is_file():
        raise SystemExit(f"{path}: the shared data is needed for this benchmark")
    frame = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False)
    return [str(t) for t in frame["data"]]


def bert_base_model(folder: Path, aspects: tuple[str, ...]) -> Path:
    """A BERT-base-shaped model (random weights, tokenizer trained on the reviews), saved."""
    sys.path.insert(0, str(ROOT))  # the tests' builder; benchmarks/ is not a package
    from tests.helpers.tiny_bert import build_tiny_bert

    from acsa.data.label_space import LabelSpace
    from acsa.models import build_model

    backbone = build_tiny_bert(
        folder / "backbone",
        read_texts("train")[:5000],
        vocab_size=8000,
        hidden_size=768,
        num_layers=12,
        num_heads=12,
        intermediate_size=3072,
        max_positions=258,
    )
    config = {"encoder": "huggingface", "name_or_path": str(backbone), "max_length": 256}
    model, _ = build_model(config, LabelSpace(aspects), [])
    return model.save_pretrained(folder / "model")


def time_once(
    predictor,  # noqa: ANN001
    texts: list[str],
    one_by_one: bool,
) -> tuple[float, float, np.ndarray]:
    cpu, wall = time.process_time(), time.perf_counter()
    if one_by_one:  # a server's worst case: every review its own model call
        probs = np.concatenate([predictor.predict_proba([t]) for t in texts])
    else:
        probs = predictor.predict_proba(texts)
    return time.process_time() - cpu, time.perf_counter() - wall, probs


def compare(
    name: str, model_dir: Path, texts: list[str], single: int, repeats: int, out: Path
) -> list[str]:
    """Table rows: all ``texts`` in batches, then the first ``single`` one review per call."""
    from acsa import api
    from acsa.models.onnx_export import export_onnx

    started = time.perf_counter()
    onnx_dir = export_onnx(model_dir, out / f"{name.split()[0]}_onnx")
    export_s = time.perf_counter() - started
    torch_predictor, onnx_predictor = api.load(model_dir), api.load(onnx_dir, runtime="onnx")
    warm = texts[:16]
    torch_predictor.predict_proba(warm)
    onnx_predictor.predict_proba(warm)
    rows = []
    for label, subset, one_by_one in (
        (f"{name}, length-sorted batches", texts, False),
        (f"{name}, one review per call", texts[:single], True),
    ):
        times: dict[str, list[tuple[float, float]]] = {"torch": [], "onnx": []}
        probs: dict[str, np.ndarray] = {}
        for r in range(repeats):
            order = [("torch", torch_predictor), ("onnx", onnx_predictor)]
            for key, predictor in order if r % 2 == 0 else order[::-1]:
                cpu, wall, probs[key] = time_once(predictor, subset, one_by_one)
                times[key].append((cpu, wall))
            print(f"{label} {r + 1}: {times['torch'][-1]} vs {times['onnx'][-1]}", flush=True)
        gap = float(np.abs(probs["torch"] - probs["onnx"]).max())
        same = bool(
            (torch_predictor.decide(probs["torch"]) == onnx_predictor.decide(probs["onnx"])).all()
        )
        t_cpu = statistics.median(c for c, _ in times["torch"])
        o_cpu = statistics.median(c for c, _ in times["onnx"])
        t_wall = statistics.median(w for _, w in times["torch"])
        o_wall = statistics.median(w for _, w in times["onnx"])
        rows.append(
            f"| {label} | {len(subset)} | {torch.get_num_threads()} | {t_cpu:.2f} | "
            f"{o_cpu:.2f} | **{t_cpu / o_cpu:.2f}x** | {t_wall:.2f} | {o_wall:.2f} | "
            f"{t_wall / o_wall:.2f}x | {gap:.1e} | {'yes' if same else 'NO'} | {export_s:.0f} |"
        )
    return rows


def _load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except (AttributeError, OSError):
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="a saved offline model")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads, both runtimes")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--hf-reviews", type=int, default=128)
    parser.add_argument("--no-hf", action="store_true", help="skip the BERT-base-shaped model")
    parser.add_argument("--write-docs", action="store_true", help="update docs/BENCHMARKS.md")
    args = parser.parse_args()
    if args.write_docs and args.no_hf:
        parser.error("--write-docs needs both encoders; drop --no-hf")
    torch.set_num_threads(args.threads)
    import onnxruntime

    from acsa import api

    test = read_texts("test")
    before = _load_average()
    rows = [
        "| encoder | reviews | threads | PyTorch CPU s | ONNX Runtime CPU s | speed-up (CPU) "
        "| PyTorch wall s | ONNX Runtime wall s | speed-up (wall) | max prob. diff "
        "| same labels | export s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        rows += compare("offline (quickstart)", args.model, test, 300, args.repeats, out)
        if not args.no_hf:
            aspects = api.load(args.model).aspects
            hf_dir = bert_base_model(out / "bert", aspects)
            hf_texts = test[: args.hf_reviews]
            rows += compare(
                "BERT-base-shaped", hf_dir, hf_texts, 32, max(3, args.repeats // 2), out
            )
    after = _load_average()
    text = "\n".join(rows)
    print(text)
    print(f"load average before {before}, after {after}")
    if args.write_docs:
        command = (
            f"python benchmarks/onnx_speed.py --model {args.model.as_posix()} "
            f"--threads {args.threads} --repeats {args.repeats} --hf-reviews {args.hf_reviews} "
            "--write-docs"
        )
        section = (
            f"{BEGIN}\n## ONNX Runtime against PyTorch on CPU (`acsa export`, `--onnx`)\n\n"
            "Both runtimes predict the same shared test reviews through `acsa.api` "
            "(featurizer included), with the same intra-op threads, interleaved repetition "
            "by repetition, medians: all of them in length-sorted batches (as `acsa "
            "predict` does), and a few one review per call (the worst case of a server "
            "without batching). The offline model is the quickstart's; the BERT-base-"
            "shaped one has 12 layers, hidden 768, 12 heads, random weights and a tokenizer "
            "trained on the reviews (built locally). CPU time is this process's (the machine "
            "is shared: a process waiting for a core gets wall time but no CPU time).\n\n"
            f"Command: `{command}` (torch {torch.__version__}, onnxruntime "
            f"{onnxruntime.__version__}, {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} cores shared with other jobs; load average before {before}, "
            f"after {after}).\n\n{text}\n\n{NOTE}\n{END}"
        )
        old = DOCS.read_text(encoding="utf-8")
        if BEGIN in old and END in old:
            head, rest = old.split(BEGIN, 1)
            new = head + section + rest.split(END, 1)[1]
        else:
            new = old.rstrip("\n") + "\n\n" + section + "\n"
        DOCS.write_text(new, encoding="utf-8")
        print(f"updated {DOCS}")


if __name__ == "__main__":
    main()

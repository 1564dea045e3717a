"""Regenerate docs/RELIABILITY.md: every bad input, kill, fault and pickle tried, and what happened.

    python benchmarks/reliability_report.py            # full run (a few minutes on 2 cores)
    python benchmarks/reliability_report.py --quick    # skip the real-process kill/Ctrl-C runs

The cases and checks are those of tests/test_reliability_corpus.py and
tests/test_reliability_training.py; this script runs them once more and
writes the outcome as tables (exit code, the exact message, pass/fail).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import pickle
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
DOC = ROOT / "docs" / "RELIABILITY.md"
COMMAND = "python benchmarks/reliability_report.py"


def _cell(text: str, limit: int = 260) -> str:
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text.replace("|", "\\|")


class Scrub:
    """Replace the temporary folder in messages by ``<tmp>`` so the table is stable."""

    def __init__(self, root: Path) -> None:
        self.roots = sorted({str(root), str(root.resolve())}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for root in self.roots:
            text = text.replace(root, "<tmp>")
        # corpus files: show them relative to the repository
        return text.replace(str(ROOT) + os.sep, "")


# ---------------------------------------------------------------------------- corpus


def corpus_section(work: Path, scrub: Scrub) -> tuple[list[str], int, int]:
    from tests.test_reliability_corpus import (
        SUBPROCESS_CASES,
        all_cases,
        build_workspace,
        quiet_logging,
        run_case,
    )

    ws = build_workspace(work / "workspace")
    rows = []
    passed = failed = 0
    cases = all_cases()
    for index, case in enumerate(cases):
        with quiet_logging():
            outcome = run_case(case, ws, work / "cases" / f"{index:03d}")
        if outcome.skipped:
            status = f"skipped ({outcome.skipped})"
        elif outcome.problems:
            status = "FAIL: " + "; ".join(outcome.problems)
            failed += 1
        else:
            status = "ok"
            passed += 1
        what = case.file or case.setup or "-"
        argv = case.command
        rows.append(
            f"| {case.kind} | {case.name} | `{what}` | `acsa {argv}` | "
            f"{outcome.exit_code if not outcome.skipped else '-'} | "
            f"{_cell(scrub(outcome.error_line)) or '-'} | {_cell(status)} |"
        )
    sub_rows = []
    for case in [c for c in cases if c.id in SUBPROCESS_CASES]:
        outcome = run_case(case, ws, work / "subprocess" / case.id, subprocess_mode=True)
        lines = len([line for line in outcome.stderr.splitlines() if line.strip()])
        ok = "ok" if not outcome.problems else "FAIL: " + "; ".join(outcome.problems)
        passed, failed = (passed + 1, failed) if not outcome.problems else (passed, failed + 1)
        sub_rows.append(
            f"| {case.id} | {outcome.exit_code} | {lines} | "
            f"{'yes' if 'Traceback' in outcome.stderr else 'no'} | {_cell(ok)} |"
        )
    table = [
        "| kind | case | input / setup | command | exit | stderr (the one line) | result |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "The same cases, a few of them again through a real process "
        "(`python -m acsa ...`, so Python warnings and the console entry point count too):",
        "",
        "| case | exit | stderr lines | traceback | result |",
        "|---|---|---|---|---|",
        *sub_rows,
    ]
    return table, passed, failed


# ---------------------------------------------------------------------------- kills


def _train_proc(config: Path, out: Path, *extra: str) -> subprocess.Popen:
    from tests.test_reliability_training import _acsa

    return subprocess.Popen(
        _acsa("train", str(config), "--output", str(out), *extra),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    )


def _wait_checkpoint(proc: subprocess.Popen, out: Path, timeout: float = 300) -> Path | None:
    from tests.test_reliability_training import _first_checkpoint

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        found = _first_checkpoint(out)
        if found is not None:
            return found
        time.sleep(0.02)
    return None


def _compare(full: Path, other: Path) -> tuple[str, str]:
    import torch
    from tests.test_reliability_training import read_metrics, weights

    a, b = weights(full / "model"), weights(other / "model")
    diff = max(float((a[k].float() - b[k].float()).abs().max()) for k in a)
    equal = all(torch.equal(a[k], b[k]) for k in a)
    same_metrics = read_metrics(full) == read_metrics(other)
    return (
        "bit-identical" if equal else f"max abs diff {diff:.3g}",
        "equal" if same_metrics else "DIFFER",
    )


def kill_section(work: Path, scrub: Scrub) -> tuple[list[str], int, int]:
    from tests.test_reliability_training import _yaml_config
    from tests.test_training import write_synthetic_data

    data = write_synthetic_data(work / "data", sizes=(160, 40, 40))
    config = _yaml_config(work, data, epochs=5)
    full_proc = _train_proc(config, work / "full")
    rows = []
    passed = failed = 0

    def resume(out: Path) -> tuple[int, str]:
        proc = _train_proc(config, out, "--resume")
        _, err = proc.communicate(timeout=900)
        run = (
            json.loads((out / "run.json").read_text(encoding="utf-8"))
            if proc.returncode == 0
            else {}
        )
        return proc.returncode, str(run.get("resumed_from"))

    # SIGKILL right after the first complete checkpoint
    killed = work / "killed"
    proc = _train_proc(config, killed)
    first = _wait_checkpoint(proc, killed)
    running = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    kill_code = proc.returncode
    # SIGINT (Ctrl-C) once training is under way
    ctrl_c = work / "ctrl_c"
    proc = _train_proc(config, ctrl_c)
    _wait_checkpoint(proc, ctrl_c)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    int_code, int_line = proc.returncode, (err.strip().splitlines() or [""])[-1]
    # a kill while saving: the next checkpoint folder exists but is half written
    partial = work / "partial"
    shutil.copytree(killed, partial)
    from tests.test_reliability_training import make_partial

    complete = sorted((partial / "checkpoints").glob("checkpoint-*"))[-1]
    step = int(complete.name.rsplit("-", 1)[1])
    make_partial(complete, step + 1)

    _, full_err = full_proc.communicate(timeout=900)
    full = work / "full"
    for label, out, how, code, line in (
        (
            "SIGKILL after the first checkpoint",
            killed,
            f"killed while running: {running}; first checkpoint {first.name if first else None}",
            kill_code,
            "(no output: SIGKILL)",
        ),
        ("SIGINT (Ctrl-C) during training", ctrl_c, "signal sent", int_code, scrub(int_line)),
        (
            "kill during a checkpoint save (simulated)",
            partial,
            f"checkpoint-{step + 1} without trainer_state.json, weights and optimizer truncated",
            "-",
            "-",
        ),
    ):
        rc, resumed_from = resume(out)
        if rc == 0 and full_proc.returncode == 0:
            same_weights, same_metrics = _compare(full, out)
        else:
            same_weights, same_metrics = f"resume exit {rc}", "-"
        ok = same_weights == "bit-identical" and same_metrics == "equal"
        passed, failed = (passed + 1, failed) if ok else (passed, failed + 1)
        rows.append(
            f"| {label} | {_cell(how)} | {code} | {_cell(line)} | `{resumed_from}` | "
            f"{same_weights} | {same_metrics} | {'ok' if ok else 'FAIL'} |"
        )
    table = [
        "Uninterrupted reference: `acsa train` (5 epochs, 160 synthetic reviews, tiny offline "
        f"model, seed 42), exit {full_proc.returncode}. Each row is a second run of the same "
        "command, interrupted, then `acsa train ... --resume` in a new process; its "
        "`model/model.safetensors` and `metrics.json` (without wall-clock fields) are "
        "compared with the reference.",
        "",
        "| interruption | detail | exit | last stderr line | resumed from | final weights "
        "| metrics | result |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
    ]
    return table, passed, failed


# ---------------------------------------------------------------------------- faults


@contextlib.contextmanager
def _poisoned_loss(every: int, part: str, value: float) -> Iterator[None]:
    from acsa.losses import combined

    original = combined.CombinedLoss.forward
    calls = {"n": 0}

    def forward(self: Any, *args: Any, **kwargs: Any) -> Any:
        out = original(self, *args, **kwargs)
        if self.training:
            calls["n"] += 1
            if calls["n"] % every == 0:
                parts = dict(out.parts)
                parts[part] = out.total * value
                return combined.LossOutput(total=out.total + parts[part], parts=parts)
        return out

    combined.CombinedLoss.forward = forward  # type: ignore[method-assign]
    try:
        yield
    finally:
        combined.CombinedLoss.forward = original  # type: ignore[method-assign]


def fault_section(work: Path, scrub: Scrub) -> tuple[list[str], int, int]:
    import torch
    from tests.test_training import small_config, write_synthetic_data

    from acsa.errors import TrainingError
    from acsa.losses import build_loss
    from acsa.training.run import train

    data = write_synthetic_data(work / "data", sizes=(64, 20, 20))
    rows = []
    passed = failed = 0
    # the 3rd training batch is poisoned first: "stop" must name step 3
    for label, part, value, policy in (
        ("NaN loss at step 3", "classification", float("nan"), "stop"),
        ("inf in the contrastive part at step 3", "contrastive", float("inf"), "stop"),
        ("NaN on every 3rd batch", "classification", float("nan"), "skip"),
    ):
        out = work / f"fault-{len(rows)}"
        config = small_config(data, out, epochs=1, batch_size=8, nan_policy=policy)
        try:
            with _poisoned_loss(3, part, value):
                if policy == "stop":
                    train(config, quiet=True)
                    result, ok = "finished (not stopped)", False
                else:
                    res = train(config, quiet=True)
                    logged = max(e.get("skipped_batches", 0) for e in res.log_history)
                    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
                    result = (
                        f"finished; {res.skipped_batches} batches skipped, counted in "
                        f"run.json ({run['skipped_batches']}) and in the training log "
                        f"(latest log line before the end: {int(logged)})"
                    )
                    ok = res.skipped_batches > 0 and run["skipped_batches"] == res.skipped_batches
                    ok = ok and logged > 0
        except TrainingError as exc:
            result, ok = f"TrainingError: {exc}", policy == "stop" and "step 3" in str(exc)
        passed, failed = (passed + 1, failed) if ok else (passed, failed + 1)
        rows.append(
            f"| {label} | nan_policy: {policy} | {_cell(scrub(result))} | "
            f"{'ok' if ok else 'FAIL'} |"
        )

    counts = torch.tensor([[30, 5, 5, 10]] * 3)
    extreme_rows = []
    for cfg in (
        {"type": "ghm", "bins": 10, "momentum": 0.75},
        {"type": "ghm", "bins": 10, "use_sigmoid": True, "per_aspect": True},
        {"type": "focal", "gamma": 2.0, "alpha": "auto"},
        {"type": "focal", "gamma": 2.0, "use_sigmoid": True},
    ):
        loss = build_loss(
            {
                "type": "combined",
                "classification": cfg,
                "contrastive": {"type": "soft_contrastive", "temperature": 0.1},
                "classification_weight": 0.9,
                "contrastive_weight": 0.1,
            },
            class_counts=counts,
        ).train()
        g = torch.Generator().manual_seed(0)
        targets = torch.randint(0, 4, (8, 3), generator=g)
        one_hot = torch.nn.functional.one_hot(targets, 4).float()
        worst = 0.0
        finite = True
        for raw in (one_hot * 2e4 - 1e4, 1e4 - one_hot * 2e4):
            for mask in (torch.ones(8, 3, dtype=torch.bool), torch.zeros(8, 3, dtype=torch.bool)):
                logits = raw.clone().requires_grad_()
                emb = (torch.randn(8, 16, generator=g) * 1e4).requires_grad_()
                result = loss(logits, targets, mask, embeddings=emb)
                result.total.backward()
                finite &= bool(torch.isfinite(result.total))
                finite &= bool(torch.isfinite(logits.grad).all() and torch.isfinite(emb.grad).all())
                worst = max(worst, abs(float(result.total)))
        finite &= all(
            bool(torch.isfinite(b).all()) for b in loss.buffers() if b.is_floating_point()
        )
        passed, failed = (passed + 1, failed) if finite else (passed, failed + 1)
        extreme_rows.append(
            f"| `{json.dumps(cfg)}` + soft contrastive | {'yes' if finite else 'NO'} | "
            f"{worst:.4g} | {'ok' if finite else 'FAIL'} |"
        )
    table = [
        "Training on 64 synthetic reviews with a loss made non-finite on purpose:",
        "",
        "| fault | policy | what happened | result |",
        "|---|---|---|---|",
        *rows,
        "",
        "Logits of exactly +1e4 / -1e4 (every cell confidently right, then confidently "
        "wrong), projections of scale 1e4, and batches where every cell is masked; "
        "forward and backward, in training mode (GHM-C statistics updated):",
        "",
        "| loss | loss, gradients and buffers finite | largest loss | result |",
        "|---|---|---|---|",
        *extreme_rows,
    ]
    return table, passed, failed


# ---------------------------------------------------------------------------- pickles


def pickle_section(work: Path, scrub: Scrub) -> tuple[list[str], int, int]:
    from tests.helpers.tiny_bert import build_tiny_bert
    from tests.test_reliability_corpus import MARKER, write_code_pickle

    from acsa.errors import CheckpointError
    from acsa.models.config import parse_model_config
    from acsa.models.hf_encoder import HFEncoder
    from acsa.training import checkpoints

    rows = []
    passed = failed = 0

    def record(label: str, attempt: Any) -> None:
        nonlocal passed, failed
        marker = work / MARKER
        marker.unlink(missing_ok=True)
        try:
            attempt(marker)
            result, refused = "loaded", False
        except CheckpointError as exc:
            result, refused = f"CheckpointError: {exc}", True
        except pickle.UnpicklingError as exc:
            first = " ".join(str(exc).split())[:120]
            result, refused = f"UnpicklingError: {first}", True
        ran = marker.exists()
        ok = refused and not ran
        passed, failed = (passed + 1, failed) if ok else (passed, failed + 1)
        rows.append(
            f"| {label} | {_cell(scrub(result))} | {'YES' if ran else 'no'} | "
            f"{'ok' if ok else 'FAIL'} |"
        )

    import torch

    def checkpoint_pickle(marker: Path) -> None:
        folder = work / "ckpt" / "checkpoint-1"
        shutil.rmtree(folder.parent, ignore_errors=True)
        folder.mkdir(parents=True)
        from safetensors.torch import save_file

        save_file({"w": torch.zeros(2)}, str(folder / "model.safetensors"))
        (folder / "trainer_state.json").write_text('{"global_step": 1}', encoding="utf-8")
        write_code_pickle(folder / "optimizer.pt", marker)
        checkpoints.find_resumable_checkpoint(folder.parent)

    def torch_weights_only(marker: Path) -> None:
        path = work / "evil.pt"
        write_code_pickle(path, marker)
        torch.load(path, weights_only=True)

    def hf_backbone(marker: Path) -> None:
        bert = work / "bert"
        if not bert.exists():
            build_tiny_bert(bert, texts=["pin tốt camera đẹp giao hàng nhanh"] * 40, vocab_size=60)
            (bert / "model.safetensors").unlink()
        write_code_pickle(bert / "pytorch_model.bin", marker)
        HFEncoder.from_pretrained(
            parse_model_config({"encoder": "huggingface", "name_or_path": str(bert)})
        )

    record("`checkpoint-N/optimizer.pt` runs `os.system` (acsa's resume check)", checkpoint_pickle)
    record(
        "the same file through `torch.load(weights_only=True)`, as the Trainer loads it",
        torch_weights_only,
    )
    record(
        "Hugging Face backbone folder with only a code-running `pytorch_model.bin`",
        hf_backbone,
    )
    table = [
        "Each planted file, when unpickled without `weights_only`, runs "
        "`os.system('touch PWNED')` (tests/test_reliability_corpus.py::"
        "test_code_pickle_payload_is_real shows it does). The corpus above also plants it "
        "as `model.safetensors` and as `pytorch_model.bin` of a saved model "
        "(`acsa predict`) and as `optimizer.pt` of a run continued with `--resume`.",
        "",
        "| planted where | what happened | payload ran | result |",
        "|---|---|---|---|",
        *rows,
    ]
    return table, passed, failed


# ---------------------------------------------------------------------------- main


def _versions() -> str:
    import torch
    import transformers

    user = "root" if hasattr(os, "geteuid") and os.geteuid() == 0 else "a regular user"
    return (
        f"Python {platform.python_version()}, torch {torch.__version__}, transformers "
        f"{transformers.__version__}, {platform.system()} {platform.machine()}, run as {user}"
    )


# sections other scripts write into the same file (tools/mutation), kept on rewrite
KEPT_BLOCKS = (("<!-- mutation-report:begin -->", "<!-- mutation-report:end -->"),)


def _kept_blocks(path: Path) -> str:
    """The marked blocks of the previous report, to append unchanged to the new one."""
    if not path.exists():
        return ""
    text = path.read_text(encoding="utf-8")
    kept = []
    for begin, end in KEPT_BLOCKS:
        if begin in text and end in text.split(begin, 1)[1]:
            kept.append(begin + text.split(begin, 1)[1].split(end, 1)[0] + end)
    return "".join("\n" + block + "\n" for block in kept)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the real-process kill runs")
    parser.add_argument("--output", type=Path, default=DOC, help="where to write the report")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="acsa-reliability-") as folder:
        work = Path(folder)
        scrub = Scrub(work)
        sections = [("Bad inputs", corpus_section(work / "corpus", scrub))]
        if not args.quick:
            sections.append(("Killed and interrupted training", kill_section(work / "kill", scrub)))
        sections.append(("Numerical faults", fault_section(work / "faults", scrub)))
        sections.append(("Unsafe pickles", pickle_section(work / "pickles", scrub)))
    total_ok = sum(p for _, (_, p, _) in sections)
    total_fail = sum(f for _, (_, _, f) in sections)
    lines = [
        "# Reliability: what was tried and what happened",
        "",
        f"Generated by `{COMMAND}`{' --quick' if args.quick else ''} on "
        f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC "
        f"in {time.perf_counter() - started:.0f} s ({_versions()}). Do not edit by hand: "
        "rerun the command. The same checks run in the test suite "
        "(tests/test_reliability_corpus.py, tests/test_reliability_training.py; "
        "the real-process kill and Ctrl-C runs are `-m slow`).",
        "",
        f"**{total_ok} checks passed, {total_fail} failed.**",
        "",
        "Contract: a user error exits with code 2 and prints exactly one line "
        "`error: <file>: <place>: <problem and fix>` on stderr, no traceback, and writes "
        "nothing into the output folder. `<tmp>` stands for the temporary folder of the run.",
        "",
    ]
    for title, (table, ok, fail) in sections:
        lines += [f"## {title} ({ok} ok, {fail} failed)", "", *table, ""]
    lines += [
        "## How the guarantees are implemented",
        "",
        "- Checkpoints: transformers "
        "writes `checkpoint-<step>/` in place, file by file, `trainer_state.json` last; it "
        "is not atomic. `acsa.training.checkpoints.find_resumable_checkpoint` treats "
        "`trainer_state.json` as the commit marker and, newest first, takes the first folder "
        "whose state parses, whose `model.safetensors` (and `loss_state.safetensors` for a "
        "stateful loss) has a complete safetensors header and data, and whose `.pt`/`.pth` "
        "files pass torch's weights-only unpickler (with the Trainer's own numpy allowlist). "
        "A half-written folder is skipped with a warning; a file that would run code is a "
        "one-line `CheckpointError`. acsa's own extra files (loss state, epoch RNG) are "
        "written to a temporary name and renamed.",
        "- Ctrl-C: `acsa.training.interrupt.GracefulInterrupt` turns the first SIGINT into "
        "a checkpoint at the next step boundary and stops (exit 130, one line saying where "
        "the checkpoint is and to rerun with `--resume`); a second Ctrl-C quits at once. "
        "Each checkpoint also stores the torch RNG state of its epoch's start, which the "
        "resumed run restores, because the Trainer draws the length-grouped batch order "
        "from the global RNG before it restores the checkpoint's RNG state; without it a "
        "mid-epoch checkpoint resumes with a different batch order.",
        "- Safe loading: models are `model.safetensors` plus JSON (`acsa_model.json`, "
        "featurizer, tokenizer, backbone config); nothing in `src/acsa` calls "
        "`pickle.load` or `torch.load` without `weights_only=True` (checked by "
        "tests/test_reliability_training.py::test_no_unsafe_loading_in_the_source). "
        "The Trainer's checkpoints still contain torch pickles: `optimizer.pt`, "
        "`scheduler.pt`, `rng_state.pth` (loaded with `weights_only=True`) and "
        "`training_args.bin` (a full pickle of the TrainingArguments, written by the "
        "Trainer and never loaded by acsa).",
        "- Kills at any other moment: SIGKILL during training leaves the previous complete "
        "checkpoint; the worst case is losing the steps since the last epoch's checkpoint.",
        "- Beyond the listed cases, tests/test_data_properties.py (hypothesis) feeds the "
        "CSV and JSON-lines readers arbitrary tables of strings (quotes, separators, "
        "newlines, NUL, BOM, lone surrogates, non-Latin scripts) and checks that each "
        "either loads to consistent arrays (shapes, dtypes, labels in 0..3, masked cells "
        "0, 1-based rows) or raises `DataError`, never another exception. Generated valid "
        "files (headers in any order, case and padding, aliases, missing-value markers, "
        "quoted multi-line texts, blank lines, CRLF, BOM) must always load to the expected "
        "texts, labels, mask and rows; the same files with one defect planted (unknown or "
        "miscased label, empty, blank or long text, a field too many or too few, a bad "
        "JSON line, key or label) must raise `DataError` whose one line starts with the "
        "file and the defect's row or line and column or key.",
        "",
    ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines) + _kept_blocks(args.output), encoding="utf-8")
    print(f"wrote {args.output}: {total_ok} ok, {total_fail} failed")
    return 0 if total_fail == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

"""``torchrun --nproc_per_node 2 -m acsa train`` (gloo on CPU) matches a 1-process run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_training import ASPECTS, write_synthetic_data

CONFIG = """\
data: {{dir: {data}, train: train.csv, validation: validation.csv, test: test.csv,
        aspects: [{aspects}]}}
model: {{encoder: offline, embedding_dim: 32, hidden_size: 32, num_layers: 1, max_length: 64,
         embedding_dropout: 0.0, head: {{hidden_dim: 32, dropout: 0.0, projection_dim: 0}}}}
loss: {{type: cross_entropy}}
training: {{epochs: 2, batch_size: 16, learning_rate: 0.005, early_stopping_patience: 0,
            group_by_length: false, progress_bar: false, log_gradient_stats: false}}
"""


def _run(args: list[str], cwd: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, encoding="utf-8", timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]


@pytest.mark.slow
def test_two_cpu_processes_match_one(tmp_path: Path) -> None:
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).with_name("torchrun"))
    # 192 reviews: a global batch of 16 divides them, so no process pads its last batch.
    data = write_synthetic_data(tmp_path / "data", sizes=(192, 64, 64))
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG.format(data=data, aspects=", ".join(ASPECTS)), encoding="utf-8")

    _run([sys.executable, "-m", "acsa", "train", str(config), "--output", "one"], tmp_path)
    _run(
        [torchrun, "--nproc_per_node", "2", "-m", "acsa", "train", str(config), "--output", "two"],
        tmp_path,
    )

    runs = {
        name: json.loads((tmp_path / name / "run.json").read_text(encoding="utf-8"))
        for name in ("one", "two")
    }
    assert runs["two"]["world_size"] == 2
    # training.batch_size is the global batch: the same number of optimizer steps
    assert runs["one"]["global_step"] == runs["two"]["global_step"]
    one = json.loads((tmp_path / "one" / "metrics.json").read_text(encoding="utf-8"))
    two = json.loads((tmp_path / "two" / "metrics.json").read_text(encoding="utf-8"))
    assert two["pair_f1"] == pytest.approx(one["pair_f1"], abs=0.03)
    assert two["aspect_f1"] == pytest.approx(one["aspect_f1"], abs=0.03)
    # rank 0 alone fits the TF-IDF baseline and writes the decision rule
    assert two["baseline"]["test"]["pair_f1"] == pytest.approx(one["baseline"]["test"]["pair_f1"])
    assert (tmp_path / "two" / "model" / "decision.json").is_file()
    loss_one = runs["one"]["best_validation"]["eval_loss"]
    loss_two = runs["two"]["best_validation"]["eval_loss"]
    assert loss_two == pytest.approx(loss_one, rel=1e-3)

    from safetensors.torch import load_file

    a = load_file(str(tmp_path / "one" / "model" / "model.safetensors"))
    b = load_file(str(tmp_path / "two" / "model" / "model.safetensors"))
    # Gradients are averaged across ranks in a different summation order, and
    # Adam rescales tiny differences; measured max difference about 1e-3.
    worst = max(float((a[k] - b[k]).abs().max()) for k in a)
    assert worst < 1e-2

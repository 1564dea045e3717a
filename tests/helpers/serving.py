"""Helpers of the serving tests: a small trained model, free ports, an ``acsa serve`` process.

The model is the tiny offline encoder of ``tests/test_training.py`` trained for
a few seconds with a plain PyTorch loop on the synthetic reviews there (aspect
keyword + polarity word), so it predicts real mentions without the cost of a
full ``train()`` run.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SYNTHETIC_ASPECTS = ("Battery", "Camera", "Price", "Shipping")
_LABELS = {"": 0, "Negative": 1, "Neutral": 2, "Positive": 3}


def train_tiny_model(directory: Path, steps: int = 150, seed: int = 0) -> Path:
    """Train the tiny offline model on synthetic reviews and save it to ``directory``.

    A ``metrics.json`` beside the model folder (``directory/../metrics.json``)
    plays the run's test report for ``Predictor.info``.
    """
    import torch

    from acsa.data.label_space import LabelSpace
    from acsa.models import build_model
    from tests.test_training import TINY_OFFLINE, synthetic_rows

    rows = synthetic_rows(400, seed)
    texts = [r["data"] for r in rows]
    labels = torch.tensor([[_LABELS[r[a]] for a in SYNTHETIC_ASPECTS] for r in rows])
    torch.manual_seed(seed)
    model, featurizer = build_model(TINY_OFFLINE, LabelSpace(SYNTHETIC_ASPECTS), texts)
    features = featurizer.encode(texts)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(texts), (32,), generator=generator).tolist()
        batch = featurizer.collate([features[i] for i in idx])
        logits = model(**batch)["logits"]
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 4), labels[idx].reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    model.save_pretrained(directory)
    (directory.parent / "metrics.json").write_text(
        '{"pair_f1": 0.9, "aspect_f1": 0.95, "per_aspect": {}}', encoding="utf-8"
    )
    return directory


_SHARED_MODEL: list[Path] = []


def shared_tiny_model() -> Path:
    """One :func:`train_tiny_model` per test session, shared read-only by the serving tests.

    Lives in its own temporary folder, removed when the session's interpreter exits.
    """
    if not _SHARED_MODEL:
        import atexit
        import shutil
        import tempfile

        root = Path(tempfile.mkdtemp(prefix="acsa-serving-tests-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        _SHARED_MODEL.append(train_tiny_model(root / "run" / "model"))
    return _SHARED_MODEL[0]


def sample_reviews(count: int = 20, seed: int = 7) -> list[str]:
    """Synthetic reviews the tiny model was not trained on."""
    from tests.test_training import synthetic_rows

    return [r["data"] for r in synthetic_rows(count, seed)]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def acsa_env() -> dict[str, str]:
    """The environment of an ``acsa`` subprocess: this checkout's sources first."""
    env = dict(os.environ)
    src = str(PROJECT_ROOT / "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def acsa_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "acsa", *args]


class ServerProcess:
    """``acsa serve`` in a subprocess on a free loopback port.

    Args:
        model_dir: the model to serve.
        args: more ``acsa serve`` options.
        env: extra environment variables.
    """

    def __init__(
        self, model_dir: Path, args: Sequence[str] = (), env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = acsa_command(
            "serve", str(model_dir), "--port", str(self.port), "--no-access-log", *args
        )
        self.env = {**acsa_env(), **(env or {})}
        self.process: subprocess.Popen[str] | None = None
        self.started_at = 0.0
        self.ready_after: float | None = None

    def start(self, timeout: float = 120.0) -> ServerProcess:
        """Start and wait for the first 200 on ``/ready`` (``ready_after``: seconds it took)."""
        import httpx

        self.started_at = time.perf_counter()
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
        )
        deadline = self.started_at + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read() if self.process.stdout else ""
                raise RuntimeError(f"acsa serve exited with {self.process.returncode}:\n{output}")
            try:
                if httpx.get(self.url + "/ready", timeout=1.0).status_code == 200:
                    self.ready_after = time.perf_counter() - self.started_at
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"acsa serve was not ready within {timeout} s")

    def terminate(self) -> None:
        """Send SIGTERM (a graceful stop)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float = 60.0) -> tuple[int, str]:
        """Exit code and output, once the process has ended."""
        assert self.process is not None
        output, _ = self.process.communicate(timeout=timeout)
        return self.process.returncode, output or ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@contextlib.contextmanager
def serving(model_dir: Path, *args: str, **env: str) -> Iterator[ServerProcess]:
    """``with serving(model_dir, "--max-batch", "8") as server: server.url``."""
    server = ServerProcess(model_dir, args, env)
    with server:
        yield server


def chips_of(record: dict[str, Any]) -> dict[str, tuple[str, float]]:
    """``{aspect: (sentiment, confidence)}`` of one ``/v1/predict`` entry."""
    return {a: (s, float(record["confidence"][a])) for a, s in record["aspects"].items()}


def as_array(records: Sequence[dict[str, Any]], aspects: Sequence[str]) -> np.ndarray:
    """``[N, A, 4]`` probabilities of ``/v1/predict`` entries (canonical class order)."""
    from acsa.data.label_space import CANONICAL_CLASSES

    return np.array(
        [[[r["probabilities"][a][c] for c in CANONICAL_CLASSES] for a in aspects] for r in records]
    )

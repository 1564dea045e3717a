"""``acsa serve`` as a real process: graceful shutdown on SIGTERM, start-up errors, workers."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from acsa import api
from tests.helpers.serving import (
    ServerProcess,
    acsa_command,
    acsa_env,
    sample_reviews,
    shared_tiny_model,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is POSIX")


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return shared_tiny_model()


def _in_flight(url: str) -> float:
    for line in httpx.get(url + "/metrics", timeout=5).text.splitlines():
        if line.startswith("acsa_predict_in_flight "):
            return float(line.split()[1])
    return 0.0


def test_sigterm_finishes_in_flight_requests_then_exits_0(model_dir: Path) -> None:
    texts = sample_reviews(4, seed=3)
    # requests wait up to 3 s for a batch to fill, so they are surely in flight at SIGTERM
    server = ServerProcess(model_dir, ["--max-wait-ms", "3000", "--max-batch", "64"]).start()
    answers: dict[int, httpx.Response | Exception] = {}

    def post(i: int) -> None:
        try:
            answers[i] = httpx.post(
                server.url + "/v1/predict", json={"texts": [texts[i]]}, timeout=60
            )
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            answers[i] = exc

    threads = [threading.Thread(target=post, args=(i,)) for i in range(4)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while _in_flight(server.url) < 4:
            assert time.monotonic() < deadline, "requests never reached the server"
            time.sleep(0.02)
        server.terminate()
        for t in threads:
            t.join(timeout=60)
        code, output = server.wait()
    finally:
        server.stop()
    expected = api.load(model_dir).predict(texts)
    for i in range(4):
        response = answers[i]
        assert isinstance(response, httpx.Response), response
        assert response.status_code == 200
        assert response.json()["predictions"][0]["aspects"] == expected[i].aspects
    assert code == 0, output
    assert "Application shutdown complete" in output
    # and it no longer listens
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + "/health", timeout=2)


def _run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        acsa_command(*args),
        env={**acsa_env(), **(env or {})},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def _one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def test_start_up_errors_are_one_line(model_dir: Path, tmp_path: Path) -> None:
    assert "not found" in _one_error_line(_run_cli("serve", str(tmp_path / "missing")))
    line = _one_error_line(
        _run_cli("serve", str(model_dir), "--api-key-env", "ACSA_TEST_UNSET_KEY_VARIABLE")
    )
    assert "ACSA_TEST_UNSET_KEY_VARIABLE" in line
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        assert "--port" in _one_error_line(_run_cli("serve", str(model_dir), "--port", port))
    assert "acsa export" in _one_error_line(_run_cli("serve", str(model_dir), "--onnx"))


@pytest.mark.slow
def test_workers_each_load_the_model_and_stop_on_sigterm(model_dir: Path) -> None:
    server = ServerProcess(model_dir, ["--workers", "2"]).start(timeout=180)
    try:
        texts = sample_reviews(3)
        for _ in range(4):
            response = httpx.post(server.url + "/v1/predict", json={"texts": texts}, timeout=30)
            assert response.status_code == 200
            assert [r["text"] for r in response.json()["predictions"]] == texts
        server.terminate()
        code, output = server.wait(timeout=90)
    finally:
        server.stop()
    assert code == 0, output
    assert output.count("Application startup complete") == 2

"""Load test of ``acsa serve``: micro-batching against one model call per request.

Starts ``acsa serve MODEL`` on a free loopback port, waits for the first 200 on
``/ready`` (timed from the process start), then runs ``--clients`` concurrent
clients (asyncio + httpx, one review per request, test-split reviews in turn)
for ``--duration`` seconds, and stops the server with SIGTERM. This is done, in
the same invocation, for

* **micro-batching**: ``--max-batch 64 --max-wait-ms 5`` (the defaults), and
* **no batching**: ``--max-batch 1`` (every request is its own model call),

then prints throughput, p50/p99 latency, errors, the mean batch the server ran
(from its ``/metrics``) and the throughput ratio. Loopback only, bounded in
time (``--duration`` per server) and in requests (``--max-requests``). The
client and the server share the machine's cores: the figures are for the pair.

    python benchmarks/serve_load.py --model runs/quickstart/model
    python benchmarks/serve_load.py --model runs/quickstart/model --write-docs
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
TEST = ROOT.parent / "shared" / "data" / "vi-smartphone-reviews" / "test.csv"
DOCS = ROOT / "docs" / "BENCHMARKS.md"
BEGIN, END = "<!-- serve:begin -->", "<!-- serve:end -->"
NOTE = (
    "Reading the tables: batching cuts the server's CPU per request several-fold (first "
    "number of the CPU column), but the throughput ratio is smaller: the client runs on the "
    "same two cores and needs CPU of its own for every request (second number; httpx), and "
    "other jobs took their share of the cores. With one review per request the client's "
    "cost is about the batched server's, so it caps the batched server (whose mean batch "
    "then stays well under 64); with eight reviews per request the client's cost per "
    "review is a fraction of that and the ratio shows more of the server's own gain: each "
    "batched model call runs 64 reviews in length-sorted batches of at most 1,024 padded "
    "tokens, against one PyTorch call per review without batching. `ready after` in wall "
    "seconds depends on the load from other jobs; the CPU seconds in brackets are what the "
    "start itself costs (importing torch and FastAPI, loading the model, one warm-up "
    "batch): about the wall time the start needs with a core of its own."
)


@dataclass
class Result:
    name: str
    server_args: list[str]
    ready_s: float = 0.0
    ready_cpu_s: float | None = None
    completed: int = 0  # every answered request, warm-up and tail included
    client_cpu_ms: float = 0.0
    server_cpu_ms: float | None = None
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    mean_batch: float = 0.0
    model_calls: int = 0
    exit_code: int | None = None

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3


def read_reviews(limit: int | None = None) -> tuple[list[str], str]:
    if TEST.is_file():
        import pandas as pd

        texts = pd.read_csv(TEST, encoding="utf-8-sig", keep_default_na=False)["data"]
        texts = [str(t) for t in texts if str(t).strip()]
        source = "shared smartphone test split"
    else:
        rng = random.Random(0)
        words = "pin camera màn hình giao hàng nhanh đẹp tốt tệ giá rẻ shop máy mượt".split()
        texts = [" ".join(rng.choices(words, k=rng.randint(4, 40))) for _ in range(1000)]
        source = "generated reviews (no shared data)"
    return (texts[:limit] if limit else texts), source


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def start_server(
    model: Path, args: list[str]
) -> tuple[subprocess.Popen[bytes], str, float, float | None]:
    """The server process, its URL, the seconds from start to the first 200 on /ready and
    the CPU seconds the process had used by then."""
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    command = [sys.executable, "-m", "acsa", "serve", str(model), "--port", str(port)]
    started = time.perf_counter()
    process = subprocess.Popen(
        [*command, "--no-access-log", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    while True:
        if process.poll() is not None:
            raise SystemExit(f"server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(url + "/ready", timeout=1).status_code == 200:
                elapsed = time.perf_counter() - started
                return process, url, elapsed, process_cpu_seconds(process.pid)
        except httpx.HTTPError:
            pass
        if time.perf_counter() - started > 120:
            process.kill()
            raise SystemExit("server not ready after 120 s")
        time.sleep(0.01)


async def load(
    url: str,
    reviews: list[str],
    clients: int,
    duration: float,
    cap: int,
    result: Result,
    per_request: int = 1,
) -> None:
    """``clients`` concurrent clients, each with its own connection, until ``duration`` ends."""
    counter = {"next": 0, "sent": 0}

    # every client sends without pause from the start; requests that finish inside the
    # measured window (after one second of warm-up) count. No barrier between warm-up and
    # measurement, so no connection sits idle past the server's keep-alive timeout.
    window: dict[str, float] = {}

    async def client(http: httpx.AsyncClient) -> None:
        while time.perf_counter() < window["end"] and counter["sent"] < cap:
            start = counter["next"]
            texts = [reviews[(start + i) % len(reviews)] for i in range(per_request)]
            counter["next"] += per_request
            started = time.perf_counter()
            try:
                response = await http.post("/v1/predict", json={"texts": texts})
                ok = (
                    response.status_code == 200
                    and len(response.json()["predictions"]) == per_request
                )
                problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                ok, problem = False, type(exc).__name__
            finished = time.perf_counter()
            result.completed += 1
            if not window["begin"] <= finished <= window["end"]:
                continue
            counter["sent"] += 1
            if ok:
                result.latencies.append(finished - started)
            else:
                result.errors += 1
                if len(result.error_samples) < 5:
                    result.error_samples.append(problem)

    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    https = [httpx.AsyncClient(base_url=url, limits=limits, timeout=60) for _ in range(clients)]
    try:
        window["begin"] = time.perf_counter() + 1.0
        window["end"] = window["begin"] + duration
        await asyncio.gather(*(client(http) for http in https))
        result.elapsed = min(duration, time.perf_counter() - window["begin"])
    finally:
        await asyncio.gather(*(http.aclose() for http in https))


def server_batches(url: str) -> tuple[int, float]:
    values: dict[str, float] = {}
    for line in httpx.get(url + "/metrics", timeout=10).text.splitlines():
        if line.startswith("acsa_batch_size_"):
            name, value = line.split(" ", 1)
            values[name] = float(value)
    count = int(values.get("acsa_batch_size_count", 0))
    return count, (values.get("acsa_batch_size_sum", 0.0) / count if count else 0.0)


def run(
    model: Path, result: Result, reviews: list[str], args: argparse.Namespace, per_request: int
) -> Result:
    process, url, result.ready_s, result.ready_cpu_s = start_server(model, result.server_args)
    try:
        server_before, client_before = process_cpu_seconds(process.pid), time.process_time()
        asyncio.run(
            load(
                url,
                reviews,
                args.clients,
                args.duration,
                args.max_requests,
                result,
                per_request,
            )
        )
        server_after, client_after = process_cpu_seconds(process.pid), time.process_time()
        done = max(1, result.completed)
        result.client_cpu_ms = (client_after - client_before) / done * 1e3
        if server_before is not None and server_after is not None:
            result.server_cpu_ms = (server_after - server_before) / done * 1e3
        result.model_calls, result.mean_batch = server_batches(url)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            result.exit_code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            result.exit_code = process.wait()
    return result


def _load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except (AttributeError, OSError):
        return "unknown"


def table(results: list[Result], per_request: int) -> str:
    rows = [
        "| server | requests/s | reviews/s | p50 ms | p99 ms | requests | errors "
        "| reviews per model call | CPU ms per request: server, client | ready after s (CPU s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        rows.append(
            f"| {r.name} (`{' '.join(r.server_args)}`) | {r.throughput:.0f} | "
            f"{r.throughput * per_request:.0f} | "
            f"{r.percentile(0.50):.1f} | {r.percentile(0.99):.1f} | {len(r.latencies)} | "
            f"{r.errors} | {r.mean_batch:.1f} | "
            f"{'?' if r.server_cpu_ms is None else f'{r.server_cpu_ms:.2f}'}, "
            f"{r.client_cpu_ms:.2f} | {r.ready_s:.2f} "
            f"({'?' if r.ready_cpu_s is None else f'{r.ready_cpu_s:.2f}'}) |"
        )
    return "\n".join(rows)


def measure(args: argparse.Namespace, reviews: list[str], per_request: int) -> tuple[str, int]:
    """Both servers (and the ONNX one) at ``per_request`` reviews per request: table, failures."""
    common = ["--threads", str(args.threads)] if args.threads else []
    batched = ["--max-batch", "64", "--max-wait-ms", f"{args.max_wait_ms:g}", *common]
    results = [
        Result("micro-batching", batched),
        Result("no batching", ["--max-batch", "1", *common]),
    ]
    if args.onnx:
        results.append(Result("micro-batching, ONNX Runtime", [*batched, "--onnx"]))
    for result in results:
        run(args.model, result, reviews, args, per_request)
        print(
            f"{per_request} per request, {result.name}: {result.throughput:.0f} req/s, "
            f"errors {result.errors} {result.error_samples}, exit {result.exit_code}",
            flush=True,
        )
    ratio = results[0].throughput / results[1].throughput if results[1].throughput else 0.0
    text = (
        f"{per_request} review(s) per request:\n\n{table(results, per_request)}\n\n"
        f"Throughput with micro-batching: **{ratio:.2f}x** the same server with "
        f"`--max-batch 1`. Time to the first 200 on `/ready`: "
        f"{min(r.ready_s for r in results):.2f} to {max(r.ready_s for r in results):.2f} s."
    )
    failures = sum(r.errors for r in results) + sum(r.exit_code != 0 for r in results)
    return text, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="saved model (or run) folder")
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument(
        "--texts-per-request", type=int, nargs="+", default=[1], help="one run per value"
    )
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per server")
    parser.add_argument("--max-requests", type=int, default=500_000, help="cap per server")
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--threads", type=int, help="--threads of both servers (model threads)")
    parser.add_argument("--onnx", action="store_true", help="also: micro-batching with --onnx")
    parser.add_argument("--write-docs", action="store_true", help="update docs/BENCHMARKS.md")
    args = parser.parse_args()
    reviews, source = read_reviews()
    random.Random(0).shuffle(reviews)
    before = _load_average()
    parts, failures = [], 0
    for per_request in args.texts_per_request:
        text, failed = measure(args, reviews, per_request)
        parts.append(text)
        failures += failed
    after = _load_average()
    text = "\n\n".join(parts)
    print(text)
    print(f"load average before {before}, after {after}; reviews: {source}")
    if args.write_docs:
        write_docs(args, text, before, after, source)
    if failures:
        raise SystemExit(f"{failures} failed requests or unclean exits")


def write_docs(args: argparse.Namespace, text: str, before: str, after: str, source: str) -> None:
    model = args.model.as_posix()
    per_request = " ".join(str(n) for n in args.texts_per_request)
    command = (
        f"python benchmarks/serve_load.py --model {model} --clients {args.clients} "
        f"--duration {args.duration:g} --texts-per-request {per_request}"
        f"{f' --threads {args.threads}' if args.threads else ''}"
        f"{' --onnx' if args.onnx else ''} --write-docs"
    )
    import torch

    section = (
        f"{BEGIN}\n## Serving: micro-batching under load (`acsa serve`)\n\n"
        f"{args.clients} concurrent clients (one asyncio process, httpx, one keep-alive "
        f"connection each) post reviews ({source}) for {args.duration:g} s against each "
        "server in turn, all in one invocation: the server with micro-batching "
        "(`--max-batch 64 --max-wait-ms 5`, the defaults) and the same server with "
        "`--max-batch 1` (one model call per review). Loopback only; one second of "
        "warm-up first. Latency is the client's, request to parsed answer; `reviews per "
        "model call` is the server's mean batch (from its `/metrics`); `CPU ms per "
        "request` is the CPU time the server process and the client process spent per "
        "answered request (independent of the load from other jobs); `ready after` is "
        "from the process start to the first 200 on `/ready` (model loaded and warmed "
        "up), with the CPU time the server process had used by then in brackets. The "
        "client and the server share the "
        f"machine's {os.cpu_count()} cores, "
        "with other jobs running beside them.\n\n"
        f"Command: `{command}` (torch {torch.__version__}, "
        f"{platform.processor() or platform.machine()}; load average before {before}, "
        f"after {after}).\n\n"
        f"{text}\n\n{NOTE}\n"
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


if __name__ == "__main__":
    main()

"""Prometheus metrics of one server process (``GET /metrics``).

Each app has its own ``CollectorRegistry``, so two apps in one process (tests)
do not share counts. With ``--workers N`` every worker counts for itself and
``/metrics`` shows the worker that answered.

* ``acsa_requests_total{endpoint, method, status}``: answered requests;
* ``acsa_request_duration_seconds{endpoint}``: latency histogram;
* ``acsa_batch_size``: texts per model call (histogram; its ``_count`` is the
  number of model calls);
* ``acsa_batch_duration_seconds``: time of each model call;
* ``acsa_texts_total``: texts predicted;
* ``acsa_predict_in_flight``: prediction requests received, not yet answered.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

# powers of two up to well past any sane --max-batch
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "unmatched"


class ServeMetrics:
    """The collectors of one app and the ASGI middleware that feeds the request ones."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "acsa_requests",
            "HTTP requests answered, by route, method and status code.",
            ("endpoint", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "acsa_request_duration_seconds",
            "Time from request to response, by route.",
            ("endpoint",),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "acsa_batch_size",
            "Texts per model call.",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.batch_duration = Histogram(
            "acsa_batch_duration_seconds",
            "Duration of each model call.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.texts = Counter("acsa_texts", "Texts predicted.", registry=self.registry)
        self.in_flight = Gauge(
            "acsa_predict_in_flight",
            "Prediction requests received and not yet answered.",
            registry=self.registry,
        )

    def observe_batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.batch_duration.observe(seconds)
        self.texts.inc(size)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def route_template(scope: dict[str, Any]) -> str:
    """The matched route's path template (``/v1/predict``), never the raw path (bounded labels)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else UNMATCHED


class MetricsMiddleware:
    """Pure ASGI middleware: count and time every HTTP request by route and status."""

    def __init__(self, app: ASGIApp, metrics: ServeMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def send_and_record(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            endpoint = route_template(scope)
            self.metrics.requests.labels(
                endpoint, scope.get("method", ""), str(status["code"])
            ).inc()
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)

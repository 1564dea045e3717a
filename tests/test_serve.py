"""The HTTP app (acsa.serve) in process: every route, the limits, errors, the API key, CORS,
micro-batching, a failing model, and the batcher on its own."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from acsa import api
from acsa.errors import ConfigError
from acsa.serve import MicroBatcher, ServeSettings, create_app
from acsa.serve.batcher import BatcherClosedError, ModelCallError
from tests.helpers.serving import as_array, sample_reviews, shared_tiny_model

KEY_ENV = "ACSA_TEST_SERVE_KEY"


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return shared_tiny_model()


@pytest.fixture(scope="module")
def predictor(model_dir: Path) -> api.Predictor:
    return api.load(model_dir)


class CountingBackend:
    """The tiny model's backend, recording each call's size; slow on demand; fails on 'boom'."""

    def __init__(self, inner: Any, delay: float = 0.0) -> None:
        self.inner = inner
        self.label_space = inner.label_space
        self.kind = inner.kind
        self.delay = delay
        self.calls: list[int] = []
        self.lock = threading.Lock()

    def predict_logits(self, texts: list[str], batch_size: int = 256) -> np.ndarray:
        with self.lock:
            self.calls.append(len(texts))
        if self.delay:
            time.sleep(self.delay)
        if "boom" in texts:
            raise RuntimeError("the model broke")
        return self.inner.predict_logits(texts, batch_size)


def settings(model_dir: Path, **values: Any) -> ServeSettings:
    return ServeSettings(model_dir=model_dir, **values)


@pytest.fixture()
def client(model_dir: Path, predictor: api.Predictor) -> Iterator[TestClient]:
    with TestClient(create_app(settings(model_dir), predictor)) as c:
        yield c


def metric(client: TestClient, name: str, headers: dict[str, str] | None = None) -> float:
    """The value of one sample line of /metrics (0 when absent)."""
    text = client.get("/metrics", headers=headers or {}).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# ------------------------------------------------------------------ routes


def test_predict_matches_the_predictor(client: TestClient, predictor: api.Predictor) -> None:
    texts = sample_reviews(12)
    response = client.post("/v1/predict", json={"texts": texts})
    assert response.status_code == 200
    records = response.json()["predictions"]
    expected = predictor.predict(texts)
    assert [r["text"] for r in records] == texts
    for record, prediction in zip(records, expected, strict=True):
        # the same record as `acsa predict --json`, plus every aspect's probabilities
        assert {
            k: record[k] for k in ("text", "aspects", "confidence", "empty")
        } == prediction.to_record()
    np.testing.assert_allclose(
        as_array(records, predictor.aspects), predictor.predict_proba(texts), atol=1e-6
    )
    assert any(r["aspects"] for r in records), "the tiny model should mention aspects"


def test_empty_list_is_valid(client: TestClient) -> None:
    response = client.post("/v1/predict", json={"texts": []})
    assert response.status_code == 200 and response.json() == {"predictions": []}


def test_health_ready_and_model(client: TestClient, predictor: api.Predictor) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"status": "ready"}
    info = client.get("/v1/model").json()
    assert info["aspects"] == list(predictor.aspects)
    assert info["labels"] == ["none", "negative", "neutral", "positive"]
    assert info["encoder"] == "offline" and info["runtime"] == "torch"
    assert info["label_scheme"] == "with_none"
    assert (
        info["test_metrics"]
        == predictor.info["test_metrics"]
        == {
            "pair_f1": 0.9,
            "aspect_f1": 0.95,
        }
    )
    assert info["limits"] == {"max_texts": 256, "max_chars": 5000, "max_body_bytes": 2097152}
    assert info["batching"] == {"max_batch": 64, "max_wait_ms": 5.0}
    # every key of Predictor.info reaches the client, whatever acsa.api adds later
    assert set(predictor.info) <= set(info)


def test_ready_is_503_outside_the_lifespan(model_dir: Path, predictor: api.Predictor) -> None:
    app = create_app(settings(model_dir), predictor)
    with TestClient(app) as c:
        assert c.get("/ready").status_code == 200
    # after shutdown (lifespan ended): not ready, and predict refuses with 503, not a hang
    c = TestClient(app)
    assert c.get("/ready").status_code == 503
    response = c.post("/v1/predict", json={"texts": ["pin tốt"]})
    assert response.status_code == 503 and response.json()["error"]["type"] == "not_ready"


def test_metrics_count_requests_and_batches(client: TestClient) -> None:
    before = metric(client, "acsa_batch_size_count")
    for _ in range(3):
        assert client.post("/v1/predict", json={"texts": ["pin tốt", "giá kém"]}).status_code == 200
    client.post("/v1/predict", json={"texts": "not a list"})
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'acsa_requests_total{endpoint="/v1/predict",method="POST",status="200"} 3.0' in text
    assert 'acsa_requests_total{endpoint="/v1/predict",method="POST",status="422"} 1.0' in text
    assert 'acsa_request_duration_seconds_count{endpoint="/v1/predict"} 4.0' in text
    assert metric(client, "acsa_batch_size_count") == before + 3
    assert metric(client, "acsa_batch_size_sum") >= 6


def test_openapi_schema_states_routes_and_limits(model_dir: Path, predictor: api.Predictor) -> None:
    app = create_app(settings(model_dir, max_texts=7, max_chars=33), predictor)
    with TestClient(app) as c:
        schema = c.get("/openapi.json").json()
    assert {"/v1/predict", "/v1/model", "/health", "/ready", "/metrics"} <= set(schema["paths"])
    request = schema["components"]["schemas"]["PredictRequest"]["properties"]["texts"]
    assert request["maxItems"] == 7 and request["items"]["maxLength"] == 33
    assert {"400", "413", "422", "500"} <= set(schema["paths"]["/v1/predict"]["post"]["responses"])


def test_docs_and_demo_page_use_no_external_asset(client: TestClient) -> None:
    import re

    for path in ("/docs", "/"):
        response = client.get(path)
        assert response.status_code == 200 and "text/html" in response.headers["content-type"]
        links = re.findall(r'(?:src|href)="([^"]+)"', response.text)
        assert links, path
        assert all(link.startswith("/") for link in links), (path, links)
        for link in links:
            assert client.get(link).status_code == 200, link
    page = client.get("/").text
    assert 'id="reviews"' in page and 'id="analyse"' in page
    assert "swagger-ui-bundle.js" in client.get("/docs").text


def test_unknown_route_and_method_are_json_errors(client: TestClient) -> None:
    response = client.get("/v2/nothing")
    assert response.status_code == 404 and response.json()["error"]["type"] == "not_found"
    response = client.get("/v1/predict")
    assert response.status_code == 405
    assert response.json()["error"]["type"] == "method_not_allowed"


# ------------------------------------------------------------------ limits and bad requests


@pytest.fixture()
def limited(model_dir: Path, predictor: api.Predictor) -> Iterator[TestClient]:
    app = create_app(settings(model_dir, max_texts=3, max_chars=20, max_body_bytes=300), predictor)
    with TestClient(app) as c:
        yield c


def test_too_many_texts_is_413_naming_the_limit(limited: TestClient) -> None:
    assert limited.post("/v1/predict", json={"texts": ["a"] * 3}).status_code == 200
    response = limited.post("/v1/predict", json={"texts": ["a"] * 4})
    assert response.status_code == 413
    assert response.json()["error"] | {"message": ""} == {
        "type": "limit_exceeded",
        "limit": "max_texts",
        "max": 3,
        "message": "",
    }


def test_too_long_text_is_413_naming_the_limit(limited: TestClient) -> None:
    assert limited.post("/v1/predict", json={"texts": ["x" * 20]}).status_code == 200
    response = limited.post("/v1/predict", json={"texts": ["ok", "x" * 21]})
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["limit"] == "max_chars" and error["max"] == 20
    assert "text 1" in error["message"]


def test_body_over_the_limit_is_413_declared_or_streamed(limited: TestClient) -> None:
    body = b'{"texts": ["' + b"a" * 400 + b'"]}'
    response = limited.post(
        "/v1/predict", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and response.json()["error"]["limit"] == "max_body_bytes"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server must count
        for i in range(0, len(body), 50):
            yield body[i : i + 50]

    response = limited.post(
        "/v1/predict", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and response.json()["error"]["limit"] == "max_body_bytes"
    small = b'{"texts": ["pin t\xc3\xb4t"]}'
    response = limited.post(
        "/v1/predict",
        content=iter([small[:5], small[5:]]),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        (b'{"texts": [', 400, "malformed_json"),
        (b"\xff\xfe not utf-8", 400, "malformed_json"),
        (b'{"texts": ["a",]}', 400, "malformed_json"),
        (b"[]", 422, "invalid_request"),
        (b"{}", 422, "invalid_request"),
        (b'{"texts": "one text"}', 422, "invalid_request"),
        (b'{"texts": [1, 2]}', 422, "invalid_request"),
        (b'{"texts": [null]}', 422, "invalid_request"),
        (b'{"texts": ["a"], "extra": 1}', 422, "invalid_request"),
        (b'{"texts": [["nested"]]}', 422, "invalid_request"),
    ],
)
def test_bad_bodies_are_4xx_json(client: TestClient, body: bytes, status: int, kind: str) -> None:
    response = client.post(
        "/v1/predict", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == status, response.text
    assert response.json()["error"]["type"] == kind


def test_body_without_json_content_type_is_refused(client: TestClient) -> None:
    response = client.post(
        "/v1/predict", content=b'{"texts": ["a"]}', headers={"content-type": "text/plain"}
    )
    assert response.status_code == 422


def test_settings_errors_name_the_option(model_dir: Path) -> None:
    with pytest.raises(ConfigError, match="max-batch"):
        ServeSettings.build(model_dir=model_dir, max_batch=0)
    with pytest.raises(ConfigError, match="api-key-env"):
        ServeSettings.build(model_dir=model_dir, api_key_env="not a name")


# ------------------------------------------------------------------ API key and CORS


def test_api_key(
    model_dir: Path, predictor: api.Predictor, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "s3cret-key")
    app = create_app(settings(model_dir, api_key_env=KEY_ENV), predictor)
    body = {"texts": ["pin tốt"]}
    with TestClient(app) as c:
        for headers in (
            {},
            {"X-API-Key": "wrong"},
            {"Authorization": "Bearer wrong"},
            {"Authorization": "Basic s3cret-key"},
            {"X-API-Key": "s3cret-key "},
        ):
            response = c.post("/v1/predict", json=body, headers=headers)
            assert response.status_code == 401, headers
            assert response.json()["error"]["type"] == "unauthorized"
            assert response.headers["www-authenticate"] == "Bearer"
            assert c.get("/v1/model", headers=headers).status_code == 401
            assert c.get("/metrics", headers=headers).status_code == 401
        for headers in ({"X-API-Key": "s3cret-key"}, {"Authorization": "Bearer s3cret-key"}):
            assert c.post("/v1/predict", json=body, headers=headers).status_code == 200
            assert c.get("/v1/model", headers=headers).status_code == 200
            assert c.get("/metrics", headers=headers).status_code == 200
        # probes, the demo page and the docs stay open
        for path in ("/health", "/ready", "/", "/docs", "/openapi.json"):
            assert c.get(path).status_code == 200, path
        # the key is checked before the body's schema (only unparsable JSON is a 400 first)
        response = c.post("/v1/predict", json={"texts": [1]})
        assert response.status_code == 401


def test_api_key_variable_must_be_set(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    with pytest.raises(ConfigError, match=KEY_ENV):
        create_app(settings(model_dir, api_key_env=KEY_ENV))


def test_no_cors_unless_asked(model_dir: Path, predictor: api.Predictor) -> None:
    preflight = {
        "Origin": "http://shop.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    with TestClient(create_app(settings(model_dir), predictor)) as c:
        response = c.options("/v1/predict", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
        response = c.post(
            "/v1/predict", json={"texts": []}, headers={"Origin": "http://shop.example"}
        )
        assert "access-control-allow-origin" not in response.headers
    app = create_app(settings(model_dir, cors_origins=("http://shop.example",)), predictor)
    with TestClient(app) as c:
        response = c.options("/v1/predict", headers=preflight)
        assert response.headers["access-control-allow-origin"] == "http://shop.example"
        other = {**preflight, "Origin": "http://elsewhere.example"}
        response = c.options("/v1/predict", headers=other)
        assert response.headers.get("access-control-allow-origin") != "http://elsewhere.example"


# ------------------------------------------------------------------ batching and model failures


async def _concurrent_posts(app: Any, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await asyncio.gather(*(http.post("/v1/predict", json=b) for b in bodies))


def _counting_app(model_dir: Path, predictor: api.Predictor, delay: float, **values: Any):
    backend = CountingBackend(predictor.backend, delay)
    app = create_app(settings(model_dir, **values), api.Predictor(backend, model_dir))
    return app, backend


def test_concurrent_requests_share_model_calls(model_dir: Path, predictor: api.Predictor) -> None:
    texts = sample_reviews(32, seed=11)
    bodies = [{"texts": [t]} for t in texts]
    app, backend = _counting_app(model_dir, predictor, 0.05, max_batch=16, max_wait_ms=20)
    responses = asyncio.run(_concurrent_posts(app, bodies))
    assert all(r.status_code == 200 for r in responses)
    # each request got its own text's answer back
    assert [r.json()["predictions"][0]["text"] for r in responses] == texts
    expected = [p.to_record() for p in predictor.predict(texts)]
    assert [r.json()["predictions"][0]["aspects"] for r in responses] == [
        e["aspects"] for e in expected
    ]
    model_calls = backend.calls[1:]  # the first call is the warm-up
    assert sum(model_calls) == 32 and max(model_calls) <= 16
    assert len(model_calls) <= 8, model_calls  # 32 texts in 16-text batches: 2, plus stragglers
    # the batch-size histogram saw the same calls
    samples = app.state.metrics.batch_size.collect()[0].samples
    count = next(s.value for s in samples if s.name == "acsa_batch_size_count")
    assert count == len(model_calls)

    app, backend = _counting_app(model_dir, predictor, 0.0, max_batch=1)
    responses = asyncio.run(_concurrent_posts(app, bodies[:8]))
    assert all(r.status_code == 200 for r in responses)
    assert backend.calls[1:] == [1] * 8


def test_a_request_larger_than_max_batch_is_split(
    model_dir: Path, predictor: api.Predictor
) -> None:
    texts = sample_reviews(10, seed=5)
    app, backend = _counting_app(model_dir, predictor, 0.0, max_batch=4, max_wait_ms=0)
    (response,) = asyncio.run(_concurrent_posts(app, [{"texts": texts}]))
    assert response.status_code == 200
    assert backend.calls[1:] == [4, 4, 2]
    np.testing.assert_allclose(
        as_array(response.json()["predictions"], predictor.aspects),
        predictor.predict_proba(texts),
        atol=1e-6,
    )


def test_a_model_error_fails_only_the_request_that_causes_it(
    model_dir: Path, predictor: api.Predictor
) -> None:
    app, backend = _counting_app(model_dir, predictor, 0.02, max_batch=64, max_wait_ms=50)
    bodies = [{"texts": ["pin tốt", "boom"]}] + [{"texts": [t]} for t in sample_reviews(6)]
    responses = asyncio.run(_concurrent_posts(app, bodies))
    assert responses[0].status_code == 500
    assert responses[0].json()["error"]["type"] == "model_error"
    assert [r.status_code for r in responses[1:]] == [200] * 6
    assert max(backend.calls[1:]) > 2  # they did share a batch before the retry
    # and the server keeps serving
    with TestClient(app) as c:
        assert c.post("/v1/predict", json={"texts": ["pin tốt"]}).status_code == 200
        assert c.get("/ready").status_code == 200


# ------------------------------------------------------------------ the batcher alone


def test_batcher_docstring_example_runs() -> None:
    import doctest

    import acsa.serve.batcher

    result = doctest.testmod(acsa.serve.batcher)
    assert result.failed == 0 and result.attempted > 0


def test_batcher_gives_each_caller_its_results_in_order() -> None:
    calls: list[list[str]] = []

    def run(texts: list[str]) -> list[str]:
        calls.append(list(texts))
        return [t + "!" for t in texts]

    async def main() -> list[list[str]]:
        batcher = MicroBatcher(run, max_batch=5, max_wait_ms=30)
        batcher.start()
        requests = [[f"{i}.{j}" for j in range(n)] for i, n in enumerate((2, 3, 1, 7, 0))]
        answers = await asyncio.gather(*(batcher.submit(r) for r in requests))
        await batcher.close()
        return answers

    answers = asyncio.run(main())
    assert answers == [[f"{i}.{j}!" for j in range(n)] for i, n in enumerate((2, 3, 1, 7, 0))]
    assert all(len(c) <= 5 for c in calls) and sum(map(len, calls)) == 13
    assert len(calls) < 13


def test_batcher_failure_reaches_only_that_batch_and_close_drains() -> None:
    def run(texts: list[str]) -> list[str]:
        if "bad" in texts:
            raise ValueError("bad text")
        time.sleep(0.01)
        return texts

    async def main() -> tuple[Any, ...]:
        batcher = MicroBatcher(run, max_batch=2, max_wait_ms=0)
        batcher.start()
        bad = asyncio.ensure_future(batcher.submit(["bad"]))
        pending = [asyncio.ensure_future(batcher.submit([f"t{i}"])) for i in range(5)]
        await asyncio.sleep(0)
        await batcher.close()  # queued work still finishes
        results = await asyncio.gather(bad, *pending, return_exceptions=True)
        with pytest.raises(BatcherClosedError):
            await batcher.submit(["late"])
        return tuple(results)

    bad, *rest = asyncio.run(main())
    # "bad" shared a batch with "t0"; the retry of each request alone spares "t0"
    assert isinstance(bad, ModelCallError)
    assert rest == [[f"t{i}"] for i in range(5)]


def test_batcher_skips_cancelled_callers() -> None:
    seen: list[list[str]] = []

    def run(texts: list[str]) -> list[str]:
        seen.append(list(texts))
        return texts

    async def main() -> list[str]:
        batcher = MicroBatcher(run, max_batch=8, max_wait_ms=50)
        batcher.start()
        gone = asyncio.ensure_future(batcher.submit(["gone"]))
        kept = asyncio.ensure_future(batcher.submit(["kept"]))
        await asyncio.sleep(0.01)
        gone.cancel()
        result = await kept
        await batcher.close()
        return result

    assert asyncio.run(main()) == ["kept"]
    assert seen == [["kept"]]

"""Schemathesis against the server's own OpenAPI schema: no input makes it answer 5xx.

The server runs in a thread (uvicorn, loopback, a free port) with the tiny
trained model, an API key and small limits, so generated requests also hit
the auth and limit paths. Schemathesis generates valid and invalid requests for
every operation in ``/openapi.json`` (bounded: ``MAX_EXAMPLES`` each) and runs
its checks: no server error, status codes, content types and response bodies
as documented, invalid data rejected, valid data accepted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation.modes import GenerationMode

from tests.helpers.serving import free_port, shared_tiny_model

MAX_EXAMPLES = 40
KEY_ENV = "ACSA_TEST_SCHEMA_KEY"
KEY = "schema-test-key"


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    import os

    import uvicorn

    from acsa import api
    from acsa.serve import ServeSettings, create_app

    model_dir = shared_tiny_model()
    os.environ[KEY_ENV] = KEY
    app = create_app(
        ServeSettings(
            model_dir=model_dir,
            api_key_env=KEY_ENV,
            max_texts=20,
            max_chars=400,
            max_body_bytes=64 * 1024,
            max_wait_ms=1,
        ),
        api.load(model_dir),
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        os.environ.pop(KEY_ENV, None)


# schemathesis' defaults, plus 413: the server's answer to a request over a limit
REJECTIONS = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429, "5xx"]


@pytest.fixture(scope="module")
def api_schema(server_url: str) -> Any:
    from schemathesis.config import SchemathesisConfig

    config = SchemathesisConfig.from_dict(
        {"checks": {"negative_data_rejection": {"expected-statuses": REJECTIONS}}}
    )
    return schemathesis.openapi.from_url(server_url + "/openapi.json", config=config)


def _operations(api_schema: Any) -> list[Any]:
    return [result.ok() for result in api_schema.get_all_operations()]


def _takes_input(operation: Any) -> bool:
    raw = operation.definition.raw
    return bool(raw.get("requestBody") or raw.get("parameters") or raw.get("security"))


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_error_and_the_schema_holds(
    api_schema: Any, server_url: str, mode: GenerationMode
) -> None:
    # schemathesis' pytest plugin (lazy schemas) does not run under pytest 9, so each
    # operation's strategy is drawn from here with Hypothesis
    operations = _operations(api_schema)
    assert len(operations) == 5
    for operation in operations:
        if mode is GenerationMode.NEGATIVE and not _takes_input(operation):
            continue  # nothing to make invalid (GET /health)

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: Any) -> None:
            case.call_and_validate(base_url=server_url, headers={"X-API-Key": KEY}, timeout=30)

        check()


def test_the_schema_covers_every_route(api_schema: Any) -> None:
    paths = set(api_schema.raw_schema["paths"])
    assert paths == {"/v1/predict", "/v1/model", "/health", "/ready", "/metrics"}

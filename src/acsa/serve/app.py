"""The FastAPI app: a saved model behind ``/v1/predict``, with health, metrics, docs, a demo page.

Routes (``/openapi.json`` has the schema):

* ``POST /v1/predict`` ``{"texts": [...]}`` -> ``{"predictions": [...]}``, one
  entry per text: ``acsa predict --json``'s record plus every aspect's class
  probabilities. Concurrent requests share model calls (:mod:`acsa.serve.batcher`).
* ``GET /v1/model``: aspects, labels, encoder, runtime, the run's loss and test
  metrics, the limits.
* ``GET /health`` (the process answers), ``GET /ready`` (model loaded and
  warmed up with one batch; 503 before and while shutting down).
* ``GET /metrics`` (Prometheus), ``GET /docs`` (Swagger UI, offline),
  ``GET /`` (the demo page, :mod:`acsa.serve.static`).

With an API key configured, ``/v1/*`` and ``/metrics`` require it; health,
readiness, docs and the demo page's files do not.
"""

import logging
import math
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.staticfiles import StaticFiles

import acsa
from acsa.api import Prediction, Predictor
from acsa.data.label_space import CANONICAL_CLASSES
from acsa.serve.auth import api_key_dependency
from acsa.serve.batcher import BatcherClosedError, MicroBatcher
from acsa.serve.docs import install_docs
from acsa.serve.errors import error_response, install_error_handlers
from acsa.serve.limits import BodyLimitMiddleware, predict_request_model
from acsa.serve.metrics import MetricsMiddleware, ServeMetrics
from acsa.serve.schemas import ErrorResponse, ModelInfo, PredictResponse, Status
from acsa.serve.settings import ServeSettings
from acsa.threads import set_torch_threads

logger = logging.getLogger(__name__)

TITLE = "acsa"
WARM_UP_TEXTS = ["warm-up review, not a real one"]
_STATIC = ("acsa.serve", "static")
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in (
        (400, "Malformed JSON."),
        (401, "Missing or wrong API key (when the server has one)."),
        (413, "A limit exceeded: max_texts, max_chars or max_body_bytes."),
        (422, "Not a request of this schema."),
        (500, "The model failed on the texts of this request."),
        (503, "The model is not loaded yet, or the server is shutting down."),
    )
}


def prediction_payload(prediction: Prediction) -> dict[str, Any]:
    """The ``/v1/predict`` entry of one review (see :class:`acsa.serve.schemas.TextPrediction`)."""
    return prediction.to_payload()


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as None (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def model_info(predictor: Predictor, settings: ServeSettings) -> dict[str, Any]:
    """The body of ``GET /v1/model``: ``Predictor.info`` (every key), runtime, limits."""
    info = dict(predictor.info)
    model_dir = predictor.model_dir or settings.model_dir
    return _finite(
        {
            **info,
            "model": model_dir.name,
            "encoder": info.get("encoder"),
            "runtime": predictor.runtime,
            "aspects": list(info.get("aspects") or predictor.aspects),
            "labels": list(CANONICAL_CLASSES),
            "label_scheme": info.get("label_scheme"),
            "loss": info.get("loss"),
            "test_metrics": info.get("test_metrics"),
            "limits": {
                "max_texts": settings.max_texts,
                "max_chars": settings.max_chars,
                "max_body_bytes": settings.max_body_bytes,
            },
            "batching": {"max_batch": settings.max_batch, "max_wait_ms": settings.max_wait_ms},
        }
    )


class _State:
    """What the routes share: the model, the batcher, readiness."""

    def __init__(self) -> None:
        self.predictor: Predictor | None = None
        self.batcher: MicroBatcher | None = None
        self.ready = False


def create_app(settings: ServeSettings, predictor: Predictor | None = None) -> FastAPI:
    """The app for ``settings``; the model is loaded (unless given) and warmed up at startup.

    Args:
        settings: model folder, batching, limits, access.
        predictor: an already loaded model (tests, embedding in another app);
            ``None`` loads ``settings.model_dir`` with ``settings.runtime``.

    Raises:
        ConfigError: ``settings.api_key_env`` names an unset variable.
    """
    api_key = settings.api_key()
    metrics = ServeMetrics()
    state = _State()

    def run_batch(texts: list[str]) -> list[dict[str, Any]]:
        assert state.predictor is not None
        return [prediction_payload(p) for p in state.predictor.predict(texts)]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loaded = predictor
        if loaded is None:
            loaded = await anyio.to_thread.run_sync(
                Predictor.load, settings.model_dir, settings.runtime, settings.threads
            )
        if loaded.runtime == "torch":  # an ONNX Runtime session got its threads when made
            set_torch_threads(settings.threads)
        await anyio.to_thread.run_sync(loaded.predict, WARM_UP_TEXTS)
        state.predictor = loaded
        state.batcher = MicroBatcher(
            run_batch, settings.max_batch, settings.max_wait_ms, metrics.observe_batch
        )
        state.batcher.start()
        state.ready = True
        logger.info("model %s ready (%d aspects)", settings.model_dir, len(loaded.aspects))
        try:
            yield
        finally:
            state.ready = False
            await state.batcher.close()

    app = FastAPI(
        title=TITLE,
        version=acsa.__version__,
        description="Aspect-category sentiment analysis of reviews with a saved acsa model.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    install_error_handlers(app, settings.max_texts, settings.max_chars)
    install_docs(app, TITLE)
    keyed = [Depends(api_key_dependency(api_key))]
    request_model = predict_request_model(settings.max_texts, settings.max_chars)

    @app.post(
        "/v1/predict",
        response_model=PredictResponse,
        responses=_ERRORS,
        dependencies=keyed,
        summary="Aspects and sentiments of reviews",
    )
    async def predict(body: request_model) -> Response:  # type: ignore[valid-type]
        """One prediction per text, in order; an empty list gives an empty list."""
        texts: Sequence[str] = body.texts  # type: ignore[attr-defined]
        if not state.ready or state.batcher is None:
            return error_response(503, "not_ready", "the model is not loaded or is shutting down")
        if body.explain:  # type: ignore[attr-defined]
            return await _explained(texts)
        try:
            with metrics.in_flight.track_inprogress():
                predictions = await state.batcher.submit(texts)
        except BatcherClosedError:
            return error_response(503, "not_ready", "the server is shutting down")
        except Exception:  # noqa: BLE001 - logged by the batcher; this request gets a 500
            return error_response(
                500, "model_error", "the model failed on the texts of this request"
            )
        return JSONResponse({"predictions": predictions})

    async def _explained(texts: Sequence[str]) -> Response:
        """``/v1/predict`` with ``explain: true``: outside the batcher (its own gradient passes)."""
        from acsa.explain import ExplainError

        assert state.predictor is not None
        try:
            with metrics.in_flight.track_inprogress():
                explanations = await anyio.to_thread.run_sync(state.predictor.explain, list(texts))
        except ExplainError as exc:
            return error_response(422, "not_explainable", str(exc))
        except Exception:  # noqa: BLE001 - this request gets a 500
            logger.exception("explaining a request failed")
            return error_response(
                500, "model_error", "the model failed on the texts of this request"
            )
        return JSONResponse({"predictions": [e.to_payload() for e in explanations]})

    @app.get(
        "/v1/model",
        response_model=ModelInfo,
        responses={k: _ERRORS[k] for k in (401, 503)},
        dependencies=keyed,
        summary="The served model",
    )
    async def model() -> Response:
        if state.predictor is None:
            return error_response(503, "not_ready", "the model is not loaded yet")
        return JSONResponse(model_info(state.predictor, settings))

    @app.get("/health", response_model=Status, summary="Liveness: the process answers")
    async def health() -> Status:
        return Status(status="ok")

    @app.get(
        "/ready",
        response_model=Status,
        responses={503: {"model": ErrorResponse, "description": "Not ready."}},
        summary="Readiness: the model is loaded, warmed up and accepting texts",
    )
    async def ready() -> Response:
        if state.ready and state.batcher is not None and state.batcher.running:
            return JSONResponse({"status": "ready"})
        return error_response(503, "not_ready", "the model is not loaded or is shutting down")

    @app.get(
        "/metrics",
        responses={
            200: {"content": {"text/plain": {}}, "description": "Prometheus text format."},
            401: _ERRORS[401],
        },
        dependencies=keyed,
        summary="Prometheus metrics of this process",
    )
    async def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type=metrics.content_type)

    app.mount("/static", StaticFiles(packages=[_STATIC]), name="static")

    @app.get("/", include_in_schema=False)
    async def demo_page(request: Request) -> FileResponse:
        return FileResponse(_static_file("index.html"), media_type="text/html")

    # outermost first: CORS (only when asked), metrics see every answer, then the body limit
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "Authorization", "X-API-Key"],
        )
    app.state.acsa = state
    app.state.metrics = metrics
    return app


def _static_file(name: str) -> str:
    from importlib.resources import files

    return str(files(_STATIC[0]).joinpath(_STATIC[1], name))


def app_from_env() -> FastAPI:
    """Factory for uvicorn workers: the settings from :data:`acsa.serve.settings.SETTINGS_ENV`."""
    return create_app(ServeSettings.from_env())

"""``acsa serve MODEL_DIR``: the model behind an HTTP API with a demo page (FastAPI + uvicorn)."""

from __future__ import annotations

import ipaddress
import logging
import os
import signal
import socket
from pathlib import Path
from typing import Annotated

import typer

from acsa.cli._runtime import ONNX_HELP, RUNTIME_HELP
from acsa.errors import ConfigError
from acsa.logs import setup_logging

logger = logging.getLogger("acsa.serve")


def _check_port(host: str, port: int) -> None:
    """Fail with one line, before loading the model, when ``host:port`` cannot be bound."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConfigError(f"--host {host}: cannot resolve ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ConfigError(
                f"--host {host} --port {port}: cannot listen there ({exc.strerror}); "
                "choose another --port"
            ) from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    model_dir: Annotated[Path, typer.Argument(help="Saved model folder (or a run folder).")],
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (loopback unless you say so).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8000,
    max_batch: Annotated[
        int | None,
        typer.Option("--max-batch", min=1, help="Most texts in one model call."),
    ] = None,
    max_wait_ms: Annotated[
        float | None,
        typer.Option("--max-wait-ms", min=0, help="Longest wait for more texts to fill a batch."),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers", min=1, help="Server processes; each loads its own copy of the model."
        ),
    ] = 1,
    runtime: Annotated[str, typer.Option("--runtime", help=RUNTIME_HELP)] = "auto",
    onnx: Annotated[bool, typer.Option("--onnx", help=ONNX_HELP, hidden=True)] = False,
    max_texts: Annotated[
        int | None,
        typer.Option("--max-texts", min=1, help="Most texts in one request."),
    ] = None,
    max_chars: Annotated[
        int | None,
        typer.Option("--max-chars", min=1, help="Most characters in one text."),
    ] = None,
    max_body_bytes: Annotated[
        int | None,
        typer.Option("--max-body-bytes", min=64, help="Largest request body."),
    ] = None,
    api_key_env: Annotated[
        str | None,
        typer.Option(
            "--api-key-env",
            metavar="NAME",
            help="Require the API key held in this environment variable "
            "(header X-API-Key or Authorization: Bearer).",
        ),
    ] = None,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option("--cors-origin", help="Allow browser calls from this origin (repeatable)."),
    ] = None,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="Log one line per request.")
    ] = True,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads", min=1, help="Model threads per worker (default: PyTorch's, all cores)."
        ),
    ] = None,
    shutdown_timeout: Annotated[
        float,
        typer.Option(
            "--shutdown-timeout", min=0, help="Seconds in-flight requests get after SIGTERM."
        ),
    ] = 30.0,
) -> None:
    """Serve a saved model over HTTP: POST /v1/predict, a demo page at /, docs at /docs."""
    setup_logging()
    from acsa.cli._runtime import runtime_choice
    from acsa.serve.settings import SETTINGS_ENV, ServeSettings

    runtime = runtime_choice(runtime, onnx)

    limits = {
        "max_batch": max_batch,
        "max_wait_ms": max_wait_ms,
        "max_texts": max_texts,
        "max_chars": max_chars,
        "max_body_bytes": max_body_bytes,
    }
    # an option left out keeps ServeSettings' default, the only place defaults live
    settings = ServeSettings.build(
        model_dir=model_dir,
        runtime=runtime,
        **{name: value for name, value in limits.items() if value is not None},
        api_key_env=api_key_env,
        cors_origins=tuple(cors_origin or ()),
        threads=threads,
    )
    settings.api_key()  # an unset variable fails here, in one line
    if not _is_loopback(host) and api_key_env is None:
        logger.warning(
            "listening on %s without an API key: anyone who can reach it may call it", host
        )
    _check_port(host, port)

    import uvicorn

    from acsa import api
    from acsa.models.saved import resolve_model_dir
    from acsa.serve.app import create_app

    options = {
        "host": host,
        "port": port,
        "access_log": access_log,
        "log_level": "info",
        "timeout_graceful_shutdown": int(round(shutdown_timeout)) or None,
        "lifespan": "on",
    }
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again for the handler
    # that was there before it; a no-op handler makes a graceful stop exit with status 0
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        if workers == 1:
            predictor = api.load(model_dir, settings.runtime, settings.threads)
            uvicorn.run(create_app(settings, predictor), **options)
        else:
            resolve_model_dir(model_dir)
            os.environ[SETTINGS_ENV] = settings.to_env()
            uvicorn.run("acsa.serve.app:app_from_env", factory=True, workers=workers, **options)
    finally:
        signal.signal(signal.SIGTERM, previous)

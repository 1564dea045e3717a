"""``/docs`` without the internet: Swagger UI served from the ``swagger-ui-py`` package's files.

FastAPI's own ``/docs`` page loads Swagger UI from a CDN, which a server on
an offline network cannot reach. The ``serve`` extra installs
``swagger-ui-py``, whose package ships the Swagger UI 5 files; they are
mounted under ``/docs-assets``. Without that package ``/docs`` is a plain page
pointing to ``/openapi.json``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS_PATH = "/docs-assets"


def swagger_assets() -> Path | None:
    """The folder of Swagger UI's files from ``swagger-ui-py``, if installed."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "static"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def install_docs(app: FastAPI, title: str) -> None:
    """Add ``GET /docs`` (and its assets) to ``app``, created with ``docs_url=None``."""
    assets = swagger_assets()
    if assets is not None:
        app.mount(ASSETS_PATH, StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        if assets is None:
            return HTMLResponse(
                f"<!doctype html><title>{title}</title><p>Swagger UI is not installed "
                '(pip install "acsa[serve]"); the API schema is at '
                '<a href="/openapi.json">/openapi.json</a>.</p>'
            )
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{title} - API",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
        )

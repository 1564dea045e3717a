"""Serve a saved model over HTTP: ``acsa serve MODEL_DIR`` (FastAPI + uvicorn).

Modules: :mod:`~acsa.serve.app` (routes, :func:`create_app`),
:mod:`~acsa.serve.batcher` (micro-batching), :mod:`~acsa.serve.settings`,
:mod:`~acsa.serve.limits`, :mod:`~acsa.serve.auth`, :mod:`~acsa.serve.errors`,
:mod:`~acsa.serve.metrics`, :mod:`~acsa.serve.docs`, :mod:`~acsa.serve.schemas`;
the demo page's files are in ``static/``. Needs the ``serve`` extra:
``pip install "acsa[serve]"``.
"""

from acsa.serve.app import create_app
from acsa.serve.batcher import MicroBatcher
from acsa.serve.settings import ServeSettings

__all__ = ["MicroBatcher", "ServeSettings", "create_app"]

"""Serve a saved model over HTTP: ``acsa serve MODEL_DIR`` (FastAPI + uvicorn).

Modules: :mod:`~acsa.serve.app` (routes, :func:`create_app`),
:mod:`~acsa.serve.batcher` (micro-batching), :mod:`~acsa.serve.settings`,
:mod:`~acsa.serve.limits`, :mod:`~acsa.serve.auth`, :mod:`~acsa.serve.errors`,
:mod:`~acsa.serve.metrics`, :mod:`~acsa.serve.docs`, :mod:`~acsa.serve.schemas`;
the demo page's files are in ``static/``. Needs the ``serve`` extra:
``pip install "acsa[serve]"``.

The names below are imported on first use, so that ``acsa serve`` can check
its options (``acsa.serve.settings``) before loading the model's libraries.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_NAMES = {"create_app": "app", "MicroBatcher": "batcher", "ServeSettings": "settings"}

__all__ = ["MicroBatcher", "ServeSettings", "create_app"]


def __getattr__(name: str) -> Any:
    module = _NAMES.get(name)
    if module is None:
        raise AttributeError(f"module 'acsa.serve' has no attribute {name!r}")
    return getattr(importlib.import_module(f"acsa.serve.{module}"), name)


if TYPE_CHECKING:
    from acsa.serve.app import create_app
    from acsa.serve.batcher import MicroBatcher
    from acsa.serve.settings import ServeSettings

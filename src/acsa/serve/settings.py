"""The server's settings: model, batching, limits, access; validated once, shared with workers.

``acsa serve`` builds one :class:`ServeSettings` from its flags. With
``--workers N`` uvicorn starts N processes that each build the app from an
import string, so the settings travel to them as JSON in the environment
variable :data:`SETTINGS_ENV` (:meth:`ServeSettings.to_env` /
:meth:`ServeSettings.from_env`). The API key itself never does: each process
reads it from the environment variable the settings name.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from acsa.errors import ConfigError, one_line

SETTINGS_ENV = "ACSA_SERVE_SETTINGS"

# defaults (README "Serve a model" documents them)
DEFAULT_MAX_BATCH = 64
DEFAULT_MAX_WAIT_MS = 5.0
DEFAULT_MAX_TEXTS = 256
DEFAULT_MAX_CHARS = 5_000
DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024


class ServeSettings(BaseModel):
    """Everything the app needs besides the API key's value.

    Args:
        model_dir: the saved model (or run) folder.
        runtime: ``"torch"`` or ``"onnx"`` (the folder's ``model.onnx``);
            ``"auto"`` or ``None`` lets :func:`acsa.models.backend.choose_runtime` choose.
        max_batch: most texts in one model call.
        max_wait_ms: how long the first text of a batch waits for others.
        max_texts: most texts in one request.
        max_chars: most characters in one text.
        max_body_bytes: largest request body.
        api_key_env: name of the environment variable holding the API key;
            ``None``: no key is required.
        cors_origins: origins allowed to call from a browser (none by default).
        threads: intra-op threads of the model (PyTorch and ONNX Runtime);
            ``None`` keeps PyTorch's default (``OMP_NUM_THREADS`` or every core).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_dir: Path
    runtime: Literal["auto", "torch", "onnx"] | None = None
    max_batch: int = Field(DEFAULT_MAX_BATCH, ge=1, le=100_000)
    max_wait_ms: float = Field(DEFAULT_MAX_WAIT_MS, ge=0, le=60_000)
    max_texts: int = Field(DEFAULT_MAX_TEXTS, ge=1, le=1_000_000)
    max_chars: int = Field(DEFAULT_MAX_CHARS, ge=1, le=10_000_000)
    max_body_bytes: int = Field(DEFAULT_MAX_BODY_BYTES, ge=64, le=1024**3)
    api_key_env: str | None = Field(None, min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    cors_origins: tuple[str, ...] = ()
    threads: int | None = Field(None, ge=1, le=1024)

    @classmethod
    def build(cls, **values: object) -> ServeSettings:
        """Validate ``values``; a bad one is a one-line :class:`ConfigError` naming the option."""
        try:
            return cls(**values)
        except ValidationError as exc:
            error = exc.errors()[0]
            name = ".".join(str(p) for p in error["loc"]) or "settings"
            raise ConfigError(
                f"serve option {name.replace('_', '-')}: {error['msg']} "
                f"(got {error.get('input')!r})"
            ) from None

    def api_key(self) -> str | None:
        """The key from the environment variable :attr:`api_key_env` (None when not set up).

        Raises:
            ConfigError: the variable is named but unset or empty.
        """
        if self.api_key_env is None:
            return None
        value = os.environ.get(self.api_key_env, "")
        if not value.strip():
            raise ConfigError(
                f"api_key_env: the environment variable {self.api_key_env} is not set or "
                "empty; export the key in it before starting"
            )
        return value.strip()

    def to_env(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_env(cls) -> ServeSettings:
        raw = os.environ.get(SETTINGS_ENV)
        if not raw:
            raise ConfigError(
                f"{SETTINGS_ENV} is not set; start the server with 'acsa serve MODEL_DIR'"
            )
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            raise ConfigError(f"{SETTINGS_ENV}: invalid settings ({one_line(exc)})") from None

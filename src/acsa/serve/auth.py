"""The optional API key: required on the model routes when the server was given one.

The key comes from an environment variable named by ``--api-key-env`` (never
from the command line, where other users of the machine could read it in the
process list). A client sends it as ``X-API-Key: KEY`` or
``Authorization: Bearer KEY``; it is compared in constant time.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import HTTPException, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

API_KEY_HEADER = "X-API-Key"

_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, scheme_name="APIKeyHeader")
_bearer = HTTPBearer(auto_error=False, scheme_name="BearerKey")


def key_matches(given: str | None, expected: str) -> bool:
    """``given == expected`` in time independent of where they differ."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def api_key_dependency(expected: str | None) -> Callable[..., Awaitable[None]]:
    """A FastAPI dependency that refuses a request without the key (none needed when ``None``)."""
    if expected is None:

        async def no_key() -> None:
            return None

        return no_key

    async def require_key(
        header_key: Annotated[str | None, Security(_key_header)],
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    ) -> None:
        token = bearer.credentials if bearer is not None else None
        # both headers are checked, so timing does not tell which one was tried
        header_ok = key_matches(header_key, expected)
        bearer_ok = key_matches(token, expected)
        if not (header_ok or bearer_ok):
            raise HTTPException(
                status_code=401,
                detail=f"missing or wrong API key; send it as '{API_KEY_HEADER}: KEY' "
                "or 'Authorization: Bearer KEY'",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return require_key

"""One JSON shape for every error the server answers, and the handlers that produce it.

``{"error": {"type": ..., "message": ...}}`` plus, for a limit, ``"limit"``
(the option's name, as in ``acsa serve --help``) and ``"max"``. Validation
errors map as follows: malformed JSON -> 400 ``malformed_json``; too many
texts or too long a text -> 413 ``limit_exceeded``; any other schema
violation -> 422 ``invalid_request`` with pydantic's error list in
``"details"``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)


def error_response(
    status: int, kind: str, message: str, headers: dict[str, str] | None = None, **fields: Any
) -> JSONResponse:
    """``{"error": {"type": kind, "message": message, **fields}}`` with ``status``."""
    return JSONResponse(
        {"error": {"type": kind, "message": message, **fields}}, status_code=status, headers=headers
    )


def limit_response(limit: str, maximum: int, message: str) -> JSONResponse:
    """413 naming the limit (``max_texts``, ``max_chars``, ``max_body_bytes``)."""
    return error_response(413, "limit_exceeded", message, limit=limit, max=maximum)


def _jsonable_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # pydantic puts the offending input and exception objects in its errors; echo neither
    return [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg")), "type": e.get("type")}
        for e in errors
    ]


def validation_response(
    exc: RequestValidationError, max_texts: int, max_chars: int
) -> JSONResponse:
    """The response for a request body that failed validation."""
    errors = list(exc.errors())
    for error in errors:
        loc, kind = tuple(error.get("loc", ())), error.get("type")
        if kind == "json_invalid":
            return error_response(
                400, "malformed_json", f"the body is not valid JSON ({error.get('msg')})"
            )
        if loc == ("body", "texts") and kind == "too_long":
            return limit_response(
                "max_texts", max_texts, f"a request holds at most {max_texts} texts (max_texts)"
            )
        if len(loc) == 3 and loc[:2] == ("body", "texts") and kind == "string_too_long":
            return limit_response(
                "max_chars",
                max_chars,
                f"text {loc[2]} is longer than {max_chars} characters (max_chars)",
            )
    return error_response(
        422,
        "invalid_request",
        'expected a JSON object {"texts": [string, ...]}',
        details=_jsonable_errors(errors),
    )


def install_error_handlers(app: FastAPI, max_texts: int, max_chars: int) -> None:
    """Answer validation, HTTP and unexpected errors in the one JSON shape."""

    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_response(exc, max_texts, max_chars)

    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kinds = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}
        return error_response(
            exc.status_code,
            kinds.get(exc.status_code, "http_error"),
            str(exc.detail),
            headers=getattr(exc, "headers", None),
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_response(
            500, "internal_error", "the server failed on this request; see its log"
        )

    app.add_exception_handler(RequestValidationError, on_validation)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, on_http)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, on_unexpected)

"""Request limits: the request schema with the text limits, and the body-size guard.

The limits are settings, so the request model is built per app: its JSON
schema (``/openapi.json``) states ``maxItems`` and ``maxLength``, and
pydantic enforces them; :mod:`acsa.serve.errors` turns a violation into a
413 naming the limit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model

from acsa.serve.errors import limit_response

if TYPE_CHECKING:
    from starlette.responses import JSONResponse
    from starlette.types import ASGIApp, Receive, Scope, Send

BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def predict_request_model(max_texts: int, max_chars: int) -> type[BaseModel]:
    """``{"texts": [str, ...]}`` with at most ``max_texts`` texts of ``max_chars`` characters."""
    text = Annotated[str, StringConstraints(max_length=max_chars)]
    texts = Annotated[
        list[text],  # type: ignore[valid-type]
        Field(
            max_length=max_texts,
            description=(
                f"Reviews to analyse (0 to {max_texts}, each at most {max_chars} characters)."
            ),
            examples=[["Pin trâu, camera đẹp nhưng giá hơi cao."]],
        ),
    ]
    return create_model(
        "PredictRequest",
        __config__=ConfigDict(extra="forbid"),
        texts=(texts, ...),
        explain=(
            bool,
            Field(
                False,
                description="Also return, per mentioned aspect, every token's contribution to its "
                "label (offline and TF-IDF models; slower than a plain prediction).",
            ),
        ),
    )


class BodyLimitMiddleware:
    """Pure ASGI middleware: refuse a request body over ``max_bytes`` with 413.

    A declared ``Content-Length`` over the limit is refused before reading;
    otherwise the body is read up to the limit and handed on whole, so a
    chunked body cannot slip past either.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _refuse(self) -> JSONResponse:
        return limit_response(
            "max_body_bytes",
            self.max_bytes,
            f"the request body is larger than {self.max_bytes} bytes (max_body_bytes)",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.max_bytes:
                    await self._refuse()(scope, receive, send)
                    return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse()(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

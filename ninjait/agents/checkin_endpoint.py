"""POST /agent/v1/checkin as a plain ASGI endpoint, in front of the web framework.

Every agent calls it every 30 s: at the fleet sizes we aim for it is nearly all
the appliance serves. Profiled under the fleet simulator (docs/performance.md),
the framework's per-request work (routing, guards, the handler signature,
response objects) cost as much CPU as the check-in itself, so the edge hands
this one path straight to the gateway. The Litestar route of the same path
(gateway_api.checkin) stays: it documents the endpoint in the OpenAPI schema
and gives the same answers when the app runs without this layer (its 413 text
is Litestar's; see docs/architecture.md for the other small differences).
"""

from __future__ import annotations

import logging
from typing import Any

from ninjait.agents import gateway
from ninjait.core.errors import INTERNAL_ERROR_DETAIL, ServiceError, TooManyRequests, Unavailable, error_document
from ninjait.core.runtime import Runtime
from ninjait_agent import wire

log = logging.getLogger("ninjait.http")

PATH = "/agent/v1/checkin"
MAX_REQUEST_BODY = 8 * 1024 * 1024  # as sent (gzip or not); gateway.MAX_BODY bounds it decompressed
_JSON = (b"content-type", b"application/json")


class BodyTooLarge(Exception):
    pass


class Disconnected(Exception):
    pass


async def read_body(scope: dict[str, Any], receive: Any, limit: int) -> bytes:
    """The whole request body, refused early when Content-Length announces more than ``limit``."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _header(scope: dict[str, Any], wanted: bytes) -> str:
    for name, value in scope["headers"]:
        if name == wanted:
            return value.decode("latin-1")
    return ""


async def _answer(send: Any, status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [_JSON, (b"content-length", str(len(body)).encode()), *(extra or ())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class CheckInEndpoint:
    """ASGI middleware: serves ``POST /agent/v1/checkin`` itself and passes everything else on."""

    def __init__(self, app: Any, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        scope["path_template"] = PATH  # request metrics count it under its route, as the framework's routes
        try:
            reply = await gateway.check_in(self.runtime, _header(scope, b"authorization"),
                                           lambda: read_body(scope, receive, MAX_REQUEST_BODY),
                                           _header(scope, b"content-encoding").lower())
        except Disconnected:
            return
        except BodyTooLarge:
            await _answer(send, 413, wire.ENCODER.encode(
                {"status_code": 413, "detail": f"check-in body is larger than {MAX_REQUEST_BODY // 2**20} MiB"}))
        except ServiceError as exc:
            retry = [(b"retry-after", str(exc.retry_after).encode())] \
                if isinstance(exc, (TooManyRequests, Unavailable)) else []
            await _answer(send, exc.status, wire.ENCODER.encode(error_document(exc)), retry)
        except Exception as exc:
            log.error("unhandled error", exc_info=exc, extra={"fields": {"path": PATH}})
            await _answer(send, 500, wire.ENCODER.encode({"status_code": 500, "detail": INTERNAL_ERROR_DETAIL}))
        else:
            await _answer(send, 200, reply)

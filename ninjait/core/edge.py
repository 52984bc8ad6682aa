"""The outermost ASGI layer: request id, security headers, request metrics.

It wraps the whole Litestar app (not a route middleware) so that 404s,
static files and error pages get the same headers and are counted too.
"""

from __future__ import annotations

import itertools
import re
import secrets
import time
from typing import Any

from ninjait.core import logs
from ninjait.ops.metrics import observe_request

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", _CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000")
_GOOD_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_ID_PREFIX = secrets.token_hex(4)
_ID_COUNTER = itertools.count(1)


def _incoming_request_id(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if _GOOD_ID.match(text):
                return text
    # Unique, not secret: a random prefix per process and a counter, cheaper than the OS's randomness.
    return f"{_ID_PREFIX}{next(_ID_COUNTER):08x}"


class Edge:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _incoming_request_id(scope)
        token = logs.request_id.set(rid)
        started = time.perf_counter()
        status = 500
        extra = [(b"x-request-id", rid.encode()), *SECURITY_HEADERS]
        if scope.get("scheme") == "https":
            extra.append(HSTS)

        async def send_with_headers(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                present = {k.lower() for k, _ in message.get("headers", ())}
                message["headers"] = [*message.get("headers", ()), *(h for h in extra if h[0] not in present)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            route = scope.get("path_template") or ("static" if scope["path"].startswith("/static/") else "unmatched")
            observe_request(route, scope["method"], str(status), time.perf_counter() - started)
            logs.request_id.reset(token)

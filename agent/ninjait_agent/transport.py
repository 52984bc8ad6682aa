"""HTTPS to the appliance, with the certificate pinned by its SHA-256 fingerprint.

With a fingerprint, the agent trusts exactly that certificate (self-signed
appliances) and checks it on every new connection before a byte is sent;
without one it validates against the system's CA store. One keep-alive
connection is reused between check-ins.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import logging
import shutil
import ssl
from typing import BinaryIO
from urllib.parse import urlsplit

log = logging.getLogger("ninjait_agent.transport")


class TransportError(Exception):
    """The server could not be reached or answered with an error; `status` is the HTTP status if any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class PinMismatch(TransportError):
    pass


def normalise_fingerprint(value: str) -> str:
    return value.replace(":", "").replace(" ", "").lower()


class Transport:
    def __init__(self, server: str, fingerprint: str = "", timeout: float = 30) -> None:
        parts = urlsplit(server)
        if parts.scheme != "https" or not parts.hostname:
            raise ValueError(f"server must be an https:// URL, not {server!r}")
        self.host = parts.hostname
        self.port = parts.port or 443
        self.base = parts.path.rstrip("/")
        self.pin = normalise_fingerprint(fingerprint)
        self.timeout = timeout
        self._conn: http.client.HTTPSConnection | None = None
        if self.pin:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE  # the pin below is stricter than any CA
        else:
            ctx = ssl.create_default_context()
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self._ctx = ctx

    def _connect(self) -> http.client.HTTPSConnection:
        conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=self._ctx)
        try:
            conn.connect()
        except (OSError, ssl.SSLError) as exc:
            raise TransportError(f"cannot connect to {self.host}:{self.port}: {exc}") from None
        if self.pin:
            der = conn.sock.getpeercert(binary_form=True)  # type: ignore[union-attr]
            seen = hashlib.sha256(der or b"").hexdigest()
            if seen != self.pin:
                conn.close()
                log.error("server certificate fingerprint mismatch: expected %s, got %s; nothing was sent",
                          self.pin, seen)
                raise PinMismatch(f"certificate fingerprint mismatch (expected {self.pin}, got {seen})")
        return conn

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                compress: bool = False, sink: BinaryIO | None = None) -> bytes:
        """The response body; with `sink`, a successful body is streamed into it instead (and b"" returned)."""
        headers = {"Content-Type": "application/json", "User-Agent": "ninjait-agent", **(headers or {})}
        if body is not None and compress:
            body = gzip.compress(body, compresslevel=5)
            headers["Content-Encoding"] = "gzip"
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = self._connect()
            try:
                self._conn.request(method, self.base + path, body=body, headers=headers)
                response = self._conn.getresponse()
                if sink is not None and response.status < 400:
                    sink.seek(0)
                    sink.truncate()  # a second attempt starts over
                    shutil.copyfileobj(response, sink, 1 << 16)  # an agent build: never whole in memory
                    data = b""
                else:
                    data = response.read()
            except (http.client.HTTPException, OSError) as exc:
                self.close()
                if attempt == 2:
                    raise TransportError(f"request to {path} failed: {exc}") from None
                continue  # a kept-alive connection the server closed: reconnect once
            if response.status >= 400:
                raise TransportError(f"{method} {path}: HTTP {response.status}: {_detail(data)}", status=response.status)
            return data
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _detail(body: bytes) -> str:
    """The server's reason from a JSON error body, else the start of the body."""
    import json

    try:
        return str(json.loads(body)["detail"])[:500]
    except (ValueError, KeyError, TypeError):
        return body[:300].decode(errors="replace")

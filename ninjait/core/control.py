"""A local control channel into the running appliance: a Unix socket in the data directory.

Some work can only happen inside ``ninjait serve``: DuckDB lets one process
open its file, and serve holds it. The CLI asks serve over this socket
instead. Who may ask is decided by the file system: the socket is created
mode 0600 (owner only; root passes anyway), and each connection's peer
credentials are checked again (SO_PEERCRED) in case the mode is loosened.
No port, no token to leak, nothing reachable from the network.

Wire format: the client sends one JSON line; the server answers with
length-prefixed frames (4-byte big-endian length; a zero length ends the
data) followed by one JSON line, ``{"ok": true, ...}`` or
``{"ok": false, "error": "..."}``. A missing trailer means the server died
mid-answer, so a truncated stream can never pass for a complete one.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

log = logging.getLogger("ninjait.control")

SOCKET_FILE = "control.sock"
MAX_REQUEST = 64 * 1024
_FRAME = struct.Struct(">I")
# sun_path holds 108 bytes; deeper data directories are reached through /proc/self/fd.
_MAX_SUN_PATH = 100


class ControlError(Exception):
    pass


Handler = Callable[[dict[str, Any], "FrameWriter"], dict[str, Any]]


class FrameWriter:
    """A write-only binary stream that frames what it is given, in frames of up to 1 MiB."""

    FRAME_MAX = 1 << 20

    def __init__(self, conn: socket.socket) -> None:
        self._conn = conn
        self._buf = bytearray()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._buf += data
        if len(self._buf) >= self.FRAME_MAX:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self._buf:
            self._conn.sendall(_FRAME.pack(len(self._buf)) + self._buf)
            self._buf.clear()


class _Address:
    """A socket path short enough for sun_path, even when the data directory is deep."""

    def __init__(self, data_dir: Path) -> None:
        self.real = data_dir / SOCKET_FILE
        self._dir_fd = -1
        if len(str(self.real)) <= _MAX_SUN_PATH:
            self.path = str(self.real)
        else:
            self._dir_fd = os.open(data_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            self.path = f"/proc/self/fd/{self._dir_fd}/{SOCKET_FILE}"

    def close(self) -> None:
        if self._dir_fd >= 0:
            os.close(self._dir_fd)
            self._dir_fd = -1


class ControlServer:
    """Answers requests one connection at a time, each in its own thread."""

    def __init__(self, data_dir: Path, handlers: dict[str, Handler]) -> None:
        self.handlers = handlers
        self._address = _Address(data_dir)
        try:
            self._address.real.unlink()  # left by a crash; we hold the data directory's lock
        except FileNotFoundError:
            pass
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        # chmod right after bind rather than a umask: umask is process-wide and other threads
        # create files too. The instant in between is covered by the SO_PEERCRED check.
        self._sock.bind(self._address.path)
        os.chmod(self._address.real, 0o600)
        self._sock.listen(8)
        self._stopping = False
        self._thread = threading.Thread(target=self._accept_loop, name="ninjait-control", daemon=True)

    def start(self) -> ControlServer:
        self._thread.start()
        return self

    def _accept_loop(self) -> None:
        while not self._stopping:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), name="ninjait-control-conn", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
                if uid not in (0, os.getuid()):
                    conn.sendall(_FRAME.pack(0) + _trailer({"ok": False, "error": "not allowed"}))
                    return
                request = _read_line(conn, "connection closed before the request ended")
                handler = self.handlers.get(str(request.get("op")))
                if handler is None:
                    result = {"ok": False, "error": f"unknown operation {request.get('op')!r}"}
                else:
                    try:
                        writer = FrameWriter(conn)
                        result = {"ok": True, **handler(request, writer)}
                        writer.flush()
                    except (BrokenPipeError, ConnectionResetError):
                        log.warning("control client went away", extra={"fields": {"op": request.get("op")}})
                        return
                    except Exception as exc:  # reported to the client, which prints it
                        log.exception("control request failed", extra={"fields": {"op": request.get("op")}})
                        result = {"ok": False, "error": str(exc) or type(exc).__name__}
                conn.sendall(_FRAME.pack(0) + _trailer(result))
            except (OSError, ControlError, ValueError) as exc:
                log.warning("control connection failed", extra={"fields": {"error": str(exc)}})

    def stop(self) -> None:
        self._stopping = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        try:
            self._address.real.unlink()
        except FileNotFoundError:
            pass
        self._address.close()


def _trailer(result: dict[str, Any]) -> bytes:
    return json.dumps(result).encode() + b"\n"


def _read_line(conn: socket.socket, closed: str) -> dict[str, Any]:
    """One JSON object on one line (a request, or the answer's trailer)."""
    buf = bytearray()
    while not buf.endswith(b"\n"):
        part = conn.recv(4096)
        if not part:
            raise ControlError(closed)
        buf += part
        if len(buf) > MAX_REQUEST:
            raise ControlError("line too long")
    value = json.loads(buf)
    if not isinstance(value, dict):
        raise ControlError("expected a JSON object")
    return value


def _recv_exact(conn: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        part = conn.recv(min(n - len(buf), 1 << 20))
        if not part:
            raise ControlError("the appliance closed the connection mid-answer (did it stop?)")
        buf += part
    return bytes(buf)


def available(data_dir: Path) -> bool:
    return (data_dir / SOCKET_FILE).exists()


def call(data_dir: Path, request: dict[str, Any], sink: BinaryIO | None = None, timeout: float = 3600) -> dict[str, Any]:
    """Send one request to the appliance serving ``data_dir``; data frames go to ``sink``."""
    address = _Address(data_dir)
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            try:
                conn.connect(address.path)
            except OSError as exc:
                raise ControlError(f"cannot reach the running appliance at {address.real}: {exc.strerror}") from None
            conn.sendall(json.dumps(request).encode() + b"\n")
            while True:
                (size,) = _FRAME.unpack(_recv_exact(conn, 4))
                if size == 0:
                    break
                data = _recv_exact(conn, size)
                if sink is not None:
                    sink.write(data)
            result = _read_line(conn, "the appliance closed the connection before it finished answering")
    finally:
        address.close()
    if not result.get("ok"):
        raise ControlError(str(result.get("error", "the appliance refused the request")))
    return result

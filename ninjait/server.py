"""`ninjait serve`: one process with the HTTPS server, the redirect port and the task consumer."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import logging
import signal
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import uvicorn
import uvloop

from ninjait import __version__
from ninjait.core import instance, live, queue, runtime as rt
from ninjait.core.control import ControlServer
from ninjait.core.tls import ensure_certificate
from ninjait.settings import Settings

log = logging.getLogger("ninjait.server")


# Allocations (less deallocations) of container objects between two young-generation collections;
# CPython's default is 700.
GC_YOUNG_THRESHOLD = 10_000
# How long a thread may hold the GIL while another waits for it (CPython's default: 5 ms). The writer thread lets
# go of it for every SQLite step and then waits behind the busy event loop; at 1 ms, 1,000 agents at saturation got
# 1,964-2,555 check-ins/s against 1,810-1,817 (docs/performance.md).
GIL_SWITCH_SECONDS = 0.001
GRACEFUL_SHUTDOWN_SECONDS = 10


def settle_heap() -> None:
    """Keep the garbage collector off the hot path once everything is loaded.

    Measured under the fleet simulator (docs/performance.md): with CPython's defaults a
    check-in paid about 0.5 ms in collections, most of it full collections walking the
    hundreds of thousands of objects the framework, templates and DuckDB leave at start-up
    and never free, because the objects of in-flight requests get promoted and trigger them.
    Freezing what exists now moves it out of every later collection; a higher young
    threshold makes collections rarer. Cycles are still collected, only less often. Threads waiting for the
    GIL (the database writer after each statement) get it after 1 ms instead of 5.
    """
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)


# glibc's malloc gives threads arenas of their own (up to 8 per core) and keeps what is freed in each; with the
# writer, the checkpointer, the task workers, the thread pool and granian's threads that held about 25-50 MiB
# more with 10,000 agents checking in than two arenas do (docs/performance.md).
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter number (malloc.h)


def limit_malloc_arenas() -> bool:
    """Cap glibc's malloc arenas before any thread starts; False where malloc is not glibc's."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(_M_ARENA_MAX, MALLOC_ARENAS))
    except (OSError, AttributeError):
        return False


class StartupError(Exception):
    """Serving cannot start; the message tells the operator what to fix."""


def bind(host: str, port: int, setting: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(f"port {port} on {host} is already in use (setting {setting})") from None
        if exc.errno == errno.EACCES:
            raise StartupError(f"no permission to listen on {host}:{port} (setting {setting})") from None
        raise StartupError(f"cannot listen on {host}:{port} (setting {setting}): {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves signals to us.

    Stock uvicorn re-raises SIGTERM after its own shutdown, which would kill
    the process before the task consumer and the database are closed.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class _GranianServer:
    """The HTTPS server on granian's embedded server: HTTP/1.1 and TLS run in granian's Rust threads, outside the
    GIL, and the ASGI app on this process's event loop. About a fifth more check-ins per second than uvicorn on
    the same cores (docs/performance.md); `http_server = "uvicorn"` switches back."""

    def __init__(self, app: Any, cert: str, key: str) -> None:
        from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

        # uvicorn's default, kept: X-Forwarded-For/-Proto are believed from a reverse proxy on this host only.
        self.app = ProxyHeadersMiddleware(_log_escaping_errors(app), trusted_hosts="127.0.0.1")
        self.cert, self.key = cert, key
        self.should_exit = False

    async def serve(self, sockets: list[socket.socket]) -> None:
        from granian.constants import HTTPModes, Interfaces, SSLProtocols
        from granian.server.embed import Server

        host, port = sockets[0].getsockname()[:2]
        for sock in sockets:
            sock.close()  # bound first only so that a busy port is reported clearly; granian binds its own
        server = Server(self.app, address=host, port=port, interface=Interfaces.ASGI, http=HTTPModes.http1,
                        websockets=False, log_enabled=False, backlog=2048, ssl_cert=Path(self.cert),
                        ssl_key=Path(self.key), ssl_protocol_min=SSLProtocols.tls12)
        running = asyncio.ensure_future(server.serve())
        while not self.should_exit and not running.done():
            await asyncio.sleep(0.2)
        if not self.should_exit:  # granian ended by itself: its worker failed (its own logging is off)
            failure = running.exception() if not running.cancelled() else None
            log.error("the HTTPS server stopped on its own", exc_info=failure)
            raise StartupError(f"the HTTPS server stopped on its own: {failure or 'its worker ended'}")
        server.stop()
        try:
            await asyncio.wait_for(running, timeout=GRACEFUL_SHUTDOWN_SECONDS)
        except asyncio.TimeoutError:
            log.warning("requests still running at shutdown were cut off")


def _log_escaping_errors(app: Any) -> Any:
    """Log what escapes the app: granian answers 500 without a word (uvicorn logged it)."""
    async def logged(scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            await app(scope, receive, send)
        except Exception:
            log.exception("unhandled error in the HTTP server", extra={"fields": {"path": scope.get("path", "")}})
            raise

    return logged


def _https_server(settings: Settings, app: Any, cert: str, key: str) -> Any:
    if settings.http_server == "granian":
        return _GranianServer(app, cert, key)
    return _QuietServer(uvicorn.Config(
        app, ssl_certfile=cert, ssl_keyfile=key,
        loop="uvloop", http="httptools", lifespan="on", log_config=None, access_log=False,
        server_header=False, timeout_keep_alive=75, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
    ))


def _redirect_app(https_port: int) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        host = dict(scope["headers"]).get(b"host", b"localhost").decode("latin-1").rsplit(":", 1)[0]
        path = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        target = f"https://{host}:{https_port}{path}" + (f"?{query}" if query else "")
        await send({"type": "http.response.start", "status": 308,
                    "headers": [(b"location", target.encode("latin-1")), (b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    return app


def serve(settings: Settings) -> int:
    started = time.perf_counter()
    limit_malloc_arenas()
    sockets = [bind(settings.host, settings.port, "port")]
    if settings.http_port:
        sockets.append(bind(settings.host, settings.http_port, "http_port"))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        # Held until the process ends: restore refuses to touch a data directory an appliance serves.
        holder = instance.acquire(settings.data_dir, "serve")
    except instance.InUse as exc:
        for sock in sockets:
            sock.close()
        raise StartupError(str(exc)) from None
    tls = ensure_certificate(settings)
    runtime = rt.start(settings)
    runtime.tls_fingerprint = tls.fingerprint
    from ninjait.backup import service as backups
    from ninjait.wiring import control_handlers

    backups.clean_leftovers(settings)  # what a backup killed with the last process left behind
    control = ControlServer(settings.data_dir, control_handlers(runtime)).start()
    from ninjait.identity import authn

    setup_token = authn.issue_setup_token(runtime)

    from ninjait.app import create_asgi  # after runtime: domains may read it at import

    from ninjait.wiring import load_tasks, start_loops

    load_tasks()
    consumer = queue.start_in_process(settings.queue_workers) if settings.queue_in_process else None
    loops = start_loops(runtime)
    main = _https_server(settings, create_asgi(runtime), str(tls.cert), str(tls.key))
    servers: list[tuple[Any, socket.socket]] = [(main, sockets[0])]
    if settings.http_port:
        redirect = _QuietServer(uvicorn.Config(
            _redirect_app(settings.port), lifespan="off", log_config=None, access_log=False,
            server_header=False, http="h11",
        ))
        servers.append((redirect, sockets[1]))

    log.info("NinjaIT is ready", extra={"fields": {
        "version": __version__, "url": f"{settings.base_url}/", "backend": runtime.db.backend,
        "tls_fingerprint_sha256": tls.fingerprint, "startup_ms": round((time.perf_counter() - started) * 1000),
    }})
    print(f"NinjaIT {__version__} serving {settings.base_url}/", file=sys.stderr, flush=True)
    print(f"TLS certificate SHA-256 fingerprint: {tls.fingerprint}", file=sys.stderr, flush=True)
    if setup_token:
        # Only whoever can read this log can claim the fresh appliance (cf. ScreenConnect CVE-2024-1709).
        print(f"First run: open {settings.base_url}/setup and enter the setup token {setup_token}",
              file=sys.stderr, flush=True)

    async def run_all() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: ([setattr(s, "should_exit", True) for s, _ in servers],
                                                  live.hub_of(runtime).close()))

        async def stop_others_when_main_ends() -> None:
            await main.serve(sockets=[sockets[0]])
            for server, _ in servers[1:]:
                server.should_exit = True

        await asyncio.gather(stop_others_when_main_ends(), *(s.serve(sockets=[sock]) for s, sock in servers[1:]))

    settle_heap()
    try:
        uvloop.run(run_all())
    finally:
        control.stop()
        for loop in loops:
            loop.stop()
        if consumer is not None:
            consumer.stop(graceful=True)
        rt.stop()
        for sock in sockets:
            sock.close()
        holder.release()
        log.info("NinjaIT stopped")  # after the server drained, the queue stopped and the database closed
    return 0

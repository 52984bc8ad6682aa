"""`ninjait serve` with granian in place of uvicorn, for the fleet simulator's side-by-side run only.

    python tests/bench/serve_granian.py serve    (same settings and environment as `python -m ninjait serve`)

Everything `ninjait serve` does stays (runtime, queue consumer, loops, signals, shutdown); only the HTTPS
server object is swapped for granian's embedded server (granian.server.embed, ASGI, one worker in this
process, HTTP/1.1, TLS with the appliance's certificate). Granian binds the port itself, so the socket
`ninjait serve` bound is closed first. Not a product code path: granian is in the `bench` extra.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from granian.constants import HTTPModes, Interfaces  # noqa: E402
from granian.server.embed import Server as GranianServer  # noqa: E402

from ninjait import cli, server  # noqa: E402


UVICORN = server._QuietServer


class GranianInPlaceOfUvicorn:
    """The HTTPS server; the plain-HTTP redirect port (no certificate) stays on uvicorn."""

    def __new__(cls, config: Any) -> Any:
        return super().__new__(cls) if config.ssl_certfile else UVICORN(config)

    def __init__(self, config: Any) -> None:
        self.config = config
        self.should_exit = False

    async def serve(self, sockets: list[Any]) -> None:
        host, port = sockets[0].getsockname()[:2]
        for sock in sockets:
            sock.close()
        granian = GranianServer(self.config.app, address=host, port=port, interface=Interfaces.ASGI,
                                http=HTTPModes.http1, websockets=False, log_enabled=False,
                                ssl_cert=Path(self.config.ssl_certfile), ssl_key=Path(self.config.ssl_keyfile),
                                backlog=2048)
        task = asyncio.ensure_future(granian.serve())
        while not self.should_exit and not task.done():
            await asyncio.sleep(0.2)
        granian.stop()
        await task


server._QuietServer = GranianInPlaceOfUvicorn  # type: ignore[misc,assignment]

if __name__ == "__main__":
    sys.exit(cli.main())

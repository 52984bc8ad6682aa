"""The framework baseline: the check-in wire format on the same server stack, with no storage.

    .venv/bin/python tests/bench/bare_server.py --port 8443 --cert cert.pem --key key.pem [--server uvicorn]

Granian's embedded server (HTTP/1.1 and TLS in its Rust threads, the app on uvloop in this process), configured
as `ninjait serve` runs it; or, with --server uvicorn, uvicorn + uvloop + httptools + TLS as `ninjait serve`
runs it with the setting http_server = "uvicorn". A raw ASGI app that reads the body, decodes it with the agent
protocol's msgspec decoder (validation included) and answers a reply of the same shape. fleet_sim.py starts it
and drives the same payloads at it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import uvicorn  # noqa: E402
import uvloop  # noqa: E402
from ninjait_agent import wire  # noqa: E402

HEADERS = [(b"content-type", b"application/json")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    if scope["path"] == "/healthz":
        body, status = b"ok", 200
    else:
        try:
            batch = wire.CHECKIN_DECODER.decode(b"".join(chunks))
            body = wire.ENCODER.encode(wire.CheckInReply(ack_seq=batch.seq, interval=30, server_time=time.time()))
            status = 200
        except Exception as exc:  # noqa: BLE001 - a bad body is a 400, like the product's
            body, status = str(exc).encode(), 400
    await send({"type": "http.response.start", "status": status,
                "headers": [*HEADERS, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--server", choices=["granian", "uvicorn"], default="granian")
    args = parser.parse_args()
    if args.server == "granian":
        from granian.constants import HTTPModes, Interfaces, SSLProtocols
        from granian.server.embed import Server

        uvloop.run(Server(app, address="127.0.0.1", port=args.port, interface=Interfaces.ASGINL,
                          http=HTTPModes.http1, websockets=False, log_enabled=False, backlog=2048,
                          ssl_cert=Path(args.cert), ssl_key=Path(args.key),
                          ssl_protocol_min=SSLProtocols.tls12).serve())
        return
    uvicorn.run(app, host="127.0.0.1", port=args.port, ssl_certfile=args.cert, ssl_keyfile=args.key, loop="uvloop",
                http="httptools", lifespan="off", log_config=None, access_log=False, server_header=False,
                timeout_keep_alive=75)


if __name__ == "__main__":
    main()

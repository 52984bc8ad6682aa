"""A lean HTTP/1.1 keep-alive client over asyncio + TLS for the fleet simulator.

httpx costs the simulator several times the CPU of the request itself; on a machine where the
simulator and the appliance share the cores, a lean client leaves more of them to the appliance.
`--client httpx` in fleet_sim.py measures the difference.
"""

from __future__ import annotations

import asyncio
import ssl

import httpx


class RawConnection:
    """One keep-alive connection; requests on it are sequential, like one agent's."""

    def __init__(self, host: str, port: int, ctx: ssl.SSLContext) -> None:
        self.host, self.port, self.ctx = host, port, ctx
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, ssl=self.ctx,
                                                                 server_hostname="localhost")

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        if self.writer is None:
            await self._open()
        assert self.reader is not None and self.writer is not None
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.writer.write(f"POST {path} HTTP/1.1\r\nHost: localhost:{self.port}\r\nContent-Type: application/json\r\n"
                          f"Content-Length: {len(body)}\r\n{head}\r\n".encode() + body)
        try:
            status_block = await self.reader.readuntil(b"\r\n\r\n")
            lines = status_block.split(b"\r\n")
            status = int(lines[0].split(b" ", 2)[1])
            length, close = 0, False
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            data = await self.reader.readexactly(length) if length else b""
        except BaseException:
            self.close()
            raise
        if close:
            self.close()
        return status, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class HttpxConnection:
    """The same interface over httpx.AsyncClient (one connection), to compare client costs."""

    def __init__(self, host: str, port: int, ctx: ssl.SSLContext) -> None:
        self.client = httpx.AsyncClient(base_url=f"https://localhost:{port}", verify=ctx, timeout=30,
                                        limits=httpx.Limits(max_connections=1))

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        r = await self.client.post(path, content=body, headers={"Content-Type": "application/json", **headers})
        return r.status_code, r.content

    def close(self) -> None:
        pass  # the process exits with the run


CLIENTS = {"raw": RawConnection, "httpx": HttpxConnection}

"""An S3-compatible server on loopback (moto's server mode) for the off-site backup tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ninjait.backup import s3
from tests.support.net import free_port

KEY_ID, SECRET = "AKIDNINJAITTEST", "ninjait-test-secret-key"


@dataclass
class S3Server:
    url: str  # http://127.0.0.1:PORT

    def bucket(self, name: str, prefix: str = "") -> s3.Client:
        """A new, empty bucket; the client is scoped to ``prefix`` in it."""
        client = s3.Client(s3.Target(self.url, name, prefix, "us-east-1", KEY_ID, SECRET))
        client.request("PUT", "")  # CreateBucket
        return client

    def env(self, bucket: str, prefix: str = "", keep: int = 30) -> dict[str, str]:
        return {"NINJAIT_BACKUP_S3_URL": f"{self.url}/{bucket}{'/' + prefix if prefix else ''}",
                "NINJAIT_BACKUP_S3_ACCESS_KEY_ID": KEY_ID, "NINJAIT_BACKUP_S3_SECRET_ACCESS_KEY": SECRET,
                "NINJAIT_BACKUP_S3_KEEP": str(keep)}


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        server.stop()

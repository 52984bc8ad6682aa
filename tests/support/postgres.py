"""A throw-away PostgreSQL server for the test run: Debian's binaries, a temp dir, loopback only."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from tests.support.net import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is missing: run `make system-deps` (apt-get install postgresql)")
    return found[-1]


class PostgresServer:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="ninjait-pg-"))
        self.port = free_port()
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            # initdb refuses to run as root: run the server as Debian's postgres user.
            user = pwd.getpwnam("postgres")
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self.data = self.dir / "data"
        self._run([_bin("initdb"), "-D", str(self.data), "-U", "ninjait", "--auth=trust", "-E", "UTF8",
                   "--no-sync", "--locale=C"])
        self._run([_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w", "-t", "60",
                   "-o", f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off "
                         "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
                   "start"])
        self.admin_url = f"postgresql://ninjait@127.0.0.1:{self.port}/postgres"
        self._counter = 0

    def _run(self, cmd: list[str]) -> None:
        result = subprocess.run([*self._as_user, *cmd], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{cmd[0]} failed: {result.stderr or result.stdout}")

    def new_database(self) -> str:
        self._counter += 1
        name = f"t{os.getpid()}_{self._counter}_{int(time.time() * 1000) % 100000}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://ninjait@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        try:
            self._run([_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

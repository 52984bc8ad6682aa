"""Who is using a data directory right now: one lock file, held with ``flock`` while a process owns it.

``ninjait serve`` holds it for its whole life; ``restore`` and a backup made
without a running appliance hold it while they work. The kernel drops the
lock when the holder dies (even by SIGKILL), so a stale file never blocks a
restart — unlike a pid file, nothing has to be cleaned up after a crash.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

LOCK_FILE = "ninjait.lock"


class InUse(Exception):
    """Another process holds the data directory; the message names it."""


@dataclass
class Holder:
    """A lock we hold; released by :meth:`release` or when the process ends."""

    path: Path
    fd: int

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # closing the descriptor drops the flock
            self.fd = -1


def describe(data_dir: Path) -> str:
    """What the current holder wrote into the lock file, for messages ("ninjait serve, pid 42")."""
    try:
        info = json.loads((data_dir / LOCK_FILE).read_text())
        return f"ninjait {info.get('role', '?')}, pid {info.get('pid', '?')}"
    except (OSError, ValueError):
        return "another process"


def acquire(data_dir: Path, role: str) -> Holder:
    """Take the data directory for this process, or raise :class:`InUse` at once (never waits)."""
    path = data_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise InUse(f"data directory {data_dir} is in use by {describe(data_dir)}") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps({"pid": os.getpid(), "role": role, "since": int(time.time())}).encode(), 0)
    return Holder(path, fd)


def is_held(data_dir: Path) -> bool:
    path = data_dir / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False

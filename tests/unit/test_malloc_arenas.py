"""`ninjait serve` caps glibc's malloc arenas before its threads start: threads share two instead of one each."""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import ctypes, sys, threading
    from ninjait.server import limit_malloc_arenas
    if sys.argv[1] == "capped":
        assert limit_malloc_arenas()
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]

    def work():
        for _ in range(50000):
            libc.free(libc.malloc(200))  # ctypes lets go of the GIL: the threads contend for malloc's locks

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    libc.malloc_stats()  # one "Arena N:" block per arena, on stderr
""")


def arenas(mode: str) -> int:
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return sum(line.startswith("Arena ") for line in done.stderr.splitlines())


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc")
def test_threads_share_the_capped_arenas() -> None:
    from ninjait.server import MALLOC_ARENAS

    assert 1 <= arenas("capped") <= MALLOC_ARENAS
    assert arenas("uncapped") > MALLOC_ARENAS  # what the cap prevents: contention makes new arenas

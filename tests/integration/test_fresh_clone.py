"""README's run command on a fresh clone: `make run` installs everything and serves HTTPS."""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support.appliance import ROOT
from tests.support.net import free_port

pytestmark = pytest.mark.binary  # slow and backend-neutral: runs once, in the SQLite pass


def test_it_runs_from_a_fresh_clone(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NINJAIT_", "VIRTUAL_ENV"))}
    env.update({"NINJAIT_PORT": str(port), "NINJAIT_LOG_FORMAT": "json"})
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen(["make", "run"], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "run.log").read_text()
            try:
                r = httpx.get(f"https://127.0.0.1:{port}/healthz", verify=ssl.create_default_context(cafile=str(clone / "data/tls/cert.pem")),
                              timeout=2)
                if r.status_code == 200:
                    break
            except (httpx.TransportError, OSError, ssl.SSLError):
                pass
            time.sleep(1)
        else:
            pytest.fail("make run did not serve within 10 minutes:\n" + (tmp_path / "run.log").read_text())
        base = f"https://127.0.0.1:{port}"
        with httpx.Client(base_url=base, verify=False, timeout=10, follow_redirects=True) as client:
            # A fresh appliance's sign-in page points to the first-run page, which asks for the token in the log.
            home = client.get("/")
            assert home.status_code == 200 and home.url.path == "/login" and 'href="/setup"' in home.text
            assert "Setup token" in client.get("/setup").text
            printed = re.search(r"enter the setup token (\S+)", (tmp_path / "run.log").read_text())
            assert printed, (tmp_path / "run.log").read_text()
            done = client.post("/setup", data={
                "token": printed.group(1), "tenant_name": "Fresh MSP", "name": "First Admin",
                "email": "first@fresh.example", "password": "correct horse battery staple 42"})
            assert done.status_code == 200 and done.url.path == "/login", done.text
            # Set up once: the first-run page is gone for good.
            assert client.get("/setup").url.path == "/login"
        assert httpx.get(f"https://127.0.0.1:{port}/vendor/htmx/htmx.min.js", verify=False).status_code == 200
        assert "serving https://localhost:" in (tmp_path / "run.log").read_text()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)

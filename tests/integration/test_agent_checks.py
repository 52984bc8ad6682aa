"""Agent-side checks with the real agent process: the check set arrives with a check-in, the agent runs
each check and reports it in a later batch, the evaluator turns results into states."""

from __future__ import annotations

import http.server
import os
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.agent import AgentProcess, fingerprint, wait_until
from tests.support.appliance import Appliance
from tests.support.identity import Browser, World


APPLIANCE_ENV = {"NINJAIT_CHECK_EVALUATE_SECONDS": "1"}  # the evaluator's loop, quicker than by default


@pytest.fixture(scope="module")
def admin(world_app) -> Iterator[Browser]:  # type: ignore[no-untyped-def]
    app, world = world_app
    browser = Browser(app).login(world.people["a-organizationadmin"])
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def web() -> Iterator[int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            code = 200 if self.path == "/ok" else 503
            self.send_response(code)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


@pytest.fixture
def sleeper() -> Iterator[str]:
    """A process the process check can find by name."""
    proc = subprocess.Popen(["sleep", "600"])
    yield "sleep"
    proc.kill()
    proc.wait()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_agent(app: Appliance, world: World, admin: Browser, tmp_path: Path, *extra: str) -> tuple[AgentProcess, int]:
    token = admin.post("/api/v1/enrollment-tokens", json={"site_id": world.sites["a"]}).json()["token"]
    agent = AgentProcess(tmp_path / f"agent-{time.monotonic_ns()}", f"https://127.0.0.1:{app.port}")
    assert agent.enroll(token, fingerprint(app), *extra).returncode == 0
    agent.start()
    wait_until(lambda: agent.status()["last_sequence"] >= 1)
    device = max(admin.get("/api/v1/devices").json(), key=lambda d: d["id"])["id"]
    return agent, device


def on_device(admin: Browser, device: int, name: str, kind: str, params: dict[str, Any], **extra: Any) -> int:
    r = admin.post("/api/v1/checks", json={"name": name, "kind": kind, "scope_kind": "device", "scope_id": device,
                                           "params": params, "run_from": "agent", **extra})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def states(admin: Browser, device: int) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in admin.get(f"/api/v1/devices/{device}/checks").json()}


def test_every_agent_check_kind_passes_and_fails(world_app, admin, web, sleeper, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    agent, device = start_agent(app, world, admin, tmp_path)
    try:
        expected = {
            "process up": ("process", {"name": sleeper}, "passing"),
            "process down": ("process", {"name": "no-such-process-ninjait"}, "failing"),
            "service missing": ("service", {"name": "no-such-service-ninjait"}, "failing"),
            "script ok": ("script", {"script": "echo fine; exit 0"}, "passing"),
            "script warns": ("script", {"script": "echo low; exit 2", "warn_codes": [2]}, "warning"),
            "script fails": ("script", {"script": "echo broken >&2; exit 5", "warn_codes": [2]}, "failing"),
            "tcp open": ("tcp", {"host": "127.0.0.1", "port": web}, "passing"),
            "tcp closed": ("tcp", {"host": "127.0.0.1", "port": closed_port(), "timeout": 2}, "failing"),
            "http ok": ("http", {"url": f"http://127.0.0.1:{web}/ok", "contains": "ok"}, "passing"),
            "http down": ("http", {"url": f"http://127.0.0.1:{web}/down"}, "failing"),
            "ping local": ("ping", {"host": "127.0.0.1", "timeout": 2}, "passing"),
            "ping nowhere": ("ping", {"host": "no-such-host.invalid", "timeout": 2}, "failing"),
        }
        if not os.path.isdir("/run/systemd/system"):  # no service manager: the agent judges by process name
            expected["service up"] = ("service", {"name": sleeper}, "passing")
        for name, (kind, params, _) in expected.items():
            on_device(admin, device, name, kind, params, interval_seconds=60 if kind == "script" else 30)
        want = {name: state for name, (_, _, state) in expected.items()}
        wait_until(lambda: {n: c["state"] for n, c in states(admin, device).items()} == want, timeout=60)
        found = states(admin, device)
        assert found["script warns"]["message"] == "exit 2: low" and found["script warns"]["last_value"] == 2
        assert found["script fails"]["message"] == "exit 5: broken"
        assert "expected 200" in found["http down"]["message"]
        assert found["process up"]["last_value"] >= 1
    finally:
        assert agent.stop() == 0


def test_an_agent_without_scripts_refuses_script_checks_and_says_so(world_app, admin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    agent, device = start_agent(app, world, admin, tmp_path, "--no-scripts")
    marker = tmp_path / "ran"
    try:
        on_device(admin, device, "no scripts here", "script", {"script": f"touch {marker}"})
        found = wait_until(lambda: (c := states(admin, device).get("no scripts here")) and c["message"] and c)
        assert found["state"] == "unknown"
        assert found["message"] == "script execution is disabled on this agent (--no-scripts)"
        assert not marker.exists()
    finally:
        assert agent.stop() == 0


def test_the_agent_keeps_its_checks_across_a_restart(world_app, admin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    agent, device = start_agent(app, world, admin, tmp_path)
    try:
        on_device(admin, device, "kept", "tcp", {"host": "127.0.0.1", "port": closed_port(), "timeout": 1})
        wait_until(lambda: states(admin, device)["kept"]["state"] == "failing")
        assert agent.stop() == 0
        with sqlite3.connect(agent.state_dir / "outbox.db") as db:
            kept = db.execute("SELECT value FROM state WHERE key = 'checks'").fetchone()[0]
        assert '"kind":"tcp"' in kept
        agent.start()
        before = states(admin, device)["kept"]["last_run_at"]
        wait_until(lambda: states(admin, device)["kept"]["last_run_at"] != before, timeout=60)
        assert agent.log().count("check set ") == 1  # run from what it kept: the server did not send it again
    finally:
        agent.stop()

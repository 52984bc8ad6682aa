"""The real agent process against the real appliance: enrollment, check-ins, scripts, signatures, outages."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

from tests.support.agent import AgentProcess, fingerprint, wait_until
from tests.support.appliance import Appliance
from tests.support.identity import Browser


def new_token(admin: Browser, world, **kw) -> dict:  # type: ignore[no-untyped-def,type-arg]
    r = admin.post("/api/v1/enrollment-tokens", json={"site_id": world.sites["a"], "name": "test", **kw})
    assert r.status_code == 201, r.text
    return r.json()


def enrolled(app: Appliance, admin: Browser, world, tmp_path: Path, *extra: str) -> AgentProcess:  # type: ignore[no-untyped-def]
    agent = AgentProcess(tmp_path / f"agent-{time.monotonic_ns()}", f"https://127.0.0.1:{app.port}")
    result = agent.enroll(new_token(admin, world)["token"], fingerprint(app), *extra)
    assert result.returncode == 0, result.stderr
    return agent


def device_of(admin: Browser, hostname_hint: str = "") -> dict:  # type: ignore[type-arg]
    devices = admin.get("/api/v1/devices").json()
    return max(devices, key=lambda d: d["id"])


def test_it_enrolls_checks_in_and_stores_inventory_and_metrics(world_app, admin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    token = new_token(admin, world, max_uses=1)
    assert token["install_line"].startswith(f"ninjait-agent enroll --server {app.env.get('NINJAIT_PUBLIC_URL', 'https://localhost')}")
    agent = AgentProcess(tmp_path / "a1", f"https://127.0.0.1:{app.port}")
    assert agent.enroll(token["token"], fingerprint(app)).returncode == 0
    secret = agent.state_dir / "secret"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    # The token was single-use.
    again = AgentProcess(tmp_path / "a1b", f"https://127.0.0.1:{app.port}").enroll(token["token"], fingerprint(app))
    assert again.returncode == 1 and "used up" in again.stderr
    agent.start()
    try:
        wait_until(lambda: agent.status()["last_sequence"] >= 3 and agent.status()["queued_batches"] == 0)
        device = device_of(admin)
        detail = admin.get(f"/api/v1/devices/{device['id']}").json()
        assert detail["agent_status"] == "active" and detail["last_seen_at"] >= time.time() - 30
        inv = detail["inventory"]
        assert inv["hostname"] and inv["os_name"] and inv["ram_bytes"] > 0 and inv["cpu_threads"] >= 1
        assert inv["disks"] and inv["nics"]
        assert 0 <= detail["live"]["cpu_percent"] <= 100 and detail["live"]["process_count"] > 0
        page = admin.get(f"/devices/{device['id']}")
        assert page.status_code == 200 and inv["hostname"] in page.text
    finally:
        assert agent.stop() == 0


def test_a_script_runs_end_to_end_with_output_and_exit_code(world_app, admin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    agent = enrolled(app, admin, world, tmp_path).start()
    try:
        wait_until(lambda: agent.status()["last_sequence"] >= 1)
        device = device_of(admin)
        cmd = admin.post(f"/api/v1/devices/{device['id']}/commands", json={
            "kind": "run_script", "payload": {"interpreter": "sh", "timeout": 30,
                                              "script": "echo hello from $(hostname)\necho oops >&2\nexit 3"}})
        assert cmd.status_code == 201, cmd.text
        done = wait_until(lambda: (c := admin.get(f"/api/v1/commands/{cmd.json()['id']}").json())["status"]
                          in ("failed", "succeeded") and c)
        assert done["status"] == "failed" and done["exit_code"] == 3
        assert done["stdout"].startswith("hello from ") and done["stderr"].strip() == "oops"
        assert done["delivered_at"] and done["finished_at"]
        py = admin.post(f"/api/v1/devices/{device['id']}/commands", json={
            "kind": "run_script", "payload": {"interpreter": "python", "script": "print(6 * 7)"}}).json()
        ok = wait_until(lambda: (c := admin.get(f"/api/v1/commands/{py['id']}").json())["status"] == "succeeded" and c)
        assert ok["stdout"].strip() == "42" and ok["exit_code"] == 0
        slow = admin.post(f"/api/v1/devices/{device['id']}/commands", json={
            "kind": "run_script", "payload": {"interpreter": "sh", "script": "echo start; sleep 30", "timeout": 1}}).json()
        timed = wait_until(lambda: (c := admin.get(f"/api/v1/commands/{slow['id']}").json())["status"] == "timed_out" and c)
        assert "killed after 1 s" in timed["reason"]
        history = admin.get(f"/devices/{device['id']}").text
        assert "hello from" in history and "timed_out" in history
    finally:
        agent.stop()


def test_commands_validate_and_cancel(world_app, admin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    agent = enrolled(app, admin, world, tmp_path)  # enrolled, not running: commands stay queued
    device = device_of(admin)
    base = f"/api/v1/devices/{device['id']}/commands"
    assert admin.post(base, json={"kind": "reboot", "payload": {}}).status_code == 400
    assert admin.post(base, json={"kind": "run_script", "payload": {"script": ""}}).status_code == 400
    assert admin.post(base, json={"kind": "run_script", "payload": {"script": "x", "interpreter": "perl"}}).status_code == 400
    assert admin.post(base, json={"kind": "format_disk", "payload": {}}).status_code == 400
    big = admin.post(base, json={"kind": "run_script", "payload": {"script": "x" * 300_000}})
    assert big.status_code == 400 and "larger than" in big.json()["detail"]
    queued = admin.post(base, json={"kind": "refresh_inventory"}).json()
    cancelled = admin.post(f"/api/v1/commands/{queued['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = admin.post(f"/api/v1/commands/{queued['id']}/cancel")
    assert again.status_code == 409
    agent.start()
    try:
        wait_until(lambda: agent.status()["last_sequence"] >= 2)
        assert admin.get(f"/api/v1/commands/{queued['id']}").json()["status"] == "cancelled"
    finally:
        agent.stop()


def test_no_scripts_agents_refuse_every_script(world_app, admin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    agent = enrolled(app, admin, world, tmp_path, "--no-scripts").start()
    try:
        wait_until(lambda: agent.status()["last_sequence"] >= 1)
        device = device_of(admin)
        cmd = admin.post(f"/api/v1/devices/{device['id']}/commands", json={
            "kind": "run_script", "payload": {"script": "touch /tmp/should-not-exist-ninjait"}}).json()
        refused = wait_until(lambda: (c := admin.get(f"/api/v1/commands/{cmd['id']}").json())["status"] == "refused" and c)
        assert "disabled" in refused["reason"]
        assert not Path("/tmp/should-not-exist-ninjait").exists()
        inv = admin.post(f"/api/v1/devices/{device['id']}/commands", json={"kind": "refresh_inventory"}).json()
        wait_until(lambda: admin.get(f"/api/v1/commands/{inv['id']}").json()["status"] == "succeeded")
    finally:
        agent.stop()


def test_a_revoked_agent_is_refused_and_stops(world_app, admin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    agent = enrolled(app, admin, world, tmp_path).start()
    wait_until(lambda: agent.status()["last_sequence"] >= 1)
    device = device_of(admin)
    assert admin.post(f"/api/v1/devices/{device['id']}/agent/revoke").status_code == 204
    wait_until(lambda: agent.proc is not None and agent.proc.poll() is not None, timeout=30)
    assert agent.stop() == 3
    assert "revoked or unknown" in agent.log()
    assert admin.get(f"/api/v1/devices/{device['id']}").json()["agent_status"] == "revoked"


def test_a_wrong_certificate_fingerprint_is_refused_before_sending(world_app, admin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    before = len(admin.get("/api/v1/devices").json())
    agent = AgentProcess(tmp_path / "pin", f"https://127.0.0.1:{app.port}")
    result = agent.enroll(new_token(admin, world)["token"], "AB" * 32)
    assert result.returncode == 1 and "fingerprint mismatch" in result.stderr
    assert len(admin.get("/api/v1/devices").json()) == before
    bad = agent.cli("enroll", "--server", agent.server, "--token", "x" * 20, "--fingerprint", "nothex")
    assert bad.returncode == 2 and "SHA-256" in bad.stderr


def test_secret_rotation(world_app, admin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    agent = enrolled(app, admin, world, tmp_path).start()
    try:
        wait_until(lambda: agent.status()["last_sequence"] >= 1)
        old = (agent.state_dir / "secret").read_text()
        device = device_of(admin)
        assert admin.post(f"/api/v1/devices/{device['id']}/agent/rotate").status_code == 204
        wait_until(lambda: (agent.state_dir / "secret").read_text() != old)
        seq = agent.status()["last_sequence"]
        wait_until(lambda: agent.status()["last_sequence"] >= seq + 2 and agent.status()["queued_batches"] == 0)
    finally:
        agent.stop()
    import httpx

    with app.client() as client:
        r = client.post("/agent/v1/checkin", content=b"{}", headers={"Authorization": f"Agent {agent.agent_id}:{old}"})
    assert r.status_code == 401


def test_approval_holds_new_agents_until_approved(world_app, admin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    admin.patch("/api/v1/tenant", json={"agents_need_approval": True})
    try:
        agent = enrolled(app, admin, world, tmp_path).start()
        device = device_of(admin)
        assert admin.get(f"/api/v1/devices/{device['id']}").json()["agent_status"] == "pending"
        time.sleep(3)
        assert agent.status()["queued_batches"] >= 1  # held back, nothing lost
        admin.post(f"/api/v1/devices/{device['id']}/agent/approve")
        wait_until(lambda: agent.status()["queued_batches"] == 0, timeout=60)
        assert admin.get(f"/api/v1/devices/{device['id']}").json()["last_seen_at"]
        agent.stop()
    finally:
        admin.patch("/api/v1/tenant", json={"agents_need_approval": False})


def test_reboot_needs_the_flag_and_run_as_switches_user(world_app, admin, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os

    app, world = world_app
    marker = tmp_path / "rebooted"
    agent = enrolled(app, admin, world, tmp_path, "--reboot-command", f"touch {marker}").start()
    try:
        wait_until(lambda: agent.status()["last_sequence"] >= 1)
        device = device_of(admin)
        base = f"/api/v1/devices/{device['id']}/commands"
        assert admin.post(base, json={"kind": "reboot", "payload": {"confirm": False}}).status_code == 400
        reboot = admin.post(base, json={"kind": "reboot", "payload": {"confirm": True}}).json()
        wait_until(lambda: admin.get(f"/api/v1/commands/{reboot['id']}").json()["status"] == "succeeded")
        assert marker.exists()
        if os.geteuid() == 0:
            who = admin.post(base, json={"kind": "run_script", "payload": {"script": "id -un", "run_as": "nobody"}}).json()
            done = wait_until(lambda: (c := admin.get(f"/api/v1/commands/{who['id']}").json())["status"]
                              in ("succeeded", "failed", "refused") and c)
            assert done["status"] == "succeeded" and done["stdout"].strip() == "nobody", done
    finally:
        agent.stop()

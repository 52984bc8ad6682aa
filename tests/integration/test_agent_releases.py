"""Agent builds on the appliance: `ninjait agent-release publish`, the download endpoint, rolling one out.

The agent's side of an update (with real one-file binaries) is in test_agent_update.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from ninjait_agent import wire

from tests.support.appliance import ROOT, Appliance

BUILD = b"\x7fELF" + bytes(range(256)) * 64  # looks like a Linux executable to the publisher


def publish(app: Appliance, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ninjait", "agent-release", *args], cwd=ROOT, env=app.env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def agent(world_app, admin):  # type: ignore[no-untyped-def]
    """An agent enrolled over the protocol (no process): its id, secret, device and signing key."""
    app, world = world_app
    token = admin.post("/api/v1/enrollment-tokens", json={"site_id": world.sites["a"]}).json()["token"]
    with app.client() as client:
        reply = client.post("/agent/v1/enroll", json={"token": token, "hostname": "pc-update", "platform": "linux",
                                                      "agent_version": "0.1.0"}).json()
    device = max(admin.get("/api/v1/devices").json(), key=lambda d: d["id"])
    return {**reply, "device_id": device["id"], "auth": f"Agent {reply['agent_id']}:{reply['secret']}"}


@pytest.fixture(scope="module")
def published(world_app, tmp_path_factory):  # type: ignore[no-untyped-def]
    app, _ = world_app
    source = tmp_path_factory.mktemp("build") / "ninjait-agent"
    source.write_bytes(BUILD)
    result = publish(app, "publish", "--platform", "linux", "--version", "0.2.0", str(source))
    assert result.returncode == 0, result.stderr
    return result


def test_it_publishes_a_signed_build_under_the_data_directory(world_app, agent, published) -> None:  # type: ignore[no-untyped-def]
    app, _ = world_app
    sha = hashlib.sha256(BUILD).hexdigest()
    assert published.stdout.strip() == (f"published agent 0.2.0 for linux: {len(BUILD)} bytes, sha256 {sha}, "
                                         "served at /agent/v1/updates/linux/0.2.0")
    folder = app.data_dir / "agent-releases" / "linux" / "0.2.0"
    assert (folder / "ninjait-agent").read_bytes() == BUILD
    meta = json.loads((folder / "signature.json").read_text())
    assert meta["sha256"] == sha and meta["public_key"] == agent["signing_key"]
    # The key every agent got at enrollment verifies it (raises otherwise).
    Ed25519PublicKey.from_public_bytes(base64.b64decode(agent["signing_key"])).verify(
        base64.b64decode(meta["signature"]), wire.update_signed_bytes("linux", "0.2.0", sha))
    listing = publish(app, "list")
    assert listing.returncode == 0 and listing.stdout == f"linux\t0.2.0\t{len(BUILD)}\t{sha}\n"


def test_it_refuses_to_publish_twice_or_the_wrong_thing(world_app, published, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app, _ = world_app
    good, windows = tmp_path / "good", tmp_path / "setup.exe"
    good.write_bytes(BUILD)
    windows.write_bytes(b"MZ" + bytes(100))
    again = publish(app, "publish", "--platform", "linux", "--version", "0.2.0", str(good))
    assert again.returncode == 1 and "already published" in again.stderr
    wrong = publish(app, "publish", "--platform", "linux", "--version", "0.3.0", str(windows))
    assert wrong.returncode == 1 and "is not a linux executable" in wrong.stderr
    sneaky = publish(app, "publish", "--platform", "linux", "--version", "../../keys", str(good))
    assert sneaky.returncode == 1 and "version must be" in sneaky.stderr
    missing = publish(app, "publish", "--platform", "linux", "--version", "0.3.0", str(tmp_path / "nope"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr
    assert not (app.data_dir / "agent-releases" / "linux" / "0.3.0").exists()
    assert sorted(p.name for p in (app.data_dir / "agent-releases" / "linux").iterdir()) == ["0.2.0"]


def test_it_serves_builds_to_enrolled_agents_only(world_app, agent, published) -> None:  # type: ignore[no-untyped-def]
    app, _ = world_app
    with app.client() as client:
        assert client.get("/agent/v1/updates/linux/0.2.0").status_code == 401
        wrong = f"Agent {agent['agent_id']}:nia_wrong"
        assert client.get("/agent/v1/updates/linux/0.2.0", headers={"Authorization": wrong}).status_code == 401
        ok = client.get("/agent/v1/updates/linux/0.2.0", headers={"Authorization": agent["auth"]})
        assert ok.status_code == 200 and ok.content == BUILD
        assert ok.headers["content-type"] == "application/octet-stream"
        for path in ["/agent/v1/updates/linux/0.9.9", "/agent/v1/updates/beos/0.2.0",
                     "/agent/v1/updates/linux/..%2F..%2Fkeys"]:
            assert client.get(path, headers={"Authorization": agent["auth"]}).status_code == 404, path


def test_it_rolls_out_the_latest_build_as_a_signed_command(world_app, admin, agent, published) -> None:  # type: ignore[no-untyped-def]
    app, _ = world_app
    assert [r["version"] for r in admin.get("/api/v1/agent-releases").json()] == ["0.2.0"]
    assert admin.get("/api/v1/agent-releases?platform=windows").json() == []
    base = f"/api/v1/devices/{agent['device_id']}/agent/update"
    missing = admin.post(base, json={"version": "7.7.7"})
    assert missing.status_code == 400 and "no agent 7.7.7 for linux is published" in missing.json()["detail"]
    queued = admin.post(base, json={})
    assert queued.status_code == 201, queued.text
    command = queued.json()
    meta = json.loads((app.data_dir / "agent-releases/linux/0.2.0/signature.json").read_text())
    assert command["kind"] == "update_agent" and command["status"] == "queued"
    assert command["payload"] == {"version": "0.2.0", "platform": "linux", "sha256": meta["sha256"],
                                  "signature": meta["signature"], "url": "/agent/v1/updates/linux/0.2.0"}
    # The agent gets it, signed, at its next check-in.
    with app.client() as client:
        body = wire.ENCODER.encode(wire.CheckIn(seq=1, sent_at=1.0, agent_version="0.1.0"))
        reply = wire.REPLY_DECODER.decode(client.post("/agent/v1/checkin", content=body,
                                                      headers={"Authorization": agent["auth"]}).content)
    [sent] = [c for c in reply.commands if c.id == command["uid"]]
    assert sent.kind == "update_agent" and sent.payload == command["payload"]
    assert sent.expires_at - sent.issued_at == 86400


def test_the_device_page_offers_the_published_builds(world_app, admin, agent, published) -> None:  # type: ignore[no-untyped-def]
    page = admin.get(f"/devices/{agent['device_id']}")
    assert page.status_code == 200 and 'data-testid="agent-update"' in page.text
    assert '<option value="0.2.0">0.2.0 (latest)</option>' in page.text
    done = admin.post(f"/devices/{agent['device_id']}/agent/update", data={"version": "0.2.0"})
    assert done.status_code == 303 and done.headers["location"] == f"/devices/{agent['device_id']}?msg=command-queued"
    commands = admin.get(f"/api/v1/devices/{agent['device_id']}/commands").json()
    assert commands[0]["kind"] == "update_agent" and commands[0]["payload"]["version"] == "0.2.0"
    refused = admin.post(f"/devices/{agent['device_id']}/agent/update", data={"version": "0.0.0-none"})
    assert refused.status_code == 400 and "no agent 0.0.0-none for linux is published" in refused.text

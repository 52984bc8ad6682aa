"""POST /agent/v1/checkin served in front of the framework (agents/checkin_endpoint.py): the same answers,
headers, limits and metrics as any route, and cached credentials that another process's revoke or rotation
overrides at the next check-in."""

from __future__ import annotations

import gzip
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ninjait.agents import store as agents_store
from ninjait.core.db import open_database
from ninjait.core.crypto import Keyring, load_or_create_key
from ninjait.settings import Settings
from tests.support.fake_agents import FakeAgent, enroll, sample
from tests.support.identity import Browser


@pytest.fixture(scope="module")
def gateway(world_app) -> Iterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    app, world = world_app
    admin = Browser(app).login(world.people["a-organizationadmin"])
    token = admin.post("/api/v1/enrollment-tokens", json={"site_id": world.sites["a"], "max_uses": 20,
                                                          "name": "edge"}).json()["token"]
    db = open_database(Settings(data_dir=app.data_dir, database_url=app.env.get("NINJAIT_DATABASE_URL", "")))
    with app.client() as client:
        yield {"app": app, "client": client, "token": token, "db": db, "admin": admin}
    admin.close()
    db.close()


def new_agent(gw: dict[str, Any], name: str) -> FakeAgent:
    return enroll(gw["client"], gw["token"], name)


def batches(gw: dict[str, Any], agent: FakeAgent) -> int:
    with gw["db"].read() as c:
        return c.value("SELECT count(*) FROM agent_batches b JOIN agents a ON a.id = b.agent_id WHERE a.uid = ?",
                       (agent.agent_id,))


def test_a_check_in_gets_the_same_headers_and_metrics_as_every_route(gateway) -> None:  # type: ignore[no-untyped-def]
    agent = new_agent(gateway, "edge-headers")
    r = agent.check_in(gateway["client"], metrics=[sample(time.time(), 12.0)])
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/json"
    assert r.json()["ack_seq"] == agent.seq and r.json()["interval"] > 0
    assert re.fullmatch(r"[0-9a-f]{16}", r.headers["x-request-id"])
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["strict-transport-security"].startswith("max-age=")
    again = agent.check_in(gateway["client"], metrics=[sample(time.time(), 13.0)])
    assert again.headers["x-request-id"] != r.headers["x-request-id"]
    text = gateway["client"].get("/metrics").text
    count = re.search(r'^ninjait_http_requests_total\{method="POST",route="/agent/v1/checkin",status="200"\} (\S+)',
                      text, re.M)
    assert count is not None and float(count.group(1)) >= 2
    assert batches(gateway, agent) == 2
    schema = gateway["client"].get("/api/schema/openapi.json").json()
    assert "post" in schema["paths"]["/agent/v1/checkin"]  # documented by the framework's route of the same path


def test_refusals_have_the_api_error_shape_and_store_nothing(gateway) -> None:  # type: ignore[no-untyped-def]
    client = gateway["client"]
    agent = new_agent(gateway, "edge-errors")
    missing = client.post("/agent/v1/checkin", json={"seq": 1, "sent_at": time.time(), "agent_version": "x"})
    assert missing.status_code == 401
    assert missing.json() == {"status_code": 401, "detail": "agent credentials missing or malformed"}
    wrong = client.post("/agent/v1/checkin", json={"seq": 1, "sent_at": time.time(), "agent_version": "x"},
                        headers={"Authorization": f"Agent {agent.agent_id}:nia_wrong"})
    assert wrong.status_code == 401 and wrong.json()["detail"] == "wrong agent secret"
    not_json = client.post("/agent/v1/checkin", content=b"{nope", headers=agent.auth)
    assert not_json.status_code == 400 and not_json.json()["detail"].startswith("check-in is not valid JSON")
    out_of_range = client.post("/agent/v1/checkin", headers=agent.auth, json={
        "seq": 1, "sent_at": time.time(), "agent_version": "x", "metrics": [sample(time.time(), 400.0)]})
    assert out_of_range.status_code == 400 and "cpu_percent" in out_of_range.json()["detail"]
    bad_gzip = client.post("/agent/v1/checkin", content=b"not gzip",
                           headers={**agent.auth, "Content-Encoding": "gzip"})
    assert bad_gzip.status_code == 400 and "gzip" in bad_gzip.json()["detail"]
    assert bad_gzip.headers["x-request-id"] and bad_gzip.headers["content-security-policy"]
    get = client.get("/agent/v1/checkin", headers=agent.auth)
    assert get.status_code == 405  # other methods are the framework's
    assert batches(gateway, agent) == 0
    zipped = gzip.compress(b'{"seq": 5, "sent_at": %.1f, "agent_version": "x"}' % time.time())
    ok = client.post("/agent/v1/checkin", content=zipped, headers={**agent.auth, "Content-Encoding": "gzip"})
    assert ok.status_code == 200 and ok.json()["ack_seq"] == 5


def test_bodies_over_8_mib_are_refused_announced_or_streamed(gateway) -> None:  # type: ignore[no-untyped-def]
    client = gateway["client"]
    agent = new_agent(gateway, "edge-large")
    big = b'{"seq": 1, "sent_at": 1, "agent_version": "' + b"x" * (8 * 2**20) + b'"}'
    announced = client.post("/agent/v1/checkin", content=big, headers=agent.auth)
    assert announced.status_code == 413
    assert announced.json() == {"status_code": 413, "detail": "check-in body is larger than 8 MiB"}

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds on the bytes received
        for i in range(0, len(big), 2**20):
            yield big[i:i + 2**20]

    streamed = client.post("/agent/v1/checkin", content=chunks(), headers=agent.auth)
    assert streamed.status_code == 413
    assert batches(gateway, agent) == 0
    assert agent.check_in(client).status_code == 200  # the connection and the agent are fine afterwards


def test_another_process_revoking_an_agent_stops_it_at_its_next_check_in(gateway) -> None:  # type: ignore[no-untyped-def]
    client, db = gateway["client"], gateway["db"]
    agent = new_agent(gateway, "edge-revoked")
    assert agent.check_in(client).status_code == 200  # now cached in the appliance
    db.write(lambda c: c.execute("UPDATE agents SET status = 'revoked' WHERE uid = ?", (agent.agent_id,)))
    r = agent.check_in(client, metrics=[sample(time.time(), 50.0)])
    assert r.status_code == 401 and "revoked" in r.json()["detail"]
    assert batches(gateway, agent) == 1  # the refused batch stored nothing


def test_a_secret_rotated_by_another_process_replaces_the_cached_one(gateway) -> None:  # type: ignore[no-untyped-def]
    client, db = gateway["client"], gateway["db"]
    agent = new_agent(gateway, "edge-rotated")
    assert agent.check_in(client).status_code == 200
    keyring = Keyring(load_or_create_key(gateway["app"].data_dir))
    new_secret = "rotated-elsewhere-" + "x" * 20
    with db.read() as c:
        agent_id = c.value("SELECT id FROM agents WHERE uid = ?", (agent.agent_id,))
    db.write(lambda c: agents_store.set_agent_secret(c, agent_id, keyring.mac(new_secret, purpose="agent-secret"), 0))
    old = agent.check_in(client)
    assert old.status_code == 401 and old.json()["detail"] == "wrong agent secret"
    agent.secret = "nia_" + new_secret
    assert agent.check_in(client).status_code == 200
    assert batches(gateway, agent) == 2


def test_an_agent_put_on_hold_and_approved_by_another_process(gateway) -> None:  # type: ignore[no-untyped-def]
    client, db = gateway["client"], gateway["db"]
    agent = new_agent(gateway, "edge-pending")
    assert agent.check_in(client).status_code == 200  # cached as active
    db.write(lambda c: c.execute("UPDATE agents SET status = 'pending' WHERE uid = ?", (agent.agent_id,)))
    held = agent.check_in(client)
    assert held.status_code == 403 and "approval" in held.json()["detail"]
    db.write(lambda c: c.execute("UPDATE agents SET status = 'active' WHERE uid = ?", (agent.agent_id,)))
    assert agent.check_in(client).status_code == 200
    assert batches(gateway, agent) == 2

"""Checks through the real appliance: the REST API, pages, simulated agents through the real gateway,
the evaluator's own loop, tenant isolation and organization limits."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from ninjait_agent import wire

from tests.support.agent import wait_until
from tests.support.appliance import Appliance
from tests.support.fake_agents import FakeAgent, check_report, enroll, sample
from tests.support.identity import Browser


APPLIANCE_ENV = {"NINJAIT_CHECK_EVALUATE_SECONDS": "1"}  # the evaluator's loop, quicker than by default


@pytest.fixture(scope="module")
def people(world_app) -> Iterator[dict[str, Browser]]:  # type: ignore[no-untyped-def]
    app, world = world_app
    browsers = {key: Browser(app).login(world.people[key]) for key in
                ("a-organizationadmin", "a-technician", "a-helpdesk", "a-readonly", "a-billingmanager", "a-limited",
                 "b-organizationadmin")}
    yield browsers
    for b in browsers.values():
        b.close()


@pytest.fixture(scope="module")
def agent(world_app, people) -> FakeAgent:  # type: ignore[no-untyped-def]
    app, world = world_app
    token = people["a-organizationadmin"].post("/api/v1/enrollment-tokens", json={"site_id": world.sites["a"]}).json()
    with app.client() as client:
        return enroll(client, token["token"], "checked-pc")


def device_id(people: dict[str, Browser], hostname: str) -> int:
    return next(d["id"] for d in people["a-organizationadmin"].get("/api/v1/devices").json() if d["hostname"] == hostname)


def new_check(browser: Browser, **body: Any) -> dict[str, Any]:
    r = browser.post("/api/v1/checks", json={"severity": "critical", "scope_kind": "tenant", **body})
    assert r.status_code == 201, r.text
    return r.json()


def device_check(people: dict[str, Browser], device: int, check_id: int) -> dict[str, Any]:
    rows = people["a-organizationadmin"].get(f"/api/v1/devices/{device}/checks").json()
    return next(c for c in rows if c["id"] == check_id)


def test_it_creates_lists_edits_and_deletes_a_check(people, world_app) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    tech = people["a-technician"]
    check = new_check(tech, name="Web server disk", kind="disk", scope_kind="organization",
                      scope_id=world.orgs["a"], params={"mount": "/var", "min_free_percent": 15})
    assert check["organization_id"] == world.orgs["a"] and check["run_from"] == "appliance"
    assert check["params"] == {"mount": "/var", "min_free_percent": 15.0}
    assert check["description"] == "/var keeps at least 15 % free"
    listed = tech.get("/api/v1/checks", params={"scope_kind": "organization", "scope_id": world.orgs["a"]}).json()
    assert [c["id"] for c in listed] == [check["id"]]
    assert check["id"] not in {c["id"] for c in tech.get("/api/v1/checks", params={"scope_kind": "site"}).json()}
    edited = tech.patch(f"/api/v1/checks/{check['id']}", json={"params": {"mount": "/var", "min_free_gb": 5},
                                                                "enabled": False, "fail_after": 3})
    assert edited.status_code == 200, edited.text
    assert edited.json()["params"] == {"mount": "/var", "min_free_gb": 5.0} and edited.json()["enabled"] is False
    assert edited.json()["fail_after"] == 3
    assert tech.delete(f"/api/v1/checks/{check['id']}").status_code == 204
    assert tech.get(f"/api/v1/checks/{check['id']}").status_code == 404
    audit = people["a-organizationadmin"].get("/api/v1/audit", params={"object_type": "check"}).json()
    assert {"check.created", "check.updated", "check.deleted"} <= {e["action"] for e in audit}


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"kind": "cpu", "params": {"threshold": 120}}, "threshold", "from 0 to 100"),
    ({"kind": "cpu", "params": {}}, "threshold", "threshold"),
    ({"kind": "metric", "params": {"metric": "coffee", "threshold": 1}}, "metric", "metric must be one of"),
    ({"kind": "disk", "params": {"mount": "/"}}, "min_free_percent", "min_free_percent or min_free_gb"),
    ({"kind": "tcp", "params": {"host": "db", "port": 70000}}, "port", "1 to 65535"),
    ({"kind": "tcp", "params": {"host": "bad host;", "port": 22}}, "host", "host name or an IP"),
    ({"kind": "http", "params": {"url": "ftp://x"}}, "url", "http:// or https://"),
    ({"kind": "script", "params": {"script": "exit 0", "interpreter": "cobol"}}, "interpreter", "interpreter"),
    ({"kind": "script", "params": {"script": "exit 0", "warn_codes": [0]}}, "warn_codes", "1 to 255"),
    ({"kind": "process", "params": {"name": "nginx"}, "run_from": "appliance"}, "run_from", "runs from agent"),
    ({"kind": "ping", "params": {"host": "10.0.0.1"}, "interval_seconds": 30}, "interval_seconds", "once a minute"),
    ({"kind": "cpu", "params": {"threshold": 5}, "scope_kind": "site"}, "scope_id", "needs scope_id"),
    ({"kind": "cpu", "params": {"threshold": 5}, "scope_id": 3}, "scope_id", "no scope_id"),
    ({"kind": "cpu", "params": {"threshold": 5}, "exclude_device_ids": [999999]}, "exclude_device_ids", "not found"),
])
def test_bad_input_is_refused_naming_the_field(people, body, field, words) -> None:  # type: ignore[no-untyped-def]
    r = people["a-organizationadmin"].post("/api/v1/checks", json={"name": "x", "scope_kind": "tenant", **body})
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field and words in r.json()["detail"], r.json()


def test_unknown_fields_and_kinds_are_refused(people) -> None:  # type: ignore[no-untyped-def]
    admin = people["a-organizationadmin"]
    r = admin.post("/api/v1/checks", json={"name": "x", "kind": "telepathy", "scope_kind": "tenant"})
    assert r.status_code == 400 and "kind" in r.text
    r = admin.post("/api/v1/checks", json={"name": "x", "kind": "cpu", "scope_kind": "tenant", "colour": "red",
                                           "params": {"threshold": 5}})
    assert r.status_code == 400 and "colour" in r.text
    check = new_check(admin, name="cpu", kind="cpu", params={"threshold": 50})
    r = admin.patch(f"/api/v1/checks/{check['id']}", json={"params": {"threshold": -1}})
    assert r.status_code == 400 and r.json()["field"] == "threshold"
    assert admin.get(f"/api/v1/checks/{check['id']}").json()["params"]["threshold"] == 50  # nothing half-written
    admin.delete(f"/api/v1/checks/{check['id']}")


def test_samples_through_the_gateway_fail_and_recover_a_check(world_app, people, agent) -> None:  # type: ignore[no-untyped-def]
    app, _ = world_app
    admin = people["a-organizationadmin"]
    with app.client() as client:
        assert agent.check_in(client, metrics=[sample(time.time(), 10)]).status_code == 200
        device = device_id(people, "checked-pc")
        check = new_check(admin, name="Hot CPU", kind="cpu", scope_kind="device", scope_id=device,
                          params={"threshold": 80})
        assert agent.check_in(client, metrics=[sample(time.time(), 20)]).status_code == 200
        wait_until(lambda: device_check(people, device, check["id"])["state"] == "passing")
        assert agent.check_in(client, metrics=[sample(time.time(), 97.5)]).status_code == 200
        failing = wait_until(lambda: (c := device_check(people, device, check["id"]))["state"] == "failing" and c)
        assert failing["last_value"] == 97.5 and failing["last_run_at"]
        agent.check_in(client, metrics=[sample(time.time(), 15)])
        wait_until(lambda: device_check(people, device, check["id"])["state"] == "passing")
    history = admin.get(f"/api/v1/checks/{check['id']}/results", params={"device_id": device}).json()
    assert [r["state"] for r in history][:3] == ["passing", "failing", "passing"]
    audit = admin.get("/api/v1/audit", params={"action": "check.failed"}).json()
    failed = [e["summary"] for e in audit if e["summary"].get("check_id") == check["id"]]
    assert failed and failed[0]["device_id"] == device and failed[0]["severity"] == "critical"
    assert failed[0]["check_name"] == "Hot CPU" and failed[0]["state"] == "failing" and failed[0]["value"] == 97.5
    admin.delete(f"/api/v1/checks/{check['id']}")


def test_the_check_in_answer_carries_agent_checks_once_with_signed_scripts(world_app, people, agent) -> None:  # type: ignore[no-untyped-def]
    app, world = world_app
    admin = people["a-organizationadmin"]
    proc = new_check(admin, name="nginx", kind="process", scope_kind="site", scope_id=world.sites["a"],
                     params={"name": "nginx"}, interval_seconds=60)
    script = new_check(admin, name="backup ran", kind="script", params={"script": "test -f /tmp/ok", "warn_codes": [2]})
    web = new_check(admin, name="intranet", kind="http", run_from="agent", params={"url": "http://intranet.local/"})
    appliance_side = new_check(admin, name="router", kind="ping", params={"host": "127.0.0.1"})
    device = device_id(people, "checked-pc")
    with app.client() as client:
        old = agent.check_in(client)  # an agent without checks support is never sent any
        assert old.status_code == 200 and "checks" not in old.json()
        first = wire.REPLY_DECODER.decode(agent.check_in(client, checks_version="none").content)
        assert first.checks is not None
        specs = {s.id: s for s in first.checks.checks}
        assert set(specs) == {proc["id"], script["id"], web["id"]}  # the appliance's ping is not the agent's
        assert specs[proc["id"]].params == {"name": "nginx", "min_count": 1} and specs[proc["id"]].interval == 60
        cmd = specs[script["id"]].command
        assert cmd is not None and cmd.kind == "run_script" and cmd.payload["script"] == "test -f /tmp/ok"
        assert specs[script["id"]].params == {"warn_codes": [2]}  # the script itself only in the signed part
        key = base64.b64decode(_signing_key(app))
        Ed25519PublicKey.from_public_bytes(key).verify(base64.b64decode(cmd.signature), wire.signed_bytes(cmd))
        again = agent.check_in(client, checks_version=first.checks.version)
        assert "checks" not in again.json()  # unchanged: not sent again
        admin.patch(f"/api/v1/checks/{proc['id']}", json={"exclude_device_ids": [device]})
        changed = wire.REPLY_DECODER.decode(agent.check_in(client, checks_version=first.checks.version).content)
        assert changed.checks is not None and proc["id"] not in {s.id for s in changed.checks.checks}
        r = agent.check_in(client, checks_version=changed.checks.version, check_results=[
            check_report(script["id"], "warn", value=2, message="exit 2"),
            check_report(web["id"], "fail", message="http://intranet.local/ answered 500, expected 200")])
        assert r.status_code == 200
    wait_until(lambda: device_check(people, device, script["id"])["state"] == "warning")
    assert device_check(people, device, web["id"])["state"] == "failing"
    for c in (proc, script, web, appliance_side):
        admin.delete(f"/api/v1/checks/{c['id']}")


def _signing_key(app: Appliance) -> str:
    from ninjait.agents import signing

    return signing.load_or_create(app.data_dir).public_key_b64


def test_malformed_check_results_are_refused_at_the_gateway(world_app, agent) -> None:  # type: ignore[no-untyped-def]
    app, _ = world_app
    with app.client() as client:
        r = agent.check_in(client, check_results=[{"check_id": 1, "ts": time.time(), "status": "splendid"}])
        assert r.status_code == 400 and "status" in r.text
        r = agent.check_in(client, check_results=[check_report(1, "pass")] * 1001)
        assert r.status_code == 400


# --- access -----------------------------------------------------------------------------------------------

def test_another_tenant_cannot_reach_checks(world_app, people, agent) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    admin, intruder = people["a-organizationadmin"], people["b-organizationadmin"]
    check = new_check(admin, name="secret", kind="cpu", params={"threshold": 50})
    device = device_id(people, "checked-pc")
    for method, path, body in [
        ("GET", f"/api/v1/checks/{check['id']}", None), ("PATCH", f"/api/v1/checks/{check['id']}", {"name": "x"}),
        ("DELETE", f"/api/v1/checks/{check['id']}", None), ("GET", f"/api/v1/checks/{check['id']}/results", None),
        ("GET", f"/api/v1/devices/{device}/checks", None), ("GET", f"/checks/{check['id']}", None),
        ("POST", f"/checks/{check['id']}/delete", None), ("GET", f"/checks/{check['id']}/results", None),
        ("GET", f"/devices/{device}/checks", None),
        ("PUT", f"/api/v1/checks/{check['id']}/exclusions/{device}", None),
        ("DELETE", f"/api/v1/checks/{check['id']}/exclusions/{device}", None),
        ("POST", f"/devices/{device}/checks/{check['id']}/exclude", None),
    ]:
        r = intruder.request(method, path, **({"json": body} if body else {}))
        assert r.status_code == 404, (method, path, r.status_code)
    assert all(c["id"] != check["id"] for c in intruder.get("/api/v1/checks").json())
    # Scopes and exclusions of another tenant are not found either.
    for body in ({"scope_kind": "organization", "scope_id": world.orgs["a"]},
                 {"scope_kind": "site", "scope_id": world.sites["a"]},
                 {"scope_kind": "device", "scope_id": device},
                 {"scope_kind": "tenant", "exclude_device_ids": [device]}):
        r = intruder.post("/api/v1/checks", json={"name": "x", "kind": "cpu", "params": {"threshold": 5}, **body})
        assert r.status_code in (400, 404), r.text
        assert r.status_code == 404 or r.json()["field"] == "exclude_device_ids"
    assert admin.get(f"/api/v1/checks/{check['id']}").json()["name"] == "secret"
    admin.delete(f"/api/v1/checks/{check['id']}")


def test_organization_limited_technicians_see_and_change_only_their_organizations(world_app, people) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    admin, limited = people["a-organizationadmin"], people["a-limited"]
    tenant_wide = new_check(admin, name="everyone", kind="cpu", params={"threshold": 90})
    other = new_check(admin, name="other org", kind="cpu", scope_kind="organization", scope_id=world.orgs["a-other"],
                      params={"threshold": 90})
    ids = {c["id"] for c in limited.get("/api/v1/checks").json()}
    assert tenant_wide["id"] in ids and other["id"] not in ids
    assert limited.get(f"/api/v1/checks/{other['id']}").status_code == 404
    assert limited.patch(f"/api/v1/checks/{tenant_wide['id']}", json={"name": "mine"}).status_code == 403
    r = limited.post("/api/v1/checks", json={"name": "x", "kind": "cpu", "scope_kind": "tenant",
                                             "params": {"threshold": 5}})
    assert r.status_code == 403
    own = limited.post("/api/v1/checks", json={"name": "mine", "kind": "cpu", "scope_kind": "organization",
                                               "scope_id": world.orgs["a"], "params": {"threshold": 5}})
    assert own.status_code == 201, own.text
    r = limited.post("/api/v1/checks", json={"name": "x", "kind": "cpu", "scope_kind": "organization",
                                             "scope_id": world.orgs["a-other"], "params": {"threshold": 5}})
    assert r.status_code == 404
    for c in (tenant_wide, other, own.json()):
        admin.delete(f"/api/v1/checks/{c['id']}")


@pytest.mark.parametrize(("who", "read", "write"), [
    ("a-technician", 200, 201), ("a-helpdesk", 200, 403), ("a-readonly", 200, 403), ("a-billingmanager", 403, 403)])
def test_built_in_roles(people, who, read, write) -> None:  # type: ignore[no-untyped-def]
    browser = people[who]
    assert browser.get("/api/v1/checks").status_code == read
    r = browser.post("/api/v1/checks", json={"name": "x", "kind": "cpu", "scope_kind": "tenant",
                                             "params": {"threshold": 5}})
    assert r.status_code == write, r.text
    if write == 201:
        people["a-organizationadmin"].delete(f"/api/v1/checks/{r.json()['id']}")


# --- pages ---------------------------------------------------------------------------------------------

def test_the_checks_page_form_and_device_card(world_app, people, agent) -> None:  # type: ignore[no-untyped-def]
    _, world = world_app
    tech = people["a-technician"]
    assert 'href="/checks"' in tech.get("/").text
    form = tech.get("/checks/new", params={"kind": "tcp"})
    assert form.status_code == 200 and 'name="p_port"' in form.text
    fields = {"kind": "tcp", "name": "Database port", "scope": f"organization:{world.orgs['a']}", "p_host": "db.local",
              "p_port": "99999", "p_timeout": "5", "run_from": "agent", "severity": "critical", "interval_seconds": "60",
              "fail_after": "2", "recover_after": "1", "enabled": "on", "exclude": "", "_csrf": tech.csrf}
    bad = tech.post("/checks", data=fields)
    assert bad.status_code == 400 and "port must be a whole number from 1 to 65535" in bad.text
    assert 'data-testid="field-error"' in bad.text and 'value="db.local"' in bad.text  # what was typed stays
    good = tech.post("/checks", data={**fields, "p_port": "5432"})
    assert good.status_code == 303, good.text
    listing = tech.get("/checks")
    assert "Database port" in listing.text and "TCP db.local:5432" in listing.text
    check = next(c for c in tech.get("/api/v1/checks").json() if c["name"] == "Database port")
    assert check["run_from"] == "agent" and check["fail_after"] == 2
    edit = tech.get(f"/checks/{check['id']}")
    assert edit.status_code == 200 and 'value="5432"' in edit.text
    saved = tech.post(f"/checks/{check['id']}", data={**fields, "p_port": "6432", "name": "DB port"})
    assert saved.status_code == 303
    assert tech.get(f"/api/v1/checks/{check['id']}").json()["params"]["port"] == 6432
    device = device_id(people, "checked-pc")
    assert 'hx-get="/devices/{}/checks"'.format(device) in tech.get(f"/devices/{device}").text
    card = tech.get(f"/devices/{device}/checks")
    assert card.status_code == 200 and "DB port" in card.text and f"/checks/{check['id']}/results?device_id={device}" in card.text
    assert tech.get(f"/checks/{check['id']}/results").status_code == 200
    assert tech.post(f"/checks/{check['id']}/delete", data={"_csrf": tech.csrf}).status_code == 303
    assert tech.get(f"/api/v1/checks/{check['id']}").status_code == 404


def test_a_read_only_user_sees_the_form_without_save(world_app, people) -> None:  # type: ignore[no-untyped-def]
    check = new_check(people["a-organizationadmin"], name="look only", kind="cpu", params={"threshold": 90})
    page = people["a-readonly"].get(f"/checks/{check['id']}")
    assert page.status_code == 200 and "You may read this check, not change it." in page.text
    assert "Delete this check" not in page.text
    people["a-organizationadmin"].delete(f"/api/v1/checks/{check['id']}")


def test_a_device_is_taken_out_of_an_inherited_check_and_back(world_app, people, agent) -> None:  # type: ignore[no-untyped-def]
    admin = people["a-organizationadmin"]
    check = new_check(admin, name="inherited", kind="memory", params={"threshold": 95})
    device = device_id(people, "checked-pc")
    assert any(c["id"] == check["id"] for c in admin.get(f"/api/v1/devices/{device}/checks").json())
    r = admin.request("PUT", f"/api/v1/checks/{check['id']}/exclusions/{device}")
    assert r.status_code == 200 and r.json()["exclude_device_ids"] == [device]
    assert all(c["id"] != check["id"] for c in admin.get(f"/api/v1/devices/{device}/checks").json())
    r = admin.delete(f"/api/v1/checks/{check['id']}/exclusions/{device}")
    assert r.status_code == 200 and r.json()["exclude_device_ids"] == []
    card = people["a-technician"].get(f"/devices/{device}/checks").text
    assert f"/devices/{device}/checks/{check['id']}/exclude" in card
    assert "Exclude this device" not in people["a-readonly"].get(f"/devices/{device}/checks").text
    r = people["a-technician"].post(f"/devices/{device}/checks/{check['id']}/exclude",
                                    data={"_csrf": people["a-technician"].csrf})
    assert r.status_code == 303
    assert admin.get(f"/api/v1/checks/{check['id']}").json()["exclude_device_ids"] == [device]
    admin.delete(f"/api/v1/checks/{check['id']}")

"""Alerts from device status and check events: lifecycle, dedup, escalation, flapping, scoping, events."""

from __future__ import annotations

import time
from typing import Any

import pytest

from ninjait.alerts import service
from ninjait.core import runtime as rt_mod
from ninjait.core.errors import Conflict, Invalid, NotFound
from ninjait.identity.principal import Actor, Principal
from ninjait.monitoring import service as monitoring
from ninjait.settings import Settings
from tests.support import alert_world

TECH = Actor(user_id=None, email="tech@msp.test")


@pytest.fixture
def rt(settings: Settings):  # type: ignore[no-untyped-def]
    runtime = alert_world.start(settings)
    events: list[Any] = []
    runtime.bus.subscribe("alert.*", events.append)
    runtime.alert_events = events  # type: ignore[attr-defined]
    yield runtime
    rt_mod.stop()


device, admin = alert_world.device, alert_world.admin


def limited(org: int) -> Principal:
    perms = frozenset({"alerts.read", "alerts.write"})
    return Principal(user_id=0, tenant_id=1, email="l", name="l", is_super_admin=False, everywhere=frozenset(),
                     per_org={org: perms})


def open_alerts(rt, p: Principal | None = None) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return service.list_alerts(rt, p or admin())[0]


def test_a_device_going_dark_raises_one_alert_that_escalates_and_clears_itself(rt) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    pc = device(rt, "pc-1", last_seen=now - 100)
    monitoring.evaluate_statuses(rt, now)  # 100 s without a check-in at a 30 s interval: overdue
    [alert] = open_alerts(rt)
    assert (alert["severity"], alert["state"], alert["device_id"], alert["title"]) == (
        "warning", "triggered", pc, "pc-1 missed its check-ins")
    assert alert["device_hostname"] == "pc-1" and alert["organization_name"] == "Acme"
    monitoring.evaluate_statuses(rt, now + 400)  # past the 5-minute offline threshold: the same alert, critical
    [alert] = open_alerts(rt)
    assert (alert["severity"], alert["occurrences"], alert["title"]) == ("critical", 2, "pc-1 is offline")
    assert [e.name for e in rt.alert_events] == ["alert.triggered", "alert.escalated"]
    assert service.open_count(rt, admin()) == 1

    # The agent checks in again: the device is online, the alert resolves itself.
    rt.bus.emit("device.status_changed", 1, None, object_type="device", object_id=pc,
                summary={"hostname": "pc-1", "from": "offline", "to": "online"})
    assert open_alerts(rt) == []
    [resolved] = service.list_alerts(rt, admin(), state="resolved")[0]
    assert resolved["resolution_note"] == "the device checked in again" and resolved["resolved_by"] is None
    detail = service.get_alert(rt, admin(), resolved["id"])
    assert [t["kind"] for t in detail["transitions"]] == ["triggered", "escalated", "resolved"]
    assert rt.alert_events[-1].name == "alert.resolved" and rt.alert_events[-1].data["summary"]["auto"] is True


def test_a_condition_that_keeps_coming_back_is_flapping(rt) -> None:  # type: ignore[no-untyped-def]
    pc = device(rt, "flappy")
    for n in range(service.FLAP_COUNT + 1):
        rt.bus.emit("device.status_changed", 1, None, object_type="device", object_id=pc,
                    summary={"from": "online", "to": "offline"})
        [alert] = open_alerts(rt)
        assert alert["flapping"] is (n >= service.FLAP_COUNT), n
        rt.bus.emit("device.status_changed", 1, None, object_type="device", object_id=pc,
                    summary={"from": "offline", "to": "online"})
    assert len(service.list_alerts(rt, admin(), state="resolved")[0]) == service.FLAP_COUNT + 1


def test_check_events_raise_and_clear_alerts_at_the_checks_severity(rt) -> None:  # type: ignore[no-untyped-def]
    pc = device(rt, "srv-1")
    failed = {"tenant_id": 1, "device_id": pc, "organization_id": 1, "check_id": 42, "name": "Disk C: free",
              "kind": "disk_free", "severity": "critical", "state": "failing", "message": "3 % free"}
    rt.bus.emit("check.failed", 1, None, object_type="check", object_id=42, summary=failed)
    rt.bus.emit("check.failed", 1, None, object_type="check", object_id=42, summary=failed)  # repeats fold in
    [alert] = open_alerts(rt)
    assert (alert["title"], alert["severity"], alert["occurrences"], alert["message"], alert["rule"]) == (
        "Disk C: free failed on srv-1", "critical", 2, "3 % free", "check:42")
    rt.bus.emit("check.recovered", 1, None, object_type="check", object_id=42, summary={**failed, "state": "passing"})
    assert open_alerts(rt) == []


def test_people_acknowledge_and_resolve_with_notes_in_their_scope(rt) -> None:  # type: ignore[no-untyped-def]
    acme, globex, other = device(rt, "acme-pc"), device(rt, "globex-pc", site=2), device(rt, "other-pc", site=3)
    for pc, tenant in ((acme, 1), (globex, 1), (other, 2)):
        rt.bus.emit("device.status_changed", tenant, None, object_type="device", object_id=pc,
                    summary={"from": "online", "to": "offline"})
    ids = {a["device_hostname"]: a["id"] for a in open_alerts(rt)}
    assert set(ids) == {"acme-pc", "globex-pc"}  # tenant 2's alert is not tenant 1's business
    assert [a["device_hostname"] for a in open_alerts(rt, admin(2))] == ["other-pc"]
    acme_tech = limited(1)
    assert [a["device_hostname"] for a in open_alerts(rt, acme_tech)] == ["acme-pc"]
    assert service.open_count(rt, acme_tech) == 1
    with pytest.raises(NotFound):
        service.get_alert(rt, acme_tech, ids["globex-pc"])
    with pytest.raises(NotFound):
        service.acknowledge(rt, acme_tech, TECH, ids["globex-pc"])
    with pytest.raises(NotFound):
        service.get_alert(rt, admin(2), ids["acme-pc"])

    acked = service.acknowledge(rt, acme_tech, TECH, ids["acme-pc"], "on it")
    assert acked["state"] == "acknowledged" and acked["acknowledged_at"]
    assert service.open_count(rt, acme_tech) == 0  # the counter counts what nobody has taken yet
    with pytest.raises(Conflict):
        service.acknowledge(rt, acme_tech, TECH, ids["acme-pc"])
    done = service.resolve(rt, acme_tech, TECH, ids["acme-pc"], "replaced the PSU")
    assert done["state"] == "resolved" and done["resolution_note"] == "replaced the PSU"
    with pytest.raises(Conflict):
        service.resolve(rt, acme_tech, TECH, ids["acme-pc"])
    history = service.get_alert(rt, acme_tech, ids["acme-pc"])["transitions"]
    assert [(t["kind"], t["actor"], t["note"]) for t in history] == [
        ("triggered", "", ""), ("acknowledged", "tech@msp.test", "on it"), ("resolved", "tech@msp.test",
                                                                            "replaced the PSU")]
    names = [e.name for e in rt.alert_events if e.data["object_id"] == ids["acme-pc"]]
    assert names == ["alert.triggered", "alert.acknowledged", "alert.resolved"]

    result = service.bulk(rt, acme_tech, TECH, [ids["globex-pc"], ids["acme-pc"]], "resolve", "bulk")
    assert result["done"] == [] and {r["id"] for r in result["refused"]} == {ids["globex-pc"], ids["acme-pc"]}
    result = service.bulk(rt, admin(), TECH, [ids["globex-pc"]], "acknowledge")
    assert result == {"done": [ids["globex-pc"]], "refused": []}


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"state": "closed"}, "state"), ({"severity": "huge"}, "severity"), ({"max_age_hours": 0}, "max_age_hours"),
    ({"per_page": 501}, "per_page"), ({"page": 0}, "per_page"),
])
def test_bad_filters_are_refused_with_the_field(rt, kwargs: dict[str, Any], field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid) as caught:
        service.list_alerts(rt, admin(), **kwargs)
    assert caught.value.field == field


def test_deleting_a_check_or_excluding_a_device_resolves_its_alerts(rt) -> None:  # type: ignore[no-untyped-def]
    a, b = device(rt, "a"), device(rt, "b", site=2)
    for pc in (a, b):
        rt.bus.emit("check.failed", 1, None, object_type="check", object_id=5,
                    summary={"device_id": pc, "check_id": 5, "check_name": "Disk", "severity": "warning"})
    assert len(open_alerts(rt)) == 2
    rt.bus.emit("check.device_excluded", 1, None, object_type="check", object_id=5, summary={"device_id": a})
    [left] = open_alerts(rt)
    assert left["device_id"] == b and left["title"] == "Disk failed on b"
    rt.bus.emit("check.deleted", 1, None, object_type="check", object_id=5, summary={"name": "Disk"})
    assert open_alerts(rt) == []
    notes = {r["resolution_note"] for r in service.list_alerts(rt, admin(), state="resolved")[0]}
    assert notes == {"the device was excluded from the check", "the check was deleted"}


def test_an_event_rule_turns_a_chosen_domain_event_into_an_alert_and_its_clear_event_resolves_it(rt) -> None:  # type: ignore[no-untyped-def]
    from ninjait.alerts import event_rules

    pc = device(rt, "kiosk")
    rule = event_rules.create_rule(rt, admin(), TECH, {"name": "Agent revoked", "event": "agent.revoked",
                                                       "clear_event": "agent.approved", "severity": "critical"})
    rt.bus.emit("agent.revoked", 1, None, object_type="device", object_id=pc, summary={"by": "someone"})
    rt.bus.emit("agent.revoked", 2, None, object_type="device", object_id=pc)  # another tenant: no rule there
    [alert] = open_alerts(rt)
    assert (alert["title"], alert["severity"], alert["rule"], alert["device_id"]) == (
        "Agent revoked on kiosk", "critical", f"event:{rule['id']}", pc)
    assert open_alerts(rt, admin(2)) == []
    rt.bus.emit("agent.approved", 1, None, object_type="device", object_id=pc)
    assert open_alerts(rt) == []
    for bad, field in (({"event": "alert.triggered"}, "event"), ({"event": "nonsense"}, "event"),
                       ({"event": "agent.revoked", "severity": "meh"}, "severity")):
        with pytest.raises(Invalid) as caught:
            event_rules.create_rule(rt, admin(), TECH, {"name": "bad", **bad})
        assert caught.value.field == field
    event_rules.delete_rule(rt, admin(), TECH, rule["id"])
    rt.bus.emit("agent.revoked", 1, None, object_type="device", object_id=pc)
    assert open_alerts(rt) == []

"""Notification channels end to end in the test process, against real receivers on loopback: an SMTP server
and an HTTP server that checks each service's documented body and the webhook signature. The clock of
retries and reminders is passed in, never slept."""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any

import pytest

from ninjait.alerts import channels, service
from ninjait.core import runtime as rt_mod
from ninjait.core.errors import Forbidden, Invalid, NotFound
from ninjait.identity.principal import Actor, Principal
from ninjait.integrations.plugins import signature
from ninjait.settings import Settings
from tests.support import alert_world
from tests.support.receiver import Receiver
from tests.support.smtp import Mailbox

ME = Actor(user_id=None, email="admin@msp.test")
admin, device, goes = alert_world.admin, alert_world.device, alert_world.goes


@pytest.fixture
def receiver():  # type: ignore[no-untyped-def]
    with Receiver() as r:
        yield r


@pytest.fixture
def mailbox():  # type: ignore[no-untyped-def]
    with Mailbox() as m:
        yield m


@pytest.fixture
def rt(settings: Settings, mailbox: Mailbox):  # type: ignore[no-untyped-def]
    runtime = alert_world.start(settings.replace(smtp_host="127.0.0.1", smtp_port=mailbox.port, smtp_security="none",
                                                 smtp_from="alerts@msp.test",
                                                 notify_private_networks=True))  # the receivers are on loopback
    yield runtime
    rt_mod.stop()


def channel(rt, kind: str, settings: dict[str, str], **rules: Any) -> int:  # type: ignore[no-untyped-def]
    made = channels.create_channel(rt, admin(), ME, {"name": f"{kind}-{len(channels.list_channels(rt, admin()))}",
                                                      "kind": kind, "settings": settings, **rules})
    return int(made["id"])


def send_due(rt, now: float | None = None) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    return [d for i in channels.due(rt, now) if (d := channels.deliver(rt, i, now)) is not None]


def test_every_built_in_channel_delivers_its_documented_shape(rt, receiver, mailbox) -> None:  # type: ignore[no-untyped-def]
    pc = device(rt, "srv-db")
    channel(rt, "webhook", {"url": f"{receiver.url}/hook", "secret": "s3cret-signing-key"})
    channel(rt, "slack", {"url": f"{receiver.url}/slack"})
    channel(rt, "teams", {"url": f"{receiver.url}/teams"})
    channel(rt, "discord", {"url": f"{receiver.url}/discord"})
    channel(rt, "pagerduty", {"routing_key": "R0UT1NGKEY", "events_url": f"{receiver.url}/pd"})
    channel(rt, "ntfy", {"server": receiver.url, "topic": "msp-alerts", "token": "tk_secret"})
    channel(rt, "email", {"to": "oncall@msp.test, boss@msp.test"})
    goes(rt, pc, "offline")
    sent = send_due(rt)
    assert len(sent) == 7 and {d["status"] for d in sent} == {"sent"}

    [hook] = receiver.at("/hook")
    stamp = hook.headers["x-ninjait-timestamp"]
    assert hook.headers["x-ninjait-signature"] == signature("s3cret-signing-key", stamp, hook.body)
    assert abs(int(stamp) - time.time()) < 60
    payload = hook.json()
    assert payload["type"] == "alert.triggered" and payload["alert"]["title"] == "srv-db is offline"
    assert payload["alert"]["severity"] == "critical" and payload["alert"]["url"].endswith(
        f"/alerts/{payload['alert']['alert_id']}")

    slack = receiver.at("/slack")[0].json()
    assert slack["text"].startswith("[CRITICAL] srv-db is offline") and slack["blocks"][0]["type"] == "section"
    teams = receiver.at("/teams")[0].json()
    assert teams["type"] == "message"
    card = teams["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive" and card["content"]["type"] == "AdaptiveCard"
    discord = receiver.at("/discord")[0].json()
    assert discord["content"] == "[CRITICAL] srv-db is offline" and discord["embeds"][0]["color"] == 0xD63939
    pd = receiver.at("/pd")[0].json()
    assert (pd["routing_key"], pd["event_action"]) == ("R0UT1NGKEY", "trigger")
    assert pd["payload"]["severity"] == "critical" and pd["payload"]["source"] == "srv-db"
    assert pd["dedup_key"].startswith("ninjait-1-device.unreachable")
    ntfy = receiver.at("/msp-alerts")[0]
    assert ntfy.headers["priority"] == "urgent" and ntfy.headers["authorization"] == "Bearer tk_secret"
    assert ntfy.headers["title"] == "[CRITICAL] srv-db is offline" and b"offline" in ntfy.body
    mail = mailbox.wait_for(lambda m: "srv-db is offline" in m["Subject"])
    assert mail["To"] == "oncall@msp.test, boss@msp.test" and mail["From"] == "alerts@msp.test"
    assert mail.get_body(("html",)) is not None and mail.get_body(("plain",)) is not None

    # Resolution goes to the same channels; PagerDuty resolves by the same dedup key.
    goes(rt, pc, "online", before="offline")
    assert len(send_due(rt)) == 7
    resolve = receiver.at("/pd")[1].json()
    assert resolve["event_action"] == "resolve" and resolve["dedup_key"] == pd["dedup_key"]
    assert receiver.at("/hook")[1].json()["type"] == "alert.resolved"


def test_rules_choose_channels_and_reminders_follow_until_acknowledged(rt, receiver) -> None:  # type: ignore[no-untyped-def]
    pc = device(rt, "ws-7")
    loud = channel(rt, "webhook", {"url": f"{receiver.url}/loud", "secret": "k" * 16}, min_severity="info",
                   renotify_minutes=30, notify_resolved=False)
    critical_only = channel(rt, "webhook", {"url": f"{receiver.url}/crit", "secret": "k" * 16},
                            min_severity="critical")
    channel(rt, "webhook", {"url": f"{receiver.url}/off", "secret": "k" * 16}, enabled=False, min_severity="info")
    start = time.time() + 2  # just after the deliveries are made (their times are whole seconds)
    goes(rt, pc, "overdue")  # warning
    send_due(rt, start)
    assert [r.path for r in receiver.received] == ["/loud"]
    goes(rt, pc, "offline", before="overdue")  # escalates to critical: now the critical-only channel hears of it
    send_due(rt, start)
    assert [r.path for r in receiver.received] == ["/loud", "/crit"]

    from ninjait.alerts import notify

    assert notify.reminders(rt, start + 29 * 60) == []
    assert len(notify.reminders(rt, start + 31 * 60)) == 1  # only the channel that asked for reminders
    send_due(rt, start + 31 * 60)
    assert receiver.received[-1].path == "/loud" and receiver.received[-1].json()["type"] == "alert.reminder"
    [alert] = service.list_alerts(rt, admin())[0]
    service.acknowledge(rt, admin(), ME, alert["id"])
    assert notify.reminders(rt, start + 120 * 60) == []  # acknowledged: no more reminders
    goes(rt, pc, "online", before="offline")
    send_due(rt, start + 121 * 60)
    assert [r.path for r in receiver.received][-1] == "/crit"  # the loud one does not want resolutions
    assert [d["event"] for d in channels.deliveries(rt, admin(), critical_only)] == ["resolved", "triggered"]
    assert [d["event"] for d in channels.deliveries(rt, admin(), loud)] == ["reminder", "triggered"]


def test_retries_back_off_and_give_up_and_permanent_errors_stop_at_once(rt, receiver) -> None:  # type: ignore[no-untyped-def]
    pc = device(rt, "nas")
    flaky = channel(rt, "slack", {"url": f"{receiver.url}/flaky"})
    now = time.time() + 2
    receiver.answers.extend([503, 429])
    goes(rt, pc, "offline")
    [first] = send_due(rt, now)
    assert (first["status"], first["attempts"], first["response_code"]) == ("queued", 1, 503)
    assert send_due(rt, now + 10) == []  # backing off
    [second] = send_due(rt, now + channels.BACKOFF_SECONDS[0])
    assert (second["status"], second["attempts"]) == ("queued", 2)
    [third] = send_due(rt, now + 1000)
    assert (third["status"], third["attempts"], third["response_code"]) == ("sent", 3, 200)

    receiver.answers.extend([500] * channels.MAX_ATTEMPTS)
    goes(rt, pc, "online", before="offline")
    at = now + 2000
    for _ in range(channels.MAX_ATTEMPTS):
        [outcome] = send_due(rt, at)
        at += 3600
    assert outcome["status"] == "failed" and outcome["attempts"] == channels.MAX_ATTEMPTS
    assert send_due(rt, at + 86400) == []  # given up: never again

    dead = channel(rt, "discord", {"url": f"{receiver.url}/gone"})
    receiver.answers_for["/gone"] = deque([404])
    other = device(rt, "pc-x")
    goes(rt, other, "offline")
    outcomes = {d["id"]: d for d in send_due(rt, at)}
    [gone] = [d for d in channels.deliveries(rt, admin(), dead) if d["id"] in outcomes]
    assert (gone["status"], gone["attempts"], gone["response_code"]) == ("failed", 1, 404)
    assert "answered 404" in gone["last_error"]
    assert [d["status"] for d in channels.deliveries(rt, admin(), flaky)][:2] == ["sent", "failed"]


def test_channel_settings_are_checked_secrets_sealed_and_tenant_scoped(rt, receiver) -> None:  # type: ignore[no-untyped-def]
    made = channel(rt, "webhook", {"url": f"{receiver.url}/x", "secret": "do-not-store-me-in-clear"})
    with rt.db.read() as c:
        row = c.one("SELECT config, secrets FROM notification_channels WHERE id = ?", (made,))
    assert "do-not-store-me-in-clear" not in json.dumps(row) and json.loads(row["config"]) == {"url": f"{receiver.url}/x"}
    shown = channels.get_channel(rt, admin(), made)
    assert shown["secrets_set"] is True and "secret" not in shown["config"]
    # Editing without retyping the secret keeps it: the test still signs.
    channels.update_channel(rt, admin(), ME, made, {"settings": {"url": f"{receiver.url}/y", "secret": ""}})
    assert channels.send_test(rt, admin(), ME, made)["status"] == "sent"
    sent = receiver.at("/y")[0]
    assert sent.headers["x-ninjait-signature"] == signature("do-not-store-me-in-clear",
                                                            sent.headers["x-ninjait-timestamp"], sent.body)
    assert sent.json()["type"] == "alert.test"

    for data, field in (({"kind": "carrier-pigeon"}, "kind"), ({"kind": "slack", "settings": {}}, "url"),
                        ({"kind": "slack", "settings": {"url": "ftp://x"}}, "url"),
                        ({"kind": "email", "settings": {"to": "not-an-address"}}, "to"),
                        ({"kind": "slack", "settings": {"url": "https://x", "colour": "red"}}, "colour"),
                        ({"kind": "slack", "settings": {"url": "https://x"}, "min_severity": "meh"}, "min_severity"),
                        ({"kind": "slack", "settings": {"url": "https://x"}, "renotify_minutes": -1}, "renotify_minutes")):
        with pytest.raises(Invalid) as caught:
            channels.create_channel(rt, admin(), ME, {"name": "bad", **data})
        assert caught.value.field == field, data
    assert len(channels.list_channels(rt, admin())) == 1  # nothing half-made

    with pytest.raises(NotFound):
        channels.get_channel(rt, admin(2), made)
    with pytest.raises(NotFound):
        channels.send_test(rt, admin(2), ME, made)
    assert channels.list_channels(rt, admin(2)) == []
    acme_only = Principal(user_id=0, tenant_id=1, email="t", name="t", is_super_admin=False, everywhere=frozenset(),
                          per_org={1: frozenset({"alerts.read", "alerts.write"})})
    with pytest.raises(Forbidden):
        channels.delete_channel(rt, acme_only, ME, made)


def test_a_maintenance_window_marks_alerts_and_holds_notifications_back(rt, receiver) -> None:  # type: ignore[no-untyped-def]
    from ninjait.alerts import maintenance

    acme_pc, globex_pc = device(rt, "acme-pc"), device(rt, "globex-pc", site=2)
    channel(rt, "slack", {"url": f"{receiver.url}/slack"})
    now = int(time.time())
    window = maintenance.create_window(rt, admin(), ME, {"name": "Acme patch night", "scope": "organization",
                                                         "scope_id": 1, "starts_at": now - 60, "ends_at": now + 3600})
    assert window["open_now"] is True
    goes(rt, acme_pc, "offline")
    goes(rt, globex_pc, "offline")
    alerts = {a["device_hostname"]: a for a in service.list_alerts(rt, admin())[0]}
    assert alerts["acme-pc"]["in_maintenance"] is True and alerts["globex-pc"]["in_maintenance"] is False
    history = service.get_alert(rt, admin(), alerts["acme-pc"]["id"])["transitions"]
    assert "during maintenance (Acme patch night)" in history[0]["note"]
    send_due(rt)
    assert [r.json()["text"] for r in receiver.at("/slack")] == ["[CRITICAL] globex-pc is offline: status online → offline"]
    goes(rt, acme_pc, "online", before="offline")  # its resolution is not sent either: nobody heard of it
    send_due(rt)
    assert len(receiver.at("/slack")) == 1

    for bad, field in (({"scope": "planet"}, "scope"), ({"scope": "organization"}, "scope_id"),
                       ({"scope": "organization", "scope_id": 3}, "scope_id"),  # another tenant's organization
                       ({"scope": "tenant", "ends_at": None}, "ends_at"),
                       ({"scope": "tenant", "weekdays": [7]}, "weekdays"),
                       ({"scope": "tenant", "weekdays": [1], "minute_of_day": 1440, "duration_minutes": 60},
                        "minute_of_day")):
        with pytest.raises(Invalid) as caught:
            maintenance.create_window(rt, admin(), ME, {"name": "x", "starts_at": now, "ends_at": now + 60, **bad})
        assert caught.value.field == field, bad
    assert len(maintenance.list_windows(rt, admin())) == 1 and maintenance.list_windows(rt, admin(2)) == []
    with pytest.raises(NotFound):
        maintenance.delete_window(rt, admin(2), ME, window["id"])
    maintenance.delete_window(rt, admin(), ME, window["id"])
    assert maintenance.list_windows(rt, admin()) == []


def test_escalation_steps_fire_in_order_until_acknowledged_and_on_call_rotates(rt, receiver, mailbox) -> None:  # type: ignore[no-untyped-def]
    from ninjait.alerts import escalation

    users = rt.db.write(lambda c: [c.value(
        "INSERT INTO users (tenant_id, email, name, password_hash, created_at, updated_at) VALUES (1, ?, ?, 'x', 0, 0) "
        "RETURNING id",
        (f"{n}@msp.test", n)) for n in ("ann", "bob")])
    start = int(time.time()) - 60
    rotation = escalation.create_rotation(rt, admin(), ME, "Weekly", users, start - escalation.WEEK)  # bob's week
    assert rotation["on_call_user_id"] == users[1]
    first = channel(rt, "slack", {"url": f"{receiver.url}/first"}, enabled=False)  # only through the policy
    policy = escalation.create_policy(rt, admin(), ME, {"name": "Critical", "min_severity": "critical",
                                                         "ack_target_minutes": 10, "steps": [
        {"after_minutes": 0, "channel_id": first}, {"after_minutes": 5, "rotation_id": rotation["id"]},
        {"after_minutes": 15, "user_id": users[0]}]})
    assert [list(s)[1] for s in policy["steps"]] == ["channel_id", "rotation_id", "user_id"]

    pc = device(rt, "core-sw")
    goes(rt, pc, "offline")
    [alert] = service.list_alerts(rt, admin())[0]
    t0 = alert["first_at"]
    sent = escalation.advance(rt, t0)
    assert len(sent) == 1 and send_due(rt, t0 + 1)[0]["status"] == "sent"
    assert receiver.at("/first")[0].json()["text"].startswith("[CRITICAL] core-sw is offline")
    assert escalation.advance(rt, t0 + 4 * 60) == []  # the next step is at 5 minutes
    assert len(escalation.advance(rt, t0 + 5 * 60)) == 1
    send_due(rt, t0 + 5 * 60 + 1)
    assert mailbox.wait_for(lambda m: m["To"] == "bob@msp.test")["Subject"].endswith("core-sw is offline")
    report = escalation.ack_report(rt, admin(), service.get_alert(rt, admin(), alert["id"]))
    assert report[0]["policy"] == "Critical" and report[0]["acknowledged"] is False

    service.acknowledge(rt, admin(), ME, alert["id"], "bob here")
    assert escalation.advance(rt, t0 + 60 * 60) == []  # acknowledged: ann is never woken
    assert not any(m["To"] == "ann@msp.test" for m in mailbox.messages)

    for bad in ({"steps": []}, {"steps": [{"after_minutes": 0}]},
                {"steps": [{"after_minutes": 5, "user_id": users[0]}, {"after_minutes": 1, "user_id": users[1]}]},
                {"steps": [{"after_minutes": 0, "channel_id": 999999}]}, {"min_severity": "loud"},
                {"ack_target_minutes": 0}):
        with pytest.raises(Invalid):
            escalation.create_policy(rt, admin(), ME, {"name": "bad", "steps": [{"after_minutes": 0, "user_id": users[0]}],
                                                       **bad})
    with pytest.raises(Invalid):
        escalation.create_rotation(rt, admin(), ME, "Nobody", [users[0], users[0]], start)
    with pytest.raises(NotFound):
        escalation.get_policy(rt, admin(2), policy["id"])
    assert escalation.list_rotations(rt, admin(2)) == []


def test_the_on_call_user_changes_every_week() -> None:
    from ninjait.alerts.escalation import WEEK, on_call

    rotation = {"user_ids": "[11, 22, 33]", "starts_at": 1_000_000}
    assert [on_call(rotation, 1_000_000 + k * WEEK + 5) for k in range(4)] == [11, 22, 33, 11]
    assert on_call(rotation, 10) == 11  # before the first hand-over: the first in turn


def test_an_action_queues_a_signed_script_on_the_alerts_device(rt) -> None:  # type: ignore[no-untyped-def]
    from ninjait.agents import service as agents
    from ninjait.alerts import actions

    pc = device(rt, "print-srv")
    rt.db.write(lambda c: c.execute(
        "INSERT INTO agents (tenant_id, device_id, uid, secret_hash, status, created_at) "
        "VALUES (1, ?, 'agent-uid-1', 'x', 'active', 0)", (pc,)))
    actions.create_action(rt, admin(), ME, {"name": "Restart spooler", "rule": "check:7", "on_event": "triggered",
                                            "interpreter": "sh", "script": "systemctl restart cups",
                                            "timeout_seconds": 60})
    actions.create_action(rt, admin(), ME, {"name": "Other rule", "rule": "check:8", "on_event": "triggered",
                                            "interpreter": "sh", "script": "true"})
    rt.bus.emit("check.failed", 1, None, object_type="check", object_id=7,
                summary={"device_id": pc, "check_id": 7, "name": "CUPS running", "severity": "warning"})
    [alert] = service.list_alerts(rt, admin())[0]
    [command] = agents.list_commands(rt, admin(), pc)
    assert command["kind"] == "run_script" and command["payload"]["script"] == "systemctl restart cups"
    assert command["status"] == "queued" and command["payload"]["timeout"] == 60
    history = service.get_alert(rt, admin(), alert["id"])["transitions"]
    assert history[-1]["kind"] == "action" and f"queued command {command['id']}" in history[-1]["note"]

    for bad, field in (({"on_event": "sometimes"}, "on_event"), ({"interpreter": "cobol"}, "interpreter"),
                       ({"script": ""}, "script"), ({"timeout_seconds": 0}, "timeout")):
        with pytest.raises(Invalid) as caught:
            actions.create_action(rt, admin(), ME, {"name": "bad", "on_event": "triggered", "interpreter": "sh",
                                                    "script": "true", **bad})
        assert caught.value.field == field, bad
    limited = Principal(user_id=0, tenant_id=1, email="t", name="t", is_super_admin=False, everywhere=frozenset(),
                        per_org={1: frozenset({"alerts.write", "devices.write"})})
    with pytest.raises(Forbidden):
        actions.create_action(rt, limited, ME, {"name": "x", "on_event": "triggered", "interpreter": "sh",
                                                "script": "true"})
    assert actions.list_actions(rt, admin(2)) == []


def test_the_same_rule_on_many_devices_is_one_incident_and_one_message(rt, receiver) -> None:  # type: ignore[no-untyped-def]
    from ninjait.alerts import incidents

    channel(rt, "slack", {"url": f"{receiver.url}/slack"})
    pcs = [device(rt, f"branch-pc-{i}") for i in range(4)]
    elsewhere = device(rt, "globex-pc", site=2)
    for pc in pcs + [elsewhere]:
        goes(rt, pc, "offline")
    send_due(rt)
    texts = [r.json()["text"] for r in receiver.at("/slack")]
    assert len(texts) == 2 and any("branch-pc-0" in t for t in texts) and any("globex-pc" in t for t in texts)
    [incident] = incidents.list_incidents(rt, admin())
    assert incident["devices"] == 4 and incident["open"] is True and incident["rule"] == "device.unreachable"
    assert [a["device_hostname"] for a in incident["alerts"]] == [f"branch-pc-{i}" for i in range(4)]
    alerts = {a["device_hostname"]: a for a in service.list_alerts(rt, admin())[0]}
    assert alerts["globex-pc"]["incident_id"] is None  # another organization: not the same incident
    assert incidents.list_incidents(rt, admin(2)) == []
    with pytest.raises(NotFound):
        incidents.get_incident(rt, admin(2), incident["id"])
    for pc in pcs:
        goes(rt, pc, "online", before="offline")
    assert incidents.get_incident(rt, admin(), incident["id"])["open"] is False
    members, total = service.list_alerts(rt, admin(), state="all", incident_id=incident["id"])
    assert total == 4 and {a["incident_id"] for a in members} == {incident["id"]}
    send_due(rt)
    resolved = [r.json()["text"] for r in receiver.at("/slack")[2:]]
    assert len(resolved) == 1 and "branch-pc-0" in resolved[0]  # the resolution of the one that was sent


def test_quiet_hours_hold_back_all_but_critical_alerts_until_they_end(rt, receiver) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    minute = int(now) % 86400 // 60
    # Quiet from an hour ago until an hour from now (wrapping midnight when it must).
    quiet = channel(rt, "slack", {"url": f"{receiver.url}/quiet"}, min_severity="info",
                    quiet_from=(minute - 60) % 1440, quiet_to=(minute + 60) % 1440)
    warn, crit = device(rt, "ws-1"), device(rt, "srv-1", site=2)  # two organizations: two incidents
    goes(rt, warn, "overdue")  # warning: waits
    goes(rt, crit, "offline")  # critical: goes now
    send_due(rt, now + 1)
    assert [r.json()["text"].split(":")[0] for r in receiver.at("/quiet")] == ["[CRITICAL] srv-1 is offline"]
    waiting = [d for d in channels.deliveries(rt, admin(), quiet) if d["status"] == "queued"]
    assert len(waiting) == 1 and 3500 <= waiting[0]["next_attempt_at"] - now <= 3660
    send_due(rt, now + 3700)
    assert len(receiver.at("/quiet")) == 2 and "ws-1" in receiver.at("/quiet")[1].json()["text"]
    with pytest.raises(Invalid):
        channel(rt, "slack", {"url": f"{receiver.url}/x"}, quiet_from=600)  # both or neither


def test_quiet_hours_may_span_midnight() -> None:
    day = 1_800_000_000 - 1_800_000_000 % 86400
    assert channels.quiet_until(22 * 60, 7 * 60, day + 23 * 3600) == day + 86400 + 7 * 3600
    assert channels.quiet_until(22 * 60, 7 * 60, day + 3 * 3600) == day + 7 * 3600
    assert channels.quiet_until(22 * 60, 7 * 60, day + 12 * 3600) is None
    assert channels.quiet_until(None, None, day) is None


def test_a_channel_can_serve_chosen_customers_only(rt, receiver) -> None:  # type: ignore[no-untyped-def]
    acme_only = channel(rt, "slack", {"url": f"{receiver.url}/acme"}, organization_ids=[1])
    channel(rt, "slack", {"url": f"{receiver.url}/all"})
    goes(rt, device(rt, "acme-pc"), "offline")
    goes(rt, device(rt, "globex-pc", site=2), "offline")
    send_due(rt)
    assert [r.json()["text"].split(" is ")[0] for r in receiver.at("/acme")] == ["[CRITICAL] acme-pc"]
    assert len(receiver.at("/all")) == 2
    assert channels.get_channel(rt, admin(), acme_only)["organization_ids"] == [1]
    with pytest.raises(Invalid) as caught:  # another tenant's organization
        channel(rt, "slack", {"url": f"{receiver.url}/x"}, organization_ids=[3])
    assert caught.value.field == "organization_ids"


def test_a_channel_can_serve_a_device_group_only(rt, receiver) -> None:  # type: ignore[no-untyped-def]
    from ninjait.devices import groups

    srv, laptop = device(rt, "srv-db"), device(rt, "laptop", site=2)
    servers = groups.create_group(rt, admin(), ME, "Servers", "dynamic",
                                  {"all": [{"field": "hostname", "op": "contains", "value": "srv"}]})
    channel(rt, "slack", {"url": f"{receiver.url}/servers"}, group_ids=[servers["id"]])
    goes(rt, srv, "offline")
    goes(rt, laptop, "offline")
    send_due(rt)
    assert [r.json()["text"].split(" is ")[0] for r in receiver.at("/servers")] == ["[CRITICAL] srv-db"]
    with pytest.raises(Invalid) as caught:
        channel(rt, "slack", {"url": f"{receiver.url}/x"}, group_ids=[999999])
    assert caught.value.field == "group_ids"



def test_channels_cannot_reach_internal_addresses_unless_allowed(rt, receiver) -> None:  # type: ignore[no-untyped-def]
    internal = channel(rt, "slack", {"url": f"{receiver.url}/internal"})
    metadata = channel(rt, "webhook", {"url": "http://169.254.169.254/latest/meta-data/", "secret": "k" * 16})
    rt.settings = rt.settings.replace(notify_private_networks=False)
    refused = channels.send_test(rt, admin(), ME, internal)
    assert refused["status"] == "failed" and "private address 127.0.0.1" in refused["last_error"]
    assert receiver.received == []  # nothing left the appliance
    rt.settings = rt.settings.replace(notify_private_networks=True)
    assert channels.send_test(rt, admin(), ME, internal)["status"] == "sent"
    never = channels.send_test(rt, admin(), ME, metadata)  # link-local: refused whatever the setting
    assert never["status"] == "failed" and "never go to" in never["last_error"]

"""Ticket SLA warnings and breaches reach the notification channels that ask for them, through the same outbox
as alerts, against a real HTTP receiver and SMTP server on loopback; the SLA clock is passed in."""

from __future__ import annotations

import pytest

from ninjait.alerts import channels
from ninjait.core import runtime as rt_mod
from ninjait.identity.principal import Actor
from ninjait.settings import Settings
from ninjait.tickets import service, sla_policies
from tests.support import alert_world
from tests.support.receiver import Receiver
from tests.support.smtp import Mailbox

ME = Actor(user_id=None, email="admin@msp.test")
admin = alert_world.admin


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
                                                 smtp_from="desk@msp.test", notify_private_networks=True))
    yield runtime
    rt_mod.stop()


def _channel(rt, name: str, url: str, **rules: object) -> int:  # type: ignore[no-untyped-def]
    return int(channels.create_channel(rt, admin(), ME, {"name": name, "kind": "slack", "settings": {"url": url},
                                                         **rules})["id"])


def test_sla_warnings_and_breaches_go_to_the_channels_that_want_them(rt, receiver, mailbox) -> None:  # type: ignore[no-untyped-def]
    _channel(rt, "desk", f"{receiver.url}/desk", notify_ticket_sla=True, min_severity="warning")
    _channel(rt, "breaches", f"{receiver.url}/breaches", notify_ticket_sla=True, min_severity="critical")
    _channel(rt, "globex", f"{receiver.url}/globex", notify_ticket_sla=True, organization_ids=[2])
    _channel(rt, "alerts only", f"{receiver.url}/alerts")
    cal = sla_policies.create_calendar(rt, admin(), ME, {"name": "24x7", "always_open": True})
    sla_policies.create_policy(rt, admin(), ME, {"name": "Default", "calendar_id": cal["id"], "warn_percent": 50,
                                                "targets": {"P1": {"resolution": 3600}}})
    tech = rt.db.write(lambda c: c.value(
        "INSERT INTO users (tenant_id, email, name, password_hash, created_at, updated_at) "
        "VALUES (1, 'tech@msp.test', 'Tech', 'x', 0, 0) RETURNING id"))
    ticket = service.create_ticket(rt, admin(), ME, {"subject": "Mail server down", "organization_id": 1,
                                                    "priority": "P1", "assignee_id": tech})
    start = ticket["created_at"]

    assert sla_policies.advance(rt, now=start + 2000) == [("ticket.sla_warning", ticket["id"])]
    for delivery_id in channels.due(rt, start + 2000):
        channels.deliver(rt, delivery_id, start + 2000)
    [warning] = receiver.at("/desk")
    assert "[WARNING] SLA warning: " + ticket["number"] in warning.json()["text"]
    assert f"/tickets/{ticket['id']}" in warning.body.decode()
    assert receiver.at("/breaches") == [] and receiver.at("/globex") == [] and receiver.at("/alerts") == []
    assert mailbox.messages == []  # the assignee hears of breaches only

    assert sla_policies.advance(rt, now=start + 4000) == [("ticket.sla_breached", ticket["id"])]
    for delivery_id in channels.due(rt, start + 4000):
        channels.deliver(rt, delivery_id, start + 4000)
    assert len(receiver.at("/desk")) == 2 and len(receiver.at("/breaches")) == 1
    assert "SLA breached" in receiver.at("/breaches")[0].json()["text"]
    assert receiver.at("/globex") == [] and receiver.at("/alerts") == []  # another customer's channel; alerts only
    mail = mailbox.wait_for(lambda m: "tech@msp.test" in m["To"])
    assert "SLA breached" in mail["Subject"] and len(mailbox.messages) == 1
    assert sla_policies.advance(rt, now=start + 5000) == []  # told once


def test_another_tenants_channels_never_hear_of_a_ticket(rt, receiver) -> None:  # type: ignore[no-untyped-def]
    channels.create_channel(rt, admin(2), ME, {"name": "u", "kind": "slack", "settings": {"url": f"{receiver.url}/u"},
                                               "notify_ticket_sla": True})
    cal = sla_policies.create_calendar(rt, admin(), ME, {"name": "24x7", "always_open": True})
    sla_policies.create_policy(rt, admin(), ME, {"name": "Default", "calendar_id": cal["id"],
                                                "targets": {"P2": {"first_response": 60}}})
    ticket = service.create_ticket(rt, admin(), ME, {"subject": "x", "organization_id": 1, "priority": "P2"})
    assert sla_policies.advance(rt, now=ticket["created_at"] + 120) == [("ticket.sla_breached", ticket["id"])]
    for delivery_id in channels.due(rt, ticket["created_at"] + 120):
        channels.deliver(rt, delivery_id, ticket["created_at"] + 120)
    assert receiver.at("/u") == []

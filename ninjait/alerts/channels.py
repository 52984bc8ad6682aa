"""Notification channels: a tenant's configured plugins (settings, secrets encrypted at rest, routing
rules), the delivery outbox, and sending one delivery with retries and back-off.

Routing per channel: alerts of at least ``min_severity``; resolutions too when ``notify_resolved``;
flapping alerts only when ``notify_flapping``; a reminder every ``renotify_minutes`` while nobody has
acknowledged the alert (0: never).
"""

from __future__ import annotations

import json
import logging
import time
from functools import cache
from pathlib import Path
from typing import Any

import httpx

from ninjait.alerts import service
from ninjait.core import mail
from ninjait.core.errors import Conflict, Invalid, NotFound
from ninjait.core.runtime import Runtime
from ninjait.identity.principal import Actor, Principal
from ninjait.integrations import plugins
from ninjait.integrations.plugins import Channel, Context, Message, TransportError
from ninjait.paths import PLUGINS

log = logging.getLogger("ninjait.notifications")
SEVERITIES = ("info", "warning", "critical")
MAX_ATTEMPTS = 6
BACKOFF_SECONDS = (30, 60, 300, 900, 3600)  # after attempts 1..5
SECRET_PURPOSE = "notification-channel"
HTTP_TIMEOUT = 10.0
LEASE_SECONDS = 120  # longer than any one attempt takes (HTTP and SMTP time out sooner)


@cache
def _catalogue(plugins_dir: str) -> dict[str, Channel]:
    return plugins.load_channels(Path(plugins_dir))


def catalogue(rt: Runtime) -> dict[str, Channel]:
    """The channel kinds the loaded plugins provide (loaded once per process)."""
    return _catalogue(str(rt.settings.plugins_dir or PLUGINS))


def _validate(rt: Runtime, kind: str, values: dict[str, str], old_secrets: dict[str, str]) -> tuple[
        dict[str, str], dict[str, str]]:
    channel = catalogue(rt).get(kind)
    if channel is None:
        raise Invalid(f"unknown channel kind {kind!r}; known: {', '.join(sorted(catalogue(rt)))}", field="kind")
    unknown = set(values) - {f.name for f in channel.fields}
    if unknown:
        raise Invalid(f"{kind} has no setting {sorted(unknown)[0]!r}", field=sorted(unknown)[0])
    config, secrets = {}, {}
    for f in channel.fields:
        value = str(values.get(f.name, "") or "").strip()[:2000]
        if f.secret and not value:
            value = old_secrets.get(f.name, "")  # left blank on an edit: keep what is stored
        if not value:
            value = f.default
        if f.required and not value:
            raise Invalid(f"{f.label} is required", field=f.name)
        if value and f.kind == "url" and not value.startswith(("https://", "http://")):
            raise Invalid(f"{f.label} must be an http(s):// URL", field=f.name)
        if value and f.kind == "emails" and not all("@" in a.strip() for a in value.split(",") if a.strip()):
            raise Invalid(f"{f.label} must be e-mail addresses separated by commas", field=f.name)
        (secrets if f.secret else config)[f.name] = value
    return config, secrets


def _seal(rt: Runtime, tenant_id: int, secrets: dict[str, str]) -> str:
    return rt.keyring.encrypt(json.dumps(secrets).encode(), purpose=SECRET_PURPOSE, context=f"tenant:{tenant_id}")


def _unseal(rt: Runtime, tenant_id: int, sealed: str) -> dict[str, str]:
    if not sealed:
        return {}
    return json.loads(rt.keyring.decrypt(sealed, purpose=SECRET_PURPOSE, context=f"tenant:{tenant_id}"))


def _out(row: dict[str, Any]) -> dict[str, Any]:
    sealed = row.pop("secrets", "")
    return {**row, "config": json.loads(row["config"] or "{}"), "secrets_set": bool(sealed),
            "organization_ids": json.loads(row.get("organization_ids") or "[]"),
            "group_ids": json.loads(row.get("group_ids") or "[]"),
            "notify_resolved": bool(row["notify_resolved"]), "notify_flapping": bool(row["notify_flapping"]),
            "notify_ticket_sla": bool(row["notify_ticket_sla"]),
            "enabled": bool(row["enabled"])}


COLUMNS = ("id, tenant_id, name, kind, config, secrets, min_severity, notify_resolved, notify_flapping, "
           "notify_ticket_sla, renotify_minutes, organization_ids, group_ids, quiet_from, quiet_to, enabled, created_at")


def _rules(data: dict[str, Any]) -> dict[str, Any]:
    severity = data.get("min_severity", "warning")
    if severity not in SEVERITIES:
        raise Invalid(f"min_severity must be one of {', '.join(SEVERITIES)}", field="min_severity")
    renotify = data.get("renotify_minutes", 0)
    if not isinstance(renotify, int) or not 0 <= renotify <= 10080:
        raise Invalid("renotify_minutes must be 0 (never) to 10080 (a week)", field="renotify_minutes")
    name = str(data.get("name", "")).strip()
    if not 1 <= len(name) <= 100:
        raise Invalid("name must be 1 to 100 characters", field="name")
    quiet = (data.get("quiet_from"), data.get("quiet_to"))
    if (quiet[0] is None) != (quiet[1] is None) or any(
            q is not None and (not isinstance(q, int) or not 0 <= q < 1440) for q in quiet):
        raise Invalid("quiet_from and quiet_to are minutes of the day (0-1439, UTC), both or neither",
                      field="quiet_from")
    chosen = {}
    for key, what in (("organization_ids", "organization"), ("group_ids", "device group")):
        ids = data.get(key) or []
        if isinstance(ids, str):
            ids = json.loads(ids)
        if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids) or len(ids) > 500:
            raise Invalid(f"{key} is a list of {what} ids (empty: all)", field=key)
        chosen[key] = json.dumps(sorted(set(ids)))
    return {"name": name, "min_severity": severity, "quiet_from": quiet[0], "quiet_to": quiet[1], **chosen, "notify_resolved": int(bool(data.get("notify_resolved", True))),
            "notify_flapping": int(bool(data.get("notify_flapping", False))), "renotify_minutes": renotify,
            "notify_ticket_sla": int(bool(data.get("notify_ticket_sla", False))),
            "enabled": int(bool(data.get("enabled", True)))}


def _check_organizations(c: Any, tenant_id: int, rules: dict[str, Any]) -> None:
    for key, table in (("organization_ids", "organizations"), ("group_ids", "device_groups")):
        wanted = json.loads(rules[key])
        if wanted and len(c.all(f"SELECT id FROM {table} WHERE tenant_id = ? AND id IN "
                                f"({', '.join('?' for _ in wanted)})", (tenant_id, *wanted))) != len(wanted):
            raise Invalid(f"{key} names one that is not this tenant's", field=key)


def _require_admin(p: Principal) -> None:
    service.require_tenant_wide(p, "notification channels")


def create_channel(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    _require_admin(p)
    rules = _rules(data)
    kind = str(data.get("kind", ""))
    config, secrets = _validate(rt, kind, dict(data.get("settings") or {}), {})
    now = int(time.time())

    def write(c: Any) -> int:
        _check_organizations(c, p.tenant_id, rules)
        if c.value("SELECT 1 FROM notification_channels WHERE tenant_id = ? AND name = ?", (p.tenant_id, rules["name"])):
            raise Conflict(f"a channel named {rules['name']!r} exists", field="name")
        return int(c.value(
            "INSERT INTO notification_channels (tenant_id, name, kind, config, secrets, min_severity, notify_resolved, "
            "notify_flapping, notify_ticket_sla, renotify_minutes, organization_ids, group_ids, quiet_from, quiet_to, "
            "enabled, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (p.tenant_id, rules["name"], kind, json.dumps(config), _seal(rt, p.tenant_id, secrets),
             rules["min_severity"], rules["notify_resolved"], rules["notify_flapping"], rules["notify_ticket_sla"],
             rules["renotify_minutes"],
             rules["organization_ids"], rules["group_ids"], rules["quiet_from"], rules["quiet_to"], rules["enabled"],
             now)))

    channel_id = rt.db.write(write)
    rt.bus.emit("notification_channel.created", p.tenant_id, actor.as_dict(), object_type="notification_channel",
                object_id=channel_id, summary={"name": rules["name"], "kind": kind})
    return get_channel(rt, p, channel_id)


def _row(c: Any, tenant_id: int, channel_id: int) -> dict[str, Any]:
    row = c.one(f"SELECT {COLUMNS} FROM notification_channels WHERE tenant_id = ? AND id = ?", (tenant_id, channel_id))
    if row is None:
        raise NotFound("notification channel not found")
    return row


def get_channel(rt: Runtime, p: Principal, channel_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        return _out(_row(c, p.tenant_id, channel_id))


def list_channels(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        rows = c.all(f"SELECT {COLUMNS} FROM notification_channels WHERE tenant_id = ? ORDER BY name", (p.tenant_id,))
    return [_out(r) for r in rows]


def update_channel(rt: Runtime, p: Principal, actor: Actor, channel_id: int, data: dict[str, Any]) -> dict[str, Any]:
    _require_admin(p)
    with rt.db.read() as c:
        current = _row(c, p.tenant_id, channel_id)
    rules = _rules({**_out(dict(current)), **data})
    config, secrets = _validate(rt, current["kind"], dict(data.get("settings") or json.loads(current["config"])),
                                _unseal(rt, p.tenant_id, current["secrets"]))

    def write(c: Any) -> None:
        _check_organizations(c, p.tenant_id, rules)
        clash = c.value("SELECT id FROM notification_channels WHERE tenant_id = ? AND name = ? AND id <> ?",
                        (p.tenant_id, rules["name"], channel_id))
        if clash:
            raise Conflict(f"a channel named {rules['name']!r} exists", field="name")
        c.execute("UPDATE notification_channels SET name = ?, config = ?, secrets = ?, min_severity = ?, "
                  "notify_resolved = ?, notify_flapping = ?, notify_ticket_sla = ?, renotify_minutes = ?, "
                  "organization_ids = ?, group_ids = ?, quiet_from = ?, quiet_to = ?, enabled = ? "
                  "WHERE tenant_id = ? AND id = ?",
                  (rules["name"], json.dumps(config), _seal(rt, p.tenant_id, secrets), rules["min_severity"],
                   rules["notify_resolved"], rules["notify_flapping"], rules["notify_ticket_sla"],
                   rules["renotify_minutes"],
                   rules["organization_ids"], rules["group_ids"], rules["quiet_from"], rules["quiet_to"],
                   rules["enabled"], p.tenant_id, channel_id))

    rt.db.write(write)
    rt.bus.emit("notification_channel.updated", p.tenant_id, actor.as_dict(), object_type="notification_channel",
                object_id=channel_id, summary={"name": rules["name"]})
    return get_channel(rt, p, channel_id)


def delete_channel(rt: Runtime, p: Principal, actor: Actor, channel_id: int) -> None:
    _require_admin(p)
    with rt.db.read() as c:
        current = _row(c, p.tenant_id, channel_id)
    rt.db.write(lambda c: c.execute("DELETE FROM notification_channels WHERE tenant_id = ? AND id = ?",
                                    (p.tenant_id, channel_id)))
    rt.bus.emit("notification_channel.deleted", p.tenant_id, actor.as_dict(), object_type="notification_channel",
                object_id=channel_id, summary={"name": current["name"]})


# --- the outbox -----------------------------------------------------------------------------------

def quiet_until(quiet_from: int | None, quiet_to: int | None, now: float) -> int | None:
    """The end of the quiet hours ``now`` lies in (epoch seconds), or None when it lies outside them. The
    hours may span midnight (22:00 to 07:00)."""
    if quiet_from is None or quiet_to is None or quiet_from == quiet_to:
        return None
    midnight = int(now) - int(now) % 86400
    minute = (int(now) - midnight) // 60
    inside = quiet_from <= minute < quiet_to if quiet_from < quiet_to else minute >= quiet_from or minute < quiet_to
    if not inside:
        return None
    end = midnight + quiet_to * 60
    return end if end > now else end + 86400


def enqueue(c: Any, tenant_id: int, channel_id: int, alert_id: int | None, message: Message,
            not_before: int | None = None) -> int:
    now = int(time.time())
    return int(c.value(
        "INSERT INTO notification_deliveries (tenant_id, channel_id, alert_id, event, message, next_attempt_at, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (tenant_id, channel_id, alert_id, message.event, json.dumps(message.as_dict()), max(now, not_before or 0),
         now)))


def enqueue_direct(c: Any, tenant_id: int, alert_id: int | None, kind: str, to: str, message: Message) -> int:
    """A delivery to one person, not through a configured channel (an escalation step)."""
    now = int(time.time())
    return int(c.value(
        "INSERT INTO notification_deliveries (tenant_id, channel_id, alert_id, direct_kind, direct_to, event, message, "
        "next_attempt_at, created_at) VALUES (?, NULL, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (tenant_id, alert_id, kind, to, message.event, json.dumps(message.as_dict()), now, now)))


def deliveries(rt: Runtime, p: Principal, channel_id: int, limit: int = 100) -> list[dict[str, Any]]:
    if not 1 <= limit <= 1000:
        raise Invalid("limit must be 1 to 1000", field="limit")
    with rt.db.read() as c:
        _row(c, p.tenant_id, channel_id)
        rows = c.all("SELECT id, alert_id, event, message, status, attempts, next_attempt_at, response_code, "
                     "last_error, created_at, sent_at FROM notification_deliveries WHERE tenant_id = ? AND "
                     "channel_id = ? ORDER BY id DESC LIMIT ?", (p.tenant_id, channel_id, limit))
    return [{**r, "message": json.loads(r["message"])} for r in rows]


def _context(rt: Runtime, http: httpx.Client) -> Context:
    return Context(settings=rt.settings, http=http,
                   send_mail=lambda to, subject, text, html: mail.send(rt.settings, to, subject, text, html))


def deliver(rt: Runtime, delivery_id: int, now: float | None = None) -> dict[str, Any] | None:
    """Attempt one queued delivery. Returns its new state, or None when it is not due (sent, given up,
    or its next attempt lies ahead). A transient failure schedules the next attempt with back-off;
    a permanent one, or the last attempt, gives up."""
    at = int(time.time() if now is None else now)
    # Claim it first (a lease of LEASE_SECONDS), so a task and the sweeper never send it twice.
    claimed = rt.db.write(lambda c: c.value(
        "UPDATE notification_deliveries SET next_attempt_at = ? WHERE id = ? AND status = 'queued' "
        "AND next_attempt_at <= ? RETURNING id", (at + LEASE_SECONDS, delivery_id, at)))
    if claimed is None:
        return None
    with rt.db.read() as c:
        d = c.one("SELECT d.id, d.tenant_id, d.status, d.attempts, d.next_attempt_at, d.message, d.direct_kind, "
                  "d.direct_to, ch.kind, ch.config, ch.secrets FROM notification_deliveries d "
                  "LEFT JOIN notification_channels ch ON ch.id = d.channel_id WHERE d.id = ?", (delivery_id,))
    if d is None:
        return None
    kind = d["kind"] or d["direct_kind"]
    channel = catalogue(rt).get(kind)
    message = Message(**json.loads(d["message"]))
    code: int | None = None
    error, permanent = "", False
    try:
        if channel is None:
            raise TransportError(f"no plugin provides the channel kind {kind!r} any more", permanent=True)
        config = ({**json.loads(d["config"] or "{}"), **_unseal(rt, d["tenant_id"], d["secrets"])} if d["kind"]
                  else {"to": d["direct_to"]})
        with httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=False) as http:
            code = channel.notify(config, message, _context(rt, http))
    except TransportError as exc:
        error, permanent, code = str(exc), exc.permanent, exc.status
    except Exception as exc:  # a plugin's bug must not stop the outbox
        log.exception("channel plugin failed", extra={"fields": {"kind": kind}})
        error = f"{type(exc).__name__}: {exc}"
    attempts = d["attempts"] + 1
    if not error:
        state = {"status": "sent", "attempts": attempts, "response_code": code, "last_error": "", "sent_at": at,
                 "next_attempt_at": at}
    elif permanent or attempts >= MAX_ATTEMPTS:
        state = {"status": "failed", "attempts": attempts, "response_code": code, "last_error": error[:1000],
                 "sent_at": None, "next_attempt_at": at}
    else:
        delay = BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1]
        state = {"status": "queued", "attempts": attempts, "response_code": code, "last_error": error[:1000],
                 "sent_at": None, "next_attempt_at": at + delay}
    rt.db.write(lambda c: c.execute(
        "UPDATE notification_deliveries SET status = ?, attempts = ?, response_code = ?, last_error = ?, sent_at = ?, "
        "next_attempt_at = ? WHERE id = ?",
        (state["status"], state["attempts"], state["response_code"], state["last_error"], state["sent_at"],
         state["next_attempt_at"], delivery_id)))
    if state["status"] == "failed":
        log.warning("notification given up", extra={"fields": {"delivery": delivery_id, "error": error[:300]}})
    return {"id": delivery_id, **state}


def due(rt: Runtime, now: float | None = None, limit: int = 500) -> list[int]:
    """Queued deliveries whose next attempt is due (the sweeper's work after a restart or a lost task)."""
    at = int(time.time() if now is None else now)
    with rt.db.read() as c:
        rows = c.all("SELECT id FROM notification_deliveries WHERE status = 'queued' AND next_attempt_at <= ? "
                     "ORDER BY id LIMIT ?", (at, limit))
    return [r["id"] for r in rows]


def send_test(rt: Runtime, p: Principal, actor: Actor, channel_id: int) -> dict[str, Any]:
    """Queue a test message and try it at once; the answer is the delivery's outcome."""
    _require_admin(p)
    channel = get_channel(rt, p, channel_id)
    message = Message(event="test", title=f"Test of the channel {channel['name']}", severity="info",
                      text="If you can read this, NinjaIT can reach you here.",
                      url=f"{rt.settings.base_url}/settings/notifications/{channel_id}")
    delivery_id = rt.db.write(lambda c: enqueue(c, p.tenant_id, channel_id, None, message))
    outcome = deliver(rt, delivery_id) or {}
    rt.bus.emit("notification_channel.tested", p.tenant_id, actor.as_dict(), object_type="notification_channel",
                object_id=channel_id, summary={"status": outcome.get("status")})
    return {"id": delivery_id, **outcome}

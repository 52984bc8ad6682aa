"""A tenant's support mailboxes and sender domains: where inbound ticket e-mail comes from and which organization
an unknown sender belongs to. Tenant-wide settings (tickets.write in every organization). The IMAP password is
stored encrypted and never returned."""

from __future__ import annotations

import re
import time
from typing import Any

from ninjait.core.errors import Conflict, Invalid, NotFound
from ninjait.core.runtime import Runtime
from ninjait.identity.principal import Actor, Principal
from ninjait.tickets import store
from ninjait.tickets.contacts import EMAIL

SECRET_PURPOSE = "mailbox"
SERVER_FIELDS = ("imap_host", "imap_port", "imap_security", "imap_username", "imap_verify")
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$")
COLUMNS = ("id, tenant_id, name, address, kind, imap_host, imap_port, imap_security, imap_verify, imap_username, "
           "secret, folder, processed, move_to, poll_seconds, organization_id, create_contacts, reopen_days, enabled, "
           "last_polled_at, last_error, created_at")
EDITABLE = ("name", "address", "kind", "imap_host", "imap_port", "imap_security", "imap_verify", "imap_username",
            "folder", "processed", "move_to", "poll_seconds", "organization_id", "create_contacts", "reopen_days",
            "enabled")


def _out(row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k != "secret"}
    out["password_set"] = bool(row["secret"])
    for flag in ("imap_verify", "create_contacts", "enabled"):
        out[flag] = bool(row[flag])
    return out


def _check(data: dict[str, Any]) -> dict[str, Any]:
    name = str(data.get("name") or "").strip()
    if not 1 <= len(name) <= 100:
        raise Invalid("name must be 1 to 100 characters", field="name")
    address = str(data.get("address") or "").strip().lower()
    if not EMAIL.match(address) or len(address) > 254:
        raise Invalid("address is the support e-mail address customers write to", field="address")
    kind = data.get("kind") or "imap"
    if kind not in ("imap", "smtp"):
        raise Invalid("kind is imap (fetched from a server) or smtp (received by the built-in receiver)", field="kind")
    clean: dict[str, Any] = {"name": name, "address": address, "kind": kind}
    host = str(data.get("imap_host") or "").strip()
    if kind == "imap" and not re.match(r"^[A-Za-z0-9.-]{1,253}$", host):
        raise Invalid("imap_host is the IMAP server's name or address", field="imap_host")
    security = data.get("imap_security") or "tls"
    if security not in ("tls", "starttls"):
        raise Invalid("imap_security is tls or starttls (plain IMAP is not offered)", field="imap_security")
    processed = data.get("processed") or "move"
    if processed not in ("move", "flag"):
        raise Invalid("processed is move (to move_to) or flag (mark as read)", field="processed")
    for key, low, high, default in (("imap_port", 1, 65535, 993), ("poll_seconds", 30, 86400, 60),
                                    ("reopen_days", 0, 3650, 14)):
        value = data.get(key, default)
        if not isinstance(value, int) or not low <= value <= high:
            raise Invalid(f"{key} is a whole number from {low} to {high}", field=key)
        clean[key] = value
    for key, limit, default in (("imap_username", 254, ""), ("folder", 200, "INBOX"), ("move_to", 200, "Processed")):
        text = str(data.get(key) if data.get(key) is not None else default).strip()
        if len(text) > limit or any(ch in text for ch in "\r\n\""):
            raise Invalid(f"{key} is up to {limit} characters, without quotes or line breaks", field=key)
        clean[key] = text
    if not isinstance(data.get("organization_id"), int):
        raise Invalid("organization_id (where tickets of unknown senders go) is required", field="organization_id")
    clean.update(imap_host=host, imap_security=security, processed=processed, organization_id=data["organization_id"],
                 imap_verify=int(bool(data.get("imap_verify", True))),
                 create_contacts=int(bool(data.get("create_contacts", True))),
                 enabled=int(bool(data.get("enabled", True))))
    return clean


def require_admin(p: Principal) -> None:
    """Mail servers and their passwords are the tenant's settings: settings.write in every organization."""
    p.require_everywhere("settings.write", "mailboxes and mail servers are tenant settings")


def _seal(rt: Runtime, tenant_id: int, password: str) -> str:
    return rt.keyring.encrypt(password.encode(), purpose=SECRET_PURPOSE, context=f"tenant:{tenant_id}") if password else ""


def password_of(rt: Runtime, mailbox: dict[str, Any]) -> str:
    if not mailbox["secret"]:
        return ""
    return rt.keyring.decrypt(mailbox["secret"], purpose=SECRET_PURPOSE,
                              context=f"tenant:{mailbox['tenant_id']}").decode()


def _row(c: Any, tenant_id: int, mailbox_id: int) -> dict[str, Any]:
    row = c.one(f"SELECT {COLUMNS} FROM mailboxes WHERE tenant_id = ? AND id = ?", (tenant_id, mailbox_id))
    if row is None:
        raise NotFound("mailbox not found")
    return row


def _save(c: Any, p: Principal, clean: dict[str, Any], mailbox_id: int | None) -> None:
    if not store.organization_exists(c, p.tenant_id, clean["organization_id"]):
        raise Invalid(f"no organization {clean['organization_id']} in this tenant", field="organization_id")
    clash = c.one("SELECT tenant_id, name FROM mailboxes WHERE address = ? AND id <> ?", (clean["address"],
                                                                                       mailbox_id or 0))
    if clash:
        raise Conflict(f"{clean['address']} is the address of another mailbox", field="address")
    if c.value("SELECT 1 FROM mailboxes WHERE tenant_id = ? AND name = ? AND id <> ?",
               (p.tenant_id, clean["name"], mailbox_id or 0)):
        raise Conflict(f"a mailbox named {clean['name']!r} exists", field="name")


def create_mailbox(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    require_admin(p)
    clean = _check(data)
    sealed = _seal(rt, p.tenant_id, str(data.get("password") or ""))

    def write(c: Any) -> int:
        _save(c, p, clean, None)
        columns = [*EDITABLE, "secret", "tenant_id", "created_at"]
        return int(c.value(f"INSERT INTO mailboxes ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}) "
                           "RETURNING id", (*(clean[k] for k in EDITABLE), sealed, p.tenant_id, int(time.time()))))

    mailbox_id = rt.db.write(write)
    rt.bus.emit("mailbox.created", p.tenant_id, actor.as_dict(), object_type="mailbox", object_id=mailbox_id,
                summary={"name": clean["name"], "address": clean["address"], "kind": clean["kind"]})
    return get_mailbox(rt, p, mailbox_id)


def get_mailbox(rt: Runtime, p: Principal, mailbox_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        return _out(_row(c, p.tenant_id, mailbox_id))


def list_mailboxes(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        return [_out(r) for r in c.all(f"SELECT {COLUMNS} FROM mailboxes WHERE tenant_id = ? ORDER BY name",
                                       (p.tenant_id,))]


def update_mailbox(rt: Runtime, p: Principal, actor: Actor, mailbox_id: int, data: dict[str, Any]) -> dict[str, Any]:
    """Fields absent or None stay; an empty or absent password keeps the stored one — unless the server or the
    user name changes: the stored password is never sent to a server it was not given for."""
    before = get_mailbox(rt, p, mailbox_id)
    require_admin(p)
    clean = _check({**before, **{k: v for k, v in data.items() if v is not None}})
    password = str(data.get("password") or "")
    moved = [k for k in SERVER_FIELDS if clean[k] != (int(before[k]) if k == "imap_verify" else before[k])]
    if moved and before["password_set"] and not password:
        raise Invalid(f"enter the password again: {', '.join(moved)} changed", field="password")

    def write(c: Any) -> None:
        _save(c, p, clean, mailbox_id)
        sets = [f"{k} = ?" for k in EDITABLE] + (["secret = ?"] if password else [])
        values = [clean[k] for k in EDITABLE] + ([_seal(rt, p.tenant_id, password)] if password else [])
        c.execute(f"UPDATE mailboxes SET {', '.join(sets)}, last_error = '' WHERE tenant_id = ? AND id = ?",
                  (*values, p.tenant_id, mailbox_id))

    rt.db.write(write)
    rt.bus.emit("mailbox.updated", p.tenant_id, actor.as_dict(), object_type="mailbox", object_id=mailbox_id,
                summary={"name": clean["name"], "password_changed": bool(password)})
    return get_mailbox(rt, p, mailbox_id)


def delete_mailbox(rt: Runtime, p: Principal, actor: Actor, mailbox_id: int) -> None:
    before = get_mailbox(rt, p, mailbox_id)
    require_admin(p)
    rt.db.write(lambda c: c.execute("DELETE FROM mailboxes WHERE tenant_id = ? AND id = ?", (p.tenant_id, mailbox_id)))
    rt.bus.emit("mailbox.deleted", p.tenant_id, actor.as_dict(), object_type="mailbox", object_id=mailbox_id,
                summary={"name": before["name"], "address": before["address"]})


def log_of(rt: Runtime, p: Principal, mailbox_id: int, limit: int = 100) -> list[dict[str, Any]]:
    get_mailbox(rt, p, mailbox_id)
    with rt.db.read() as c:
        return c.all("SELECT id, message_id, sender, subject, outcome, ticket_id, reason, at FROM mail_log "
                     "WHERE tenant_id = ? AND mailbox_id = ? ORDER BY id DESC LIMIT ?", (p.tenant_id, mailbox_id, limit))


def list_domains(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        return c.all("SELECT domain, organization_id FROM mail_domains WHERE tenant_id = ? ORDER BY domain",
                     (p.tenant_id,))


def set_domain(rt: Runtime, p: Principal, actor: Actor, domain: str, organization_id: int | None) -> None:
    """Mail from this domain's unknown senders goes to the organization (None removes the mapping)."""
    require_admin(p)
    domain = domain.strip().lower().lstrip("@")
    if not DOMAIN.match(domain):
        raise Invalid("domain is a mail domain like customer.com", field="domain")

    def write(c: Any) -> None:
        if organization_id is None:
            if c.value("SELECT 1 FROM mail_domains WHERE tenant_id = ? AND domain = ?", (p.tenant_id, domain)) is None:
                raise NotFound(f"{domain} is not mapped")
            c.execute("DELETE FROM mail_domains WHERE tenant_id = ? AND domain = ?", (p.tenant_id, domain))
            return
        if not store.organization_exists(c, p.tenant_id, organization_id):
            raise Invalid(f"no organization {organization_id} in this tenant", field="organization_id")
        c.execute("INSERT INTO mail_domains (tenant_id, domain, organization_id) VALUES (?, ?, ?) "
                  "ON CONFLICT (tenant_id, domain) DO UPDATE SET organization_id = excluded.organization_id",
                  (p.tenant_id, domain, organization_id))

    rt.db.write(write)
    rt.bus.emit("mail_domain.updated", p.tenant_id, actor.as_dict(), object_type="mail_domain", object_id=None,
                summary={"domain": domain, "organization_id": organization_id})

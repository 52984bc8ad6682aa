"""What a signed-in contact sees and does in the portal: their tickets (or, if allowed, every ticket of their
organizations), public replies only — never internal notes —, opening a ticket, answering one, and the time
spent for their organizations this month. Every query is scoped by the contact's tenant and organizations; any
other ticket answers 404."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

from ninjait.core.errors import Conflict, Invalid, NotFound
from ninjait.core.runtime import Runtime
from ninjait.identity.principal import Actor, Principal
from ninjait.portal.accounts import PortalUser
from ninjait.tickets import service

PUBLIC_KINDS = ("reply", "customer")
BRANDING_DEFAULTS = {"title": "", "accent": "#206bc4", "welcome": ""}
ACCENT = re.compile(r"^#[0-9a-fA-F]{6}$")


def _scope(user: PortalUser) -> tuple[str, list[Any]]:
    if not user.organization_ids:
        return "1 = 0", []
    where = (f"t.tenant_id = ? AND t.organization_id IN ({', '.join('?' for _ in user.organization_ids)})")
    args: list[Any] = [user.tenant_id, *sorted(user.organization_ids)]
    if not user.sees_organization:
        where += " AND t.contact_id = ?"
        args.append(user.contact_id)
    return where, args


def list_tickets(rt: Runtime, user: PortalUser, include_closed: bool = False) -> list[dict[str, Any]]:
    where, args = _scope(user)
    if not include_closed:
        where += " AND s.type <> 'closed'"
    with rt.db.read() as c:
        return c.all("SELECT t.id, t.number, t.subject, t.created_at, t.updated_at, t.priority, s.name AS status, "
                     "s.type AS status_type, o.name AS organization, ct.name AS requester FROM tickets t "
                     "JOIN ticket_statuses s ON s.id = t.status_id JOIN organizations o ON o.id = t.organization_id "
                     f"LEFT JOIN contacts ct ON ct.id = t.contact_id WHERE {where} ORDER BY t.updated_at DESC LIMIT 500",
                     tuple(args))


def get_ticket(rt: Runtime, user: PortalUser, ticket_id: int) -> dict[str, Any]:
    where, args = _scope(user)
    with rt.db.read() as c:
        ticket = c.one("SELECT t.id, t.number, t.subject, t.description, t.created_at, t.organization_id, "
                       "s.name AS status, s.type AS status_type, o.name AS organization FROM tickets t "
                       "JOIN ticket_statuses s ON s.id = t.status_id JOIN organizations o ON o.id = t.organization_id "
                       f"WHERE {where} AND t.id = ?", (*args, ticket_id))
        if ticket is None:
            raise NotFound("ticket not found")
        # Files on a public message, and files the customer side sent with the ticket (no staff uploader);
        # never those of internal notes, nor files staff put on the ticket itself (internal by default).
        ticket["attachments"] = c.all(
            "SELECT a.id, a.file_name, a.size, a.created_at FROM ticket_attachments a LEFT JOIN ticket_comments c "
            "ON c.id = a.comment_id WHERE a.tenant_id = ? AND a.ticket_id = ? AND ((a.comment_id IS NULL AND "
            f"a.uploaded_by IS NULL) OR c.kind IN ({', '.join('?' for _ in PUBLIC_KINDS)})) ORDER BY a.id",
            (user.tenant_id, ticket_id, *PUBLIC_KINDS))
        ticket["comments"] = c.all(
            "SELECT c.kind, c.body, c.created_at, CASE WHEN c.kind = 'reply' THEN COALESCE(NULLIF(u.name, ''), 'Support') "
            "ELSE c.author END AS author FROM ticket_comments c LEFT JOIN users u ON u.id = c.author_id "
            f"WHERE c.tenant_id = ? AND c.ticket_id = ? AND c.kind IN ({', '.join('?' for _ in PUBLIC_KINDS)}) "
            "ORDER BY c.id", (user.tenant_id, ticket_id, *PUBLIC_KINDS))
    return ticket


def _actor(user: PortalUser) -> Actor:
    return Actor(user_id=None, email=user.email)


def open_ticket(rt: Runtime, user: PortalUser, organization_id: int | None, subject: str,
                description: str) -> dict[str, Any]:
    if organization_id is None and len(user.organization_ids) == 1:
        organization_id = next(iter(user.organization_ids))
    if organization_id not in user.organization_ids:
        raise Invalid("choose one of your organizations", field="organization_id")
    made = service.create_ticket(rt, service.system_principal(user.tenant_id), _actor(user), {
        "subject": subject, "description": description, "organization_id": organization_id,
        "contact_id": user.contact_id}, source="portal")
    return made


def reply(rt: Runtime, user: PortalUser, ticket_id: int, body: str) -> int:
    """A customer message; a resolved ticket opens again, a closed one is final (open a new ticket)."""
    ticket = get_ticket(rt, user, ticket_id)
    if ticket["status_type"] == "closed":
        raise Conflict("this ticket is closed: open a new one")
    system = service.system_principal(user.tenant_id)
    comment = service.add_comment(rt, system, _actor(user), ticket_id, "customer", body)
    if ticket["status_type"] == "resolved":
        with rt.db.read() as c:
            from ninjait.tickets import store

            reopen = store.first_status_of_type(c, user.tenant_id, "open")
        if reopen is not None:
            service.update_ticket(rt, system, _actor(user), ticket_id, {"status_id": reopen["id"]})
    return int(comment["id"])


def time_this_month(rt: Runtime, user: PortalUser, now: float | None = None) -> list[dict[str, Any]]:
    """Minutes logged on each of the contact's organizations' tickets this calendar month (UTC); for contacts who
    see their organizations' tickets. Hours left on a contract come with billing."""
    if not user.sees_organization or not user.organization_ids:
        return []
    today = dt.datetime.fromtimestamp(time.time() if now is None else now, dt.UTC).date()
    start = int(dt.datetime(today.year, today.month, 1, tzinfo=dt.UTC).timestamp())
    orgs = sorted(user.organization_ids)
    with rt.db.read() as c:
        return c.all("SELECT o.id AS organization_id, o.name AS organization, COALESCE(sum(e.minutes), 0) AS minutes, "
                     "COALESCE(sum(CASE WHEN e.billable = 1 THEN e.minutes ELSE 0 END), 0) AS billable_minutes "
                     "FROM organizations o LEFT JOIN tickets t ON t.organization_id = o.id AND t.tenant_id = o.tenant_id "
                     "LEFT JOIN time_entries e ON e.ticket_id = t.id AND e.started_at >= ? AND e.ended_at IS NOT NULL "
                     f"WHERE o.tenant_id = ? AND o.id IN ({', '.join('?' for _ in orgs)}) GROUP BY o.id, o.name "
                     "ORDER BY o.name", (start, user.tenant_id, *orgs))


def organizations(rt: Runtime, user: PortalUser) -> dict[int, str]:
    if not user.organization_ids:
        return {}
    orgs = sorted(user.organization_ids)
    with rt.db.read() as c:
        return {r["id"]: r["name"] for r in c.all(
            f"SELECT id, name FROM organizations WHERE tenant_id = ? AND id IN ({', '.join('?' for _ in orgs)}) "
            "ORDER BY name", (user.tenant_id, *orgs))}


def branding(rt: Runtime, tenant_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        row = c.one("SELECT title, accent, welcome, logo_type FROM portal_branding WHERE tenant_id = ?", (tenant_id,))
        name = c.value("SELECT name FROM tenants WHERE id = ?", (tenant_id,))
    out = {**BRANDING_DEFAULTS, **(row or {})}
    out["title"] = out["title"] or name or "Support"
    out["has_logo"] = bool(out.pop("logo_type", ""))
    return out


def save_branding(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """The portal's title (empty: the tenant's name), accent colour and welcome text. Tenant-wide."""
    p.require_everywhere("settings.write", "the portal's branding is a tenant setting")
    title = str(data.get("title") or "").strip()
    welcome = str(data.get("welcome") or "").strip()
    accent = str(data.get("accent") or BRANDING_DEFAULTS["accent"]).strip()
    if len(title) > 100:
        raise Invalid("title is up to 100 characters", field="title")
    if len(welcome) > 2000:
        raise Invalid("welcome is up to 2,000 characters", field="welcome")
    if not ACCENT.match(accent):
        raise Invalid("accent is a colour like #206bc4", field="accent")
    rt.db.write(lambda c: c.execute(
        "INSERT INTO portal_branding (tenant_id, title, accent, welcome) VALUES (?, ?, ?, ?) ON CONFLICT (tenant_id) "
        "DO UPDATE SET title = excluded.title, accent = excluded.accent, welcome = excluded.welcome",
        (p.tenant_id, title, accent.lower(), welcome)))
    rt.bus.emit("portal_branding.updated", p.tenant_id, actor.as_dict(), object_type="tenant", object_id=p.tenant_id,
                summary={"title": title, "accent": accent})
    return {"title": title, "accent": accent.lower(), "welcome": welcome}


def stored_branding(rt: Runtime, p: Principal) -> dict[str, Any]:
    with rt.db.read() as c:
        row = c.one("SELECT title, accent, welcome FROM portal_branding WHERE tenant_id = ?", (p.tenant_id,))
    return {**BRANDING_DEFAULTS, **(row or {})}


def attachment_file(rt: Runtime, user: PortalUser, ticket_id: int, attachment_id: int) -> tuple[dict[str, Any], Any]:
    """A public attachment of a ticket the contact may see, and its file; 404 otherwise."""
    from ninjait.tickets import attachments, collab_store

    ticket = get_ticket(rt, user, ticket_id)
    if attachment_id not in {a["id"] for a in ticket["attachments"]}:
        raise NotFound("attachment not found")
    with rt.db.read() as c:
        row = collab_store.attachment(c, user.tenant_id, attachment_id)
    assert row is not None  # listed just above
    path = attachments.folder_of(rt, user.tenant_id) / row["storage_name"]
    if not path.is_file():
        raise NotFound("the file of this attachment is missing")
    return row, path


def attach(rt: Runtime, user: PortalUser, ticket_id: int, source: Any, file_name: str, content_type: str,
           comment_id: int | None = None) -> None:
    """A file the contact sends with a new ticket or a message, through the attachment store's checks."""
    from ninjait.tickets import attachments

    get_ticket(rt, user, ticket_id)
    attachments.upload(rt, service.system_principal(user.tenant_id), _actor(user), ticket_id, source, file_name,
                       content_type, comment_id=comment_id)


LOGO_MAX = 256 * 1024
LOGO_TYPES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"))


def _logo_type(data: bytes) -> str:
    for magic, kind in LOGO_TYPES:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise Invalid("the logo must be a PNG, JPEG or WebP image", field="logo")


def save_logo(rt: Runtime, p: Principal, actor: Actor, data: bytes) -> None:
    """The portal's logo (empty: none). Checked by its first bytes, whatever the upload claims; SVG is not taken
    (it can carry script)."""
    p.require_everywhere("settings.write", "the portal's branding is a tenant setting")
    if len(data) > LOGO_MAX:
        raise Invalid(f"the logo is larger than {LOGO_MAX // 1024} KiB", field="logo")
    kind = _logo_type(data) if data else ""
    rt.db.write(lambda c: c.execute(
        "INSERT INTO portal_branding (tenant_id, logo, logo_type) VALUES (?, ?, ?) ON CONFLICT (tenant_id) "
        "DO UPDATE SET logo = excluded.logo, logo_type = excluded.logo_type", (p.tenant_id, data or None, kind)))
    rt.bus.emit("portal_branding.updated", p.tenant_id, actor.as_dict(), object_type="tenant", object_id=p.tenant_id,
                summary={"logo": kind or "removed", "bytes": len(data)})


def logo(rt: Runtime, tenant_id: int) -> tuple[bytes, str] | None:
    with rt.db.read() as c:
        row = c.one("SELECT logo, logo_type FROM portal_branding WHERE tenant_id = ?", (tenant_id,))
    if row is None or not row["logo"]:
        return None
    return bytes(row["logo"]), row["logo_type"]

"""@mentions in comments, and the in-app notifications they leave.

The rule: ``@`` followed by a person's full e-mail address (``@ann@msp.example``) or by its local part
(``@ann``) when exactly one active user of the tenant has that local part; case does not matter. An ``@`` inside
a word (an e-mail address in the text) mentions nobody. A mentioned person is notified only if they may read
tickets of the ticket's organization; the author is never notified of their own comment.

This runs as a subscriber of ``ticket.updated`` (published after a comment is committed), so commenting needs
no change: each notification is a row of ``user_notifications`` and an event ``ticket.mentioned``.
"""

from __future__ import annotations

import re
import time
from typing import Any

from ninjait.core.events import Event
from ninjait.core.runtime import Runtime
from ninjait.identity.authn import principal_for_user
from ninjait.identity.principal import Principal
from ninjait.tickets import collab_store, store

MENTION = re.compile(r"(?<![\w.@+-])@([A-Za-z0-9._%+-]+(?:@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)?)")
MAX_MENTIONS = 20
KIND = "mention"


def handles(body: str) -> list[str]:
    found = [m.group(1).rstrip(".").lower() for m in MENTION.finditer(body)]
    return list(dict.fromkeys(h for h in found if h))[:MAX_MENTIONS]


def resolve(users: list[dict[str, Any]], wanted: list[str]) -> list[dict[str, Any]]:
    by_email = {u["email"].lower(): u for u in users}
    by_local: dict[str, list[dict[str, Any]]] = {}
    for u in users:
        by_local.setdefault(u["email"].lower().split("@")[0], []).append(u)
    chosen: dict[int, dict[str, Any]] = {}
    for handle in wanted:
        if "@" in handle:
            user = by_email.get(handle)
        else:
            candidates = by_local.get(handle, [])
            user = candidates[0] if len(candidates) == 1 else None
        if user is not None:
            chosen[user["id"]] = user
    return list(chosen.values())


def notify_mentions(rt: Runtime, tenant_id: int, comment_id: int, now: float | None = None) -> list[int]:
    """Record a notification for every person the comment mentions who may read the ticket; their ids."""
    at = int(time.time() if now is None else now)

    with rt.db.read() as c:
        comment = collab_store.comment(c, tenant_id, comment_id)
    wanted = handles(comment["body"]) if comment is not None and comment["kind"] in ("reply", "note") else []
    if comment is None or not wanted:
        return []  # most comments mention nobody: no write at all

    def write(c: Any) -> tuple[list[int], dict[str, Any] | None]:
        ticket = store.get(c, tenant_id, comment["ticket_id"])
        if ticket is None:
            return [], None
        notified = []
        for user in resolve(collab_store.active_users(c, tenant_id), wanted):
            if user["id"] == comment["author_id"]:
                continue
            if not principal_for_user(c, user).can("tickets.read", ticket["organization_id"]):
                continue
            collab_store.add_notification(c, tenant_id, user["id"], KIND, ticket["id"], comment_id, comment["author"], at)
            notified.append(user["id"])
        return notified, ticket

    notified, ticket = rt.db.write(write)
    for user_id in notified:
        assert ticket is not None
        rt.bus.emit("ticket.mentioned", tenant_id, None, object_type="ticket", object_id=ticket["id"],
                    summary={"ticket_id": ticket["id"], "number": ticket["number"], "user_id": user_id,
                             "comment_id": comment_id, "by": comment["author"]})
    return notified


def subscribe(rt: Runtime) -> None:
    def on_comment(event: Event) -> None:
        summary = event.data.get("summary") or {}
        if event.tenant_id is not None and summary.get("comment_id") and summary.get("comment_kind") in ("reply", "note"):
            notify_mentions(rt, event.tenant_id, int(summary["comment_id"]))

    rt.bus.subscribe("ticket.updated", on_comment)


def list_mentions(rt: Runtime, p: Principal, unread_only: bool = False, limit: int = 100) -> list[dict[str, Any]]:
    """The caller's mentions, newest first, on tickets they may still read."""
    with rt.db.read() as c:
        return collab_store.notifications(c, p.tenant_id, p.user_id, p.organizations_for("tickets.read"),
                                          unread_only, limit)


def unread_count(rt: Runtime, p: Principal) -> int:
    return len(list_mentions(rt, p, unread_only=True))


def mark_read(rt: Runtime, p: Principal, ids: list[int] | None = None) -> None:
    """Mark the caller's given notifications (None: all of them) read; others' ids change nothing."""
    rt.db.write(lambda c: collab_store.mark_read(c, p.tenant_id, p.user_id, ids, int(time.time())))

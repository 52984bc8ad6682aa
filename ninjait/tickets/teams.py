"""Teams (people of the tenant who share tickets) and queues (where tickets wait, with a default team).

Both are tenant-wide desk settings: anyone with ``tickets.read`` sees them; changing them needs
``tickets.write`` for every organization (403 otherwise). A ticket may have a queue and a team; a queue's
default team is given to its tickets that have none. A team's ``strategy`` says how routing picks an assignee
among its members: ``manual`` (nobody), ``round_robin`` or ``least_open`` (routing.py).
"""

from __future__ import annotations

import time
from typing import Any

from ninjait.core.errors import Conflict, Forbidden, Invalid, NotFound
from ninjait.core.runtime import Runtime
from ninjait.identity.principal import Actor, Principal
from ninjait.tickets import routing_store as rs

STRATEGIES = ("manual", "round_robin", "least_open")
MAX_MEMBERS = 200


def require_tenant_wide(p: Principal, what: str) -> None:
    if not p.can("tickets.write") or p.organizations_for("tickets.write") is not None:
        raise Forbidden(f"{what} are tenant-wide: you need tickets.write for every organization")


def name_of(data: dict[str, Any], field: str = "name", limit: int = 100) -> str:
    name = str(data.get(field) or "").strip()
    if not 1 <= len(name) <= limit:
        raise Invalid(f"{field} must be 1 to {limit} characters", field=field)
    return name


def unique(fn: Any, what: str) -> Any:
    """Run a write whose unique index on (tenant, name) may refuse a duplicate: 409 naming the field."""
    try:
        return fn()
    except Exception as exc:  # apsw and psycopg raise different types; both name the constraint
        text = str(exc).lower()
        if "unique" in text or "duplicate key" in text:
            raise Conflict(f"a {what} of that name exists", field="name") from None
        raise


def check_team(c: Any, tenant_id: int, team_id: Any, field: str = "team_id") -> int | None:
    if team_id is None:
        return None
    if not isinstance(team_id, int) or rs.row(c, "team", tenant_id, team_id) is None:
        raise Invalid(f"no team {team_id} in this tenant", field=field)
    return team_id


def check_queue(c: Any, tenant_id: int, queue_id: Any, field: str = "queue_id") -> dict[str, Any] | None:
    if queue_id is None:
        return None
    queue = rs.row(c, "queue", tenant_id, queue_id) if isinstance(queue_id, int) else None
    if queue is None:
        raise Invalid(f"no queue {queue_id} in this tenant", field=field)
    return queue


# --- teams ------------------------------------------------------------------------------------------------

def _team_out(c: Any, rows: list[dict[str, Any]], tenant_id: int) -> list[dict[str, Any]]:
    members = rs.team_members(c, tenant_id, [r["id"] for r in rows])
    return [{**r, "member_ids": members.get(r["id"], [])} for r in rows]


def _team_fields(c: Any, p: Principal, data: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
    strategy = data.get("strategy") or "manual"
    if strategy not in STRATEGIES:
        raise Invalid(f"strategy must be one of {', '.join(STRATEGIES)}", field="strategy")
    members = list(dict.fromkeys(int(u) for u in data.get("member_ids") or []))
    if len(members) > MAX_MEMBERS:
        raise Invalid(f"at most {MAX_MEMBERS} members", field="member_ids")
    missing = set(members) - rs.users_in_tenant(c, p.tenant_id, members)
    if missing:
        raise Invalid(f"no user {min(missing)} in this tenant", field="member_ids")
    return {"name": name_of(data), "strategy": strategy}, members


def list_teams(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        return _team_out(c, rs.rows(c, "team", p.tenant_id), p.tenant_id)


def get_team(rt: Runtime, p: Principal, team_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        team = rs.row(c, "team", p.tenant_id, team_id)
        if team is None:
            raise NotFound("team not found")
        return _team_out(c, [team], p.tenant_id)[0]


def save_team(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any], team_id: int | None = None) -> dict[str, Any]:
    """Create (``team_id`` None) or replace a team's name, strategy and members."""
    require_tenant_wide(p, "teams")

    def write(c: Any) -> int:
        if team_id is not None and rs.row(c, "team", p.tenant_id, team_id) is None:
            raise NotFound("team not found")
        values, members = _team_fields(c, p, data)
        if team_id is None:
            saved = rs.insert(c, "team", p.tenant_id, {**values, "created_at": int(time.time())})
        else:
            rs.update(c, "team", p.tenant_id, team_id, values)
            saved = team_id
        rs.set_team_members(c, p.tenant_id, saved, members)
        return saved

    saved = unique(lambda: rt.db.write(write), "team")
    rt.bus.emit("ticket_team.created" if team_id is None else "ticket_team.updated", p.tenant_id, actor.as_dict(),
                object_type="ticket_team", object_id=saved, summary={"name": data.get("name")})
    return get_team(rt, p, saved)


def delete_team(rt: Runtime, p: Principal, actor: Actor, team_id: int) -> None:
    require_tenant_wide(p, "teams")
    team = get_team(rt, p, team_id)
    rt.db.write(lambda c: rs.delete(c, "team", p.tenant_id, team_id))  # tickets and queues keep no team
    rt.bus.emit("ticket_team.deleted", p.tenant_id, actor.as_dict(), object_type="ticket_team", object_id=team_id,
                summary={"name": team["name"]})


# --- queues -----------------------------------------------------------------------------------------------

def list_queues(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        return rs.rows(c, "queue", p.tenant_id)


def get_queue(rt: Runtime, p: Principal, queue_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        queue = rs.row(c, "queue", p.tenant_id, queue_id)
    if queue is None:
        raise NotFound("queue not found")
    return queue


def save_queue(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any], queue_id: int | None = None) -> dict[str, Any]:
    require_tenant_wide(p, "queues")
    name = name_of(data)

    def write(c: Any) -> int:
        if queue_id is not None and rs.row(c, "queue", p.tenant_id, queue_id) is None:
            raise NotFound("queue not found")
        values = {"name": name, "team_id": check_team(c, p.tenant_id, data.get("team_id"))}
        if queue_id is None:
            return rs.insert(c, "queue", p.tenant_id, {**values, "created_at": int(time.time())})
        rs.update(c, "queue", p.tenant_id, queue_id, values)
        return queue_id

    saved = unique(lambda: rt.db.write(write), "queue")
    rt.bus.emit("ticket_queue.created" if queue_id is None else "ticket_queue.updated", p.tenant_id,
                actor.as_dict(), object_type="ticket_queue", object_id=saved, summary={"name": name})
    return get_queue(rt, p, saved)


def delete_queue(rt: Runtime, p: Principal, actor: Actor, queue_id: int) -> None:
    require_tenant_wide(p, "queues")
    queue = get_queue(rt, p, queue_id)
    rt.db.write(lambda c: rs.delete(c, "queue", p.tenant_id, queue_id))
    rt.bus.emit("ticket_queue.deleted", p.tenant_id, actor.as_dict(), object_type="ticket_queue", object_id=queue_id,
                summary={"name": queue["name"]})


# --- a ticket's queue and team ----------------------------------------------------------------------------

def placement(c: Any, tenant_id: int, data: dict[str, Any], before: dict[str, Any] | None = None) -> dict[str, Any]:
    """The queue and team a ticket gets from a request: given ids are checked; ``clear_queue`` / ``clear_team``
    empty them; a queue's default team fills a missing team. Only changed keys are returned."""
    before = before or {"queue_id": None, "team_id": None}
    queue_id, team_id = before.get("queue_id"), before.get("team_id")
    if data.get("clear_queue"):
        queue_id = None
    queue = check_queue(c, tenant_id, data.get("queue_id"))
    if queue is not None:
        queue_id = queue["id"]
    if data.get("clear_team"):
        team_id = None
    if data.get("team_id") is not None:
        team_id = check_team(c, tenant_id, data["team_id"])
    elif queue is not None and team_id is None:
        team_id = queue["team_id"]
    return {k: v for k, v in (("queue_id", queue_id), ("team_id", team_id)) if v != before.get(k)}

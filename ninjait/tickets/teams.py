"""Teams (people of the tenant who share tickets) and queues (where tickets wait, with a default team).

Both are tenant-wide desk settings: anyone with ``tickets.read`` sees them; changing them needs
``tickets.write`` for every organization (403 otherwise). A ticket may have a queue and a team; a queue's
default team is given to its tickets that have none. A team's ``strategy`` says how routing picks an assignee
among its members: ``manual`` (nobody), ``round_robin`` or ``least_open`` (routing.py).
"""

from __future__ import annotations

from typing import Any

from ninjait.core.errors import Invalid
from ninjait.core.runtime import Runtime
from ninjait.identity.principal import Actor, Principal
from ninjait.tickets import setting_rows as settings, routing_store as rs

STRATEGIES = ("manual", "round_robin", "least_open")
MAX_MEMBERS = 200


def name_of(data: dict[str, Any], field: str = "name", limit: int = 100) -> str:
    name = str(data.get(field) or "").strip()
    if not 1 <= len(name) <= limit:
        raise Invalid(f"{field} must be 1 to {limit} characters", field=field)
    return name


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
    team = settings.get(rt, p, "team", team_id)
    with rt.db.read() as c:
        return _team_out(c, [team], p.tenant_id)[0]


def save_team(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any], team_id: int | None = None) -> dict[str, Any]:
    """Create (``team_id`` None) or replace a team's name, strategy and members."""
    members: list[int] = []

    def check(c: Any) -> dict[str, Any]:
        values, chosen = _team_fields(c, p, data)
        members.extend(chosen)
        return values

    saved = settings.save(rt, p, actor, "team", check, team_id,
                          after=lambda c, saved: rs.set_team_members(c, p.tenant_id, saved, members))
    return get_team(rt, p, saved)


def delete_team(rt: Runtime, p: Principal, actor: Actor, team_id: int) -> None:
    settings.delete(rt, p, actor, "team", team_id)  # its tickets and queues keep no team


# --- queues -----------------------------------------------------------------------------------------------

def list_queues(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    return settings.rows(rt, p, "queue")


def get_queue(rt: Runtime, p: Principal, queue_id: int) -> dict[str, Any]:
    return settings.get(rt, p, "queue", queue_id)


def save_queue(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any], queue_id: int | None = None) -> dict[str, Any]:
    saved = settings.save(rt, p, actor, "queue", lambda c: {
        "name": name_of(data), "team_id": check_team(c, p.tenant_id, data.get("team_id"))}, queue_id)
    return get_queue(rt, p, saved)


def delete_queue(rt: Runtime, p: Principal, actor: Actor, queue_id: int) -> None:
    settings.delete(rt, p, actor, "queue", queue_id)


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

"""Routing rules: where a new (or changed) ticket goes, and who gets it.

A tenant's rules are evaluated in ``position`` order. A rule matches when every condition it sets holds
(an empty condition list matches anything): organization, category (case-insensitive), priority, source, and
keywords (any of them in the subject or description, case-insensitive). A match applies the rule's actions:
set queue, team, assignee, priority, and add tags. The first match wins and stops the evaluation, unless the
rule has ``continue_after``: then later rules are evaluated too, against the ticket as changed so far (later
actions override earlier ones; tags add up).

Rules run when a ticket is opened (every enabled rule) and after each change of a ticket (only rules with
``on_update``). A queue set by a rule brings its default team when the ticket has none. When a new ticket
then has a team but no assignee (from a rule, its queue or its creator), or a rule on update leaves it so, the
team's strategy picks one among members who are active and may change tickets of the ticket's organization: ``round_robin`` (the member after the team's last pick, by user id,
wrapping around) or ``least_open`` (fewest open tickets assigned; ties: the lowest user id). A rule's own
assignee is skipped when that person could not work on the ticket. Changes are transitions by "routing: <rule>".
"""

from __future__ import annotations

import json
from typing import Any

from ninjait.core.errors import Forbidden, Invalid
from ninjait.core.runtime import Runtime
from ninjait.identity import authn
from ninjait.identity.principal import Actor, Principal
from ninjait.tickets import setting_rows as settings, routing_store as rs, store, teams

PRIORITIES = ("P1", "P2", "P3", "P4")
# Conditions may name channels that are still to come (e-mail, portal): a rule written today keeps working.
CONDITION_SOURCES = ("web", "api", "alert", "recurring", "email", "portal")
LIST_LIMIT = 50


# --- evaluation (inside the ticket's transaction) ---------------------------------------------------------

def _matches(conditions: dict[str, Any], ticket: dict[str, Any], text: str) -> bool:
    if conditions.get("organization_ids") and ticket["organization_id"] not in conditions["organization_ids"]:
        return False
    if conditions.get("categories") and ticket["category"].lower() not in conditions["categories"]:
        return False
    if conditions.get("priorities") and ticket["priority"] not in conditions["priorities"]:
        return False
    if conditions.get("sources") and ticket["source"] not in conditions["sources"]:
        return False
    return not conditions.get("keywords") or any(k in text for k in conditions["keywords"])


def may_work_on(c: Any, user: dict[str, Any], organization_id: int) -> bool:
    return authn.principal_for_user(c, user).can("tickets.write", organization_id)


def _user_row(c: Any, tenant_id: int, user_id: int) -> dict[str, Any] | None:
    return c.one("SELECT id, tenant_id, email, name, is_super_admin FROM users WHERE tenant_id = ? AND id = ? "
                 "AND disabled = 0", (tenant_id, user_id))


def pick_assignee(c: Any, tenant_id: int, team_id: int, organization_id: int) -> int | None:
    """The team's strategy applied to its eligible members; None for manual teams or nobody eligible."""
    team = rs.lock_team(c, tenant_id, team_id)
    if team is None or team["strategy"] == "manual":
        return None
    members = [m["id"] for m in rs.member_users(c, tenant_id, team_id) if may_work_on(c, m, organization_id)]
    if not members:
        return None
    if team["strategy"] == "least_open":
        counts = rs.open_counts(c, tenant_id, members)
        return min(members, key=lambda u: (counts.get(u, 0), u))
    last = team["last_assignee_id"] or 0
    chosen = next((u for u in members if u > last), members[0])
    rs.update(c, "team", tenant_id, team_id, {"last_assignee_id": chosen})
    return chosen


def _names(c: Any, kind: str, tenant_id: int, row_id: int | None) -> str:
    if row_id is None:
        return ""
    if kind == "assignee":
        user = store.user_in_tenant(c, tenant_id, row_id)
        return user["email"] if user else ""
    found = rs.row(c, kind, tenant_id, row_id)
    return found["name"] if found else ""


def route(c: Any, tenant_id: int, ticket_id: int, at: int, *, on_update: bool) -> dict[str, Any]:
    """Apply the matching rules to a ticket; the changed fields and their new values."""
    ticket = store.get(c, tenant_id, ticket_id)
    assert ticket is not None
    rules = [r for r in rs.rows(c, "rule", tenant_id) if r["enabled"] and (r["on_update"] or not on_update)]
    work = {k: ticket[k] for k in ("queue_id", "team_id", "assignee_id", "priority")}
    tags = set(json.loads(ticket["tags"] or "[]"))
    text = f"{ticket['subject']}\n{ticket['description']}".lower()
    matched: list[str] = []
    for rule in rules:
        if not _matches(json.loads(rule["conditions"]), {**ticket, **work}, text):
            continue
        matched.append(rule["name"])
        actions = json.loads(rule["actions"])
        queue = rs.row(c, "queue", tenant_id, actions["queue_id"]) if actions.get("queue_id") else None
        if queue is not None:
            work["queue_id"] = queue["id"]
            if work["team_id"] is None and not actions.get("team_id"):
                work["team_id"] = queue["team_id"]
        if actions.get("team_id") and rs.row(c, "team", tenant_id, actions["team_id"]) is not None:
            work["team_id"] = actions["team_id"]
        if actions.get("assignee_id"):
            user = _user_row(c, tenant_id, actions["assignee_id"])
            if user is not None and may_work_on(c, user, ticket["organization_id"]):
                work["assignee_id"] = user["id"]
        if actions.get("priority"):
            work["priority"] = actions["priority"]
        tags |= set(actions.get("tags") or [])
        if not rule["continue_after"]:
            break
    # A new ticket put into a team without an assignee (by a rule, a queue or its creator) gets one from the
    # team's strategy; on update only a matching rule does that.
    unassigned_in_team = work["team_id"] is not None and work["assignee_id"] is None
    if not matched and (on_update or not unassigned_in_team):
        return {}
    if unassigned_in_team:
        work["assignee_id"] = pick_assignee(c, tenant_id, work["team_id"], ticket["organization_id"])
    return _apply(c, tenant_id, ticket, work, tags, at, "routing: " + (", ".join(matched) or "team strategy"))


def _apply(c: Any, tenant_id: int, ticket: dict[str, Any], work: dict[str, Any], tags: set[str], at: int,
           actor: str) -> dict[str, Any]:
    changed = {k: v for k, v in work.items() if v != ticket[k]}
    if sorted(tags) != json.loads(ticket["tags"] or "[]"):
        changed["tags"] = sorted(tags)
    if not changed:
        return {}
    columns: dict[str, Any] = {k: changed[k] for k in ("assignee_id", "priority") if k in changed}
    if "priority" in changed:
        columns["sla_policy_id"] = store.matching_policy(c, tenant_id, ticket["organization_id"], changed["priority"])
    if "tags" in changed:
        columns["tags"] = json.dumps(changed["tags"])
    store.update(c, tenant_id, ticket["id"], {**columns, "updated_at": at})
    rs.set_ticket_placement(c, tenant_id, ticket["id"], changed)
    for field, kind in (("priority", ""), ("assignee_id", "assignee"), ("queue_id", "queue"), ("team_id", "team")):
        if field in changed:
            old, new = ((ticket[field], changed[field]) if not kind else
                        (_names(c, kind, tenant_id, ticket[field]), _names(c, kind, tenant_id, changed[field])))
            store.transition(c, tenant_id, ticket["id"], at, field.removesuffix("_id"), old, new, None, actor)
    return changed


def record_placement(c: Any, tenant_id: int, ticket: dict[str, Any], changes: dict[str, Any], at: int,
                     actor: Actor) -> None:
    """A person's change of queue or team: stored and kept as transitions like status and assignee."""
    rs.set_ticket_placement(c, tenant_id, ticket["id"], changes)
    for field, kind in (("queue_id", "queue"), ("team_id", "team")):
        if field in changes:
            store.transition(c, tenant_id, ticket["id"], at, kind, _names(c, kind, tenant_id, ticket[field]),
                             _names(c, kind, tenant_id, changes[field]), actor.user_id, actor.email)


# --- hooks called by service.create_ticket / update_ticket inside their transaction ------------------------

def after_create(c: Any, p: Principal, actor: Actor, ticket_id: int, data: dict[str, Any], at: int) -> None:
    ticket = store.get(c, p.tenant_id, ticket_id)
    assert ticket is not None
    if data.get("team_id") is not None and not p.can("tickets.assign", ticket["organization_id"]):
        raise Forbidden("setting a team needs tickets.assign")
    rs.set_ticket_placement(c, p.tenant_id, ticket_id, teams.placement(c, p.tenant_id, data))
    route(c, p.tenant_id, ticket_id, at, on_update=False)


def after_update(c: Any, p: Principal, actor: Actor, ticket_id: int, data: dict[str, Any], at: int) -> dict[str, Any]:
    """Queue and team from the request, then the rules marked ``on_update``; what they changed."""
    ticket = store.get(c, p.tenant_id, ticket_id)
    assert ticket is not None
    changes = teams.placement(c, p.tenant_id, data, ticket)
    if "team_id" in changes and not p.can("tickets.assign", ticket["organization_id"]):
        raise Forbidden("changing the team needs tickets.assign")
    if changes:
        record_placement(c, p.tenant_id, ticket, changes, at, actor)
    return {**changes, **route(c, p.tenant_id, ticket_id, at, on_update=True)}


# --- rules ------------------------------------------------------------------------------------------------

def _strings(value: Any, field: str, allowed: tuple[str, ...] | None = None, lower: bool = False) -> list[str]:
    items = [str(v).strip() for v in value or [] if str(v).strip()]
    if len(items) > LIST_LIMIT or any(len(v) > 100 for v in items):
        raise Invalid(f"{field}: at most {LIST_LIMIT} values of up to 100 characters", field=field)
    if allowed is not None:
        bad = [v for v in items if v not in allowed]
        if bad:
            raise Invalid(f"{field}: {bad[0]!r} is not one of {', '.join(allowed)}", field=field)
    return sorted({v.lower() for v in items}) if lower else sorted(set(items))


def _check_rule(c: Any, tenant_id: int, data: dict[str, Any]) -> dict[str, Any]:
    cond, act = data.get("conditions") or {}, data.get("actions") or {}
    orgs = sorted({int(o) for o in cond.get("organization_ids") or []})
    for org in orgs:
        if not store.organization_exists(c, tenant_id, org):
            raise Invalid(f"no organization {org} in this tenant", field="conditions.organization_ids")
    conditions = {"organization_ids": orgs,
                  "categories": _strings(cond.get("categories"), "conditions.categories", lower=True),
                  "priorities": _strings(cond.get("priorities"), "conditions.priorities", PRIORITIES),
                  "sources": _strings(cond.get("sources"), "conditions.sources", CONDITION_SOURCES),
                  "keywords": _strings(cond.get("keywords"), "conditions.keywords", lower=True)}
    if act.get("priority") and act["priority"] not in PRIORITIES:
        raise Invalid(f"actions.priority must be one of {', '.join(PRIORITIES)}", field="actions.priority")
    if act.get("assignee_id") is not None and store.user_in_tenant(c, tenant_id, act["assignee_id"]) is None:
        raise Invalid(f"no active user {act['assignee_id']} in this tenant", field="actions.assignee_id")
    queue = teams.check_queue(c, tenant_id, act.get("queue_id"), "actions.queue_id")
    actions = {"queue_id": queue["id"] if queue else None,
               "team_id": teams.check_team(c, tenant_id, act.get("team_id"), "actions.team_id"),
               "assignee_id": act.get("assignee_id"), "priority": act.get("priority") or None,
               "tags": _strings(act.get("tags"), "actions.tags", lower=True)}
    if len(actions["tags"]) > 20 or any(len(t) > 40 for t in actions["tags"]):
        raise Invalid("actions.tags: at most 20 tags of up to 40 characters", field="actions.tags")
    if not any(v for v in actions.values()):
        raise Invalid("a rule needs at least one action", field="actions")
    return {"name": teams.name_of(data), "enabled": int(data.get("enabled", True)),
            "on_update": int(bool(data.get("on_update"))), "continue_after": int(bool(data.get("continue_after"))),
            "conditions": json.dumps(conditions), "actions": json.dumps(actions)}


def rule_out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "enabled": bool(row["enabled"]), "on_update": bool(row["on_update"]),
            "continue_after": bool(row["continue_after"]), "conditions": json.loads(row["conditions"]),
            "actions": json.loads(row["actions"])}


def list_rules(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    return [rule_out(r) for r in settings.rows(rt, p, "rule")]


def get_rule(rt: Runtime, p: Principal, rule_id: int) -> dict[str, Any]:
    return rule_out(settings.get(rt, p, "rule", rule_id))


def save_rule(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any], rule_id: int | None = None) -> dict[str, Any]:
    """Create (appended after the last rule) or replace a rule."""

    def check(c: Any) -> dict[str, Any]:
        values = _check_rule(c, p.tenant_id, data)
        return values if rule_id is not None else {**values, "position": rs.next_rule_position(c, p.tenant_id)}

    return get_rule(rt, p, settings.save(rt, p, actor, "rule", check, rule_id))


def reorder_rules(rt: Runtime, p: Principal, actor: Actor, rule_ids: list[int]) -> list[dict[str, Any]]:
    """``rule_ids``: every rule of the tenant, in the new order."""
    p.require_everywhere("tickets.write", "routing rules are tenant-wide")

    def write(c: Any) -> None:
        current = {r["id"] for r in rs.rows(c, "rule", p.tenant_id)}
        if sorted(rule_ids) != sorted(current):
            raise Invalid("rule_ids must list every routing rule of the tenant once", field="rule_ids")
        for position, rule_id in enumerate(rule_ids, start=1):
            rs.update(c, "rule", p.tenant_id, rule_id, {"position": position})

    rt.db.write(write)
    rt.bus.emit("ticket_routing_rule.reordered", p.tenant_id, actor.as_dict(), object_type="tenant",
                object_id=p.tenant_id, summary={"rule_ids": rule_ids})
    return list_rules(rt, p)


def delete_rule(rt: Runtime, p: Principal, actor: Actor, rule_id: int) -> None:
    settings.delete(rt, p, actor, "rule", rule_id)

"""Checks: defining them at a scope, what applies to a device, states and history. No HTTP."""

from __future__ import annotations

import json
import time
from typing import Any

from ninjait.core.errors import Forbidden, Invalid, NotFound
from ninjait.core.runtime import Runtime
from ninjait.devices import service as devices
from ninjait.identity import service as identity
from ninjait.identity.principal import Actor, Principal
from ninjait.monitoring.checks import agent_side, kinds, scope, store

READ, WRITE = "checks.read", "checks.write"  # registered with the others in identity/permissions.py
FIELDS = ("name", "kind", "run_from", "params", "severity", "interval_seconds", "fail_after", "recover_after",
          "enabled", "exclude_device_ids")


def _out(row: dict[str, Any], excluded: set[int] | None = None) -> dict[str, Any]:
    params = json.loads(row["params"]) if isinstance(row["params"], str) else row["params"]
    return {**row, "params": params, "enabled": bool(row["enabled"]), "description": kinds.describe(row["kind"], params),
            "exclude_device_ids": sorted(excluded or ())}


def _visible(p: Principal, row: dict[str, Any], permission: str = READ) -> bool:
    """Tenant and group checks span organizations: reading needs the permission somewhere, changing it
    everywhere. Other scopes lie in one organization."""
    if row["organization_id"] is None:
        return p.can_somewhere(permission) if permission == READ else p.organizations_for(permission) is None
    return p.can(permission, row["organization_id"])


def get_check(rt: Runtime, p: Principal, check_id: int, permission: str = READ) -> dict[str, Any]:
    with rt.db.read() as c:
        row = store.get(c, p.tenant_id, check_id)
        excluded = store.exclusions(c, [check_id]).get(check_id) if row else None
    if row is None or not _visible(p, row):
        raise NotFound("check not found")
    if not _visible(p, row, permission):
        raise Forbidden(f"you need the permission {permission} for this check's scope")
    return _out(row, excluded)


def list_checks(rt: Runtime, p: Principal, *, scope_kind: str = "", scope_id: int | None = None,
                kind: str = "") -> list[dict[str, Any]]:
    if scope_kind and scope_kind not in kinds.SCOPES:
        raise Invalid(f"scope_kind must be one of {', '.join(kinds.SCOPES)}", field="scope_kind")
    if kind and kind not in kinds.KINDS:
        raise Invalid(f"kind must be one of {', '.join(kinds.KINDS)}", field="kind")
    with rt.db.read() as c:
        rows = [r for r in store.list_for(c, p.tenant_id, scope_kind=scope_kind, scope_id=scope_id, kind=kind)
                if _visible(p, r)]
        excluded = store.exclusions(c, [r["id"] for r in rows])
        counts = store.state_counts(c, p.tenant_id, [r["id"] for r in rows])
    return [{**_out(r, excluded.get(r["id"])), "states": counts.get(r["id"], {})} for r in rows]


def _scope_organization(rt: Runtime, p: Principal, scope_kind: str, scope_id: int | None) -> int | None:
    """The organization a scope lies in (None: the whole tenant or a group), checking the scope exists."""
    if scope_kind not in kinds.SCOPES:
        raise Invalid(f"scope_kind must be one of {', '.join(kinds.SCOPES)}", field="scope_kind")
    if scope_kind == "tenant":
        if scope_id is not None:
            raise Invalid("a tenant-wide check has no scope_id", field="scope_id")
        return None
    if not isinstance(scope_id, int) or scope_id < 1:
        raise Invalid(f"a check for a {scope_kind} needs scope_id", field="scope_id")
    if scope_kind == "organization":
        return identity.get_organization(rt, p, scope_id)["id"]
    if scope_kind == "site":
        return identity.get_site(rt, p, scope_id)["organization_id"]
    if scope_kind == "device":
        return devices.get_device(rt, p, scope_id)["organization_id"]
    from ninjait.devices import groups

    groups.get_group(rt, p, scope_id)  # NotFound for another tenant's group
    return None  # a group spans its devices' organizations


def _clean(rt: Runtime, p: Principal, data: dict[str, Any]) -> dict[str, Any]:
    kind = data["kind"]
    if kind not in kinds.KINDS:
        raise Invalid(f"kind must be one of {', '.join(kinds.KINDS)}", field="kind")
    spec = kinds.KINDS[kind]
    name = str(data.get("name") or "").strip()
    if not 1 <= len(name) <= 200:
        raise Invalid("name is required (up to 200 characters)", field="name")
    run_from = data.get("run_from") or spec.runs[0]
    if run_from not in spec.runs:
        raise Invalid(f"a {kind} check runs from {' or '.join(spec.runs)}", field="run_from")
    if data.get("severity") not in kinds.SEVERITIES:
        raise Invalid(f"severity must be one of {', '.join(kinds.SEVERITIES)}", field="severity")
    interval = data.get("interval_seconds")
    if not isinstance(interval, int) or not spec.min_interval <= interval <= 86400:
        raise Invalid(f"interval_seconds must be from {spec.min_interval} to 86400 for a {kind} check",
                      field="interval_seconds")
    if run_from == "appliance" and kind in kinds.PROBES and interval < 60:
        raise Invalid("probes from the appliance run at most once a minute (interval_seconds 60 or more)",
                      field="interval_seconds")
    for key in ("fail_after", "recover_after"):
        if not isinstance(data.get(key), int) or not 1 <= data[key] <= 100:
            raise Invalid(f"{key} must be from 1 to 100", field=key)
    excluded = data.get("exclude_device_ids") or []
    if len(excluded) > 10_000:
        raise Invalid("at most 10000 excluded devices", field="exclude_device_ids")
    if excluded:
        with rt.db.read() as c:
            orgs = store.device_organizations(c, p.tenant_id, sorted(set(excluded)))
        for device_id in excluded:
            if not p.can("devices.read", orgs.get(device_id)) or device_id not in orgs:
                raise Invalid(f"exclude_device_ids: device {device_id} not found", field="exclude_device_ids")
    return {"name": name, "kind": kind, "run_from": run_from, "params": kinds.clean_params(kind, data.get("params") or {}),
            "severity": data["severity"], "interval_seconds": interval, "fail_after": data["fail_after"],
            "recover_after": data["recover_after"], "enabled": bool(data.get("enabled", True)),
            "exclude_device_ids": sorted(set(excluded))}


def _require_write(p: Principal, organization_id: int | None) -> None:
    if organization_id is None and p.organizations_for(WRITE) is not None:
        raise Forbidden(f"a tenant-wide or group check needs the permission {WRITE} in every organization")
    if organization_id is not None and not p.can(WRITE, organization_id):
        raise Forbidden(f"you need the permission {WRITE} for this organization")


def _changed(rt: Runtime, tenant_id: int) -> None:
    agent_side.CACHE.forget(tenant_id)


def create_check(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    org = _scope_organization(rt, p, data.get("scope_kind", ""), data.get("scope_id"))
    _require_write(p, org)
    clean = _clean(rt, p, data)
    now = int(time.time())
    excluded = clean.pop("exclude_device_ids")

    def write(c: Any) -> int:
        check_id = store.insert(c, {**clean, "tenant_id": p.tenant_id, "scope_kind": data["scope_kind"],
                                    "scope_id": data.get("scope_id"), "organization_id": org,
                                    "params": json.dumps(clean["params"]), "enabled": int(clean["enabled"]),
                                    "created_by": p.user_id or None, "created_at": now, "updated_at": now})
        store.set_exclusions(c, p.tenant_id, check_id, excluded)
        return check_id

    check_id = rt.db.write(write)
    _changed(rt, p.tenant_id)
    rt.bus.emit("check.created", p.tenant_id, actor.as_dict(), object_type="check", object_id=check_id,
                summary={"name": clean["name"], "kind": clean["kind"], "scope": f"{data['scope_kind']}:{data.get('scope_id') or ''}"})
    return get_check(rt, p, check_id)


def update_check(rt: Runtime, p: Principal, actor: Actor, check_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """Change what a check does (not where it is defined: make a new one for another scope)."""
    current = get_check(rt, p, check_id, WRITE)
    if "kind" in changes and changes["kind"] != current["kind"]:
        raise Invalid("the kind of a check cannot change; create a new check", field="kind")
    merged = {**{k: current[k] for k in FIELDS}, **{k: v for k, v in changes.items() if k in FIELDS}}
    if "params" in changes:
        merged["params"] = changes["params"]
    clean = _clean(rt, p, merged)
    excluded = clean.pop("exclude_device_ids")

    def write(c: Any) -> None:
        store.update(c, p.tenant_id, check_id, {**clean, "params": json.dumps(clean["params"]),
                                               "enabled": int(clean["enabled"]), "updated_at": int(time.time())})
        store.set_exclusions(c, p.tenant_id, check_id, excluded)
        # States of devices no longer covered would linger; clear those of excluded devices now.
        for device_id in excluded:
            c.execute("DELETE FROM check_states WHERE check_id = ? AND device_id = ?", (check_id, device_id))

    rt.db.write(write)
    _changed(rt, p.tenant_id)
    rt.bus.emit("check.updated", p.tenant_id, actor.as_dict(), object_type="check", object_id=check_id,
                summary={"name": clean["name"], "fields": sorted(k for k in changes if k in FIELDS)})
    return get_check(rt, p, check_id)


def set_excluded(rt: Runtime, p: Principal, actor: Actor, check_id: int, device_id: int, excluded: bool
                 ) -> dict[str, Any]:
    """Take one device out of a check it inherits (or put it back): the device-level override."""
    check = get_check(rt, p, check_id, WRITE)
    devices.get_device(rt, p, device_id)

    def write(c: Any) -> None:
        if excluded:
            c.execute("INSERT INTO check_exclusions (check_id, tenant_id, device_id) VALUES (?, ?, ?) "
                      "ON CONFLICT (check_id, device_id) DO NOTHING", (check_id, p.tenant_id, device_id))
            c.execute("DELETE FROM check_states WHERE check_id = ? AND device_id = ?", (check_id, device_id))
        else:
            c.execute("DELETE FROM check_exclusions WHERE check_id = ? AND tenant_id = ? AND device_id = ?",
                      (check_id, p.tenant_id, device_id))

    rt.db.write(write)
    _changed(rt, p.tenant_id)
    rt.bus.emit("check.device_excluded" if excluded else "check.device_included", p.tenant_id, actor.as_dict(),
                object_type="check", object_id=check_id, summary={"name": check["name"], "device_id": device_id})
    return get_check(rt, p, check_id)


def delete_check(rt: Runtime, p: Principal, actor: Actor, check_id: int) -> None:
    current = get_check(rt, p, check_id, WRITE)
    rt.db.write(lambda c: store.delete(c, p.tenant_id, check_id))
    _changed(rt, p.tenant_id)
    rt.bus.emit("check.deleted", p.tenant_id, actor.as_dict(), object_type="check", object_id=check_id,
                summary={"name": current["name"], "kind": current["kind"]})


def device_checks(rt: Runtime, p: Principal, device_id: int) -> list[dict[str, Any]]:
    """The checks that apply to a device (inherited from every scope it lies in), each with its state."""
    device = devices.get_device(rt, p, device_id)
    if not p.can(READ, device["organization_id"]):
        raise Forbidden(f"you need the permission {READ} for this device's organization")
    with rt.db.read() as c:
        checkset = scope.load(c, [p.tenant_id])
        states = store.states_of_device(c, p.tenant_id, device_id)
    out = []
    for check in checkset.for_device(device):
        state = states.get(check["id"], {})
        out.append({**_out(check), "state": state.get("state", "unknown"), "message": state.get("message", ""),
                    "last_value": state.get("last_value"), "last_run_at": state.get("last_run_at"),
                    "changed_at": state.get("changed_at")})
    order = {"failing": 0, "warning": 1, "unknown": 2, "passing": 3}
    return sorted(out, key=lambda r: (order[r["state"]], r["name"]))


def results(rt: Runtime, p: Principal, check_id: int, device_id: int | None = None, limit: int = 100,
            before: float | None = None) -> list[dict[str, Any]]:
    get_check(rt, p, check_id)
    if not 1 <= limit <= 1000:
        raise Invalid("limit must be from 1 to 1000", field="limit")
    allowed = p.organizations_for(READ)
    if device_id is not None:
        devices.get_device(rt, p, device_id)
    with rt.db.read() as c:
        rows = store.results(c, p.tenant_id, check_id, device_id, limit if allowed is None else 1000, before)
        if allowed is not None:
            orgs = {d: r["organization_id"] for d, r in store.devices_by_id(c, sorted({r["device_id"] for r in rows})).items()}
            rows = [r for r in rows if orgs.get(r["device_id"]) in allowed][:limit]
    return rows

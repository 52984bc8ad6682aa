"""Custom fields: a tenant's typed fields (text, number, date, choice) and the values devices hold.

The same definitions serve tickets (``applies_to="ticket"``, values in ticket_custom_values, changed with
tickets.write instead of devices.write); keys are unique across both."""

from __future__ import annotations

import json
import math
import re
import time
from typing import Any

from ninjait.core.db import Conn
from ninjait.core.errors import Conflict, Forbidden, Invalid, NotFound
from ninjait.core.runtime import Runtime
from ninjait.devices import meta_store, rules
from ninjait.identity.principal import Actor, Principal

KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
TYPES = ("text", "number", "date", "choice")
WRITE_PERMISSION = {"device": "devices.write", "ticket": "tickets.write"}
MAX_TEXT = 1000


def require_tenant_wide(p: Principal, permission: str = "devices.write") -> None:
    """Fields and groups span every organization: changing them needs the write permission in all of them."""
    if not p.can(permission) or p.organizations_for(permission) is not None:
        raise Forbidden(f"you need the permission {permission} in every organization to change this")


def _out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "choices": json.loads(row["choices"] or "[]"), "required": bool(row["required"])}


def definitions(c: Conn, tenant_id: int, applies_to: str = "device") -> list[dict[str, Any]]:
    return [_out(r) for r in meta_store.list_fields(c, tenant_id, applies_to)]


def types_of(c: Conn, tenant_id: int) -> dict[str, str]:
    return {f["key"]: f["type"] for f in meta_store.list_fields(c, tenant_id)}


def list_fields(rt: Runtime, p: Principal, applies_to: str = "device") -> list[dict[str, Any]]:
    with rt.db.read() as c:
        return definitions(c, p.tenant_id, applies_to)


def get_field(rt: Runtime, p: Principal, field_id: int, applies_to: str = "device") -> dict[str, Any]:
    with rt.db.read() as c:
        row = meta_store.get_field(c, p.tenant_id, field_id)
    if row is None or row["applies_to"] != applies_to:
        raise NotFound("custom field not found")
    return _out(row)


def _clean_choices(kind: str, choices: list[str]) -> list[str]:
    cleaned = list(dict.fromkeys(c.strip() for c in choices if c.strip()))
    if kind == "choice" and not cleaned:
        raise Invalid("a choice field needs at least one choice", field="choices")
    if kind != "choice" and cleaned:
        raise Invalid("only a choice field has choices", field="choices")
    return cleaned


def create_field(rt: Runtime, p: Principal, actor: Actor, key: str, label: str, kind: str, choices: list[str],
                 required: bool, applies_to: str = "device") -> dict[str, Any]:
    require_tenant_wide(p, WRITE_PERMISSION[applies_to])
    if not KEY.match(key):
        raise Invalid("the key is a lower-case letter then letters, digits or _ (up to 40)", field="key")
    if kind not in TYPES:
        raise Invalid(f"type must be one of {', '.join(TYPES)}", field="type")
    label = label.strip()
    if not label:
        raise Invalid("a label is needed", field="label")
    clean = _clean_choices(kind, choices)

    def create(c: Conn) -> int:
        if any(f["key"] == key for f in meta_store.list_fields(c, p.tenant_id, None)):
            raise Conflict(f"a custom field with the key {key!r} exists (keys are shared by devices and tickets)",
                           field="key")
        return meta_store.insert_field(c, p.tenant_id, key, label, kind, json.dumps(clean), required,
                                       int(time.time()), applies_to)

    field_id = rt.db.write(create)
    rt.bus.emit("custom_field.created", p.tenant_id, actor.as_dict(), object_type="custom_field",
                object_id=field_id, summary={"key": key, "type": kind, "required": required, "applies_to": applies_to})
    return get_field(rt, p, field_id, applies_to)


def update_field(rt: Runtime, p: Principal, actor: Actor, field_id: int, label: str, choices: list[str],
                 required: bool, applies_to: str = "device") -> dict[str, Any]:
    current = get_field(rt, p, field_id, applies_to)
    require_tenant_wide(p, WRITE_PERMISSION[applies_to])
    label = label.strip()
    if not label:
        raise Invalid("a label is needed", field="label")
    clean = _clean_choices(current["type"], choices)

    def update(c: Conn) -> None:
        if current["type"] == "choice" and meta_store.field_value_count(c, p.tenant_id, field_id, clean, applies_to):
            raise Conflict(f"{applies_to}s hold a choice you removed; change their values first", field="choices")
        meta_store.update_field(c, p.tenant_id, field_id, label, json.dumps(clean), required)

    rt.db.write(update)
    rt.bus.emit("custom_field.updated", p.tenant_id, actor.as_dict(), object_type="custom_field",
                object_id=field_id, summary={"key": current["key"], "label": label, "required": required})
    return get_field(rt, p, field_id, applies_to)


def delete_field(rt: Runtime, p: Principal, actor: Actor, field_id: int, applies_to: str = "device") -> None:
    current = get_field(rt, p, field_id, applies_to)
    require_tenant_wide(p, WRITE_PERMISSION[applies_to])

    def delete(c: Conn) -> None:
        for group in meta_store.dynamic_groups(c, p.tenant_id):
            if f'"custom.{current["key"]}"' in group["rules"]:
                raise Conflict(f"the dynamic group {group['name']!r} uses this field in its rules")
        meta_store.delete_field(c, p.tenant_id, field_id)

    rt.db.write(delete)
    rt.bus.emit("custom_field.deleted", p.tenant_id, actor.as_dict(), object_type="custom_field",
                object_id=field_id, summary={"key": current["key"]})


def clean_value(definition: dict[str, Any], value: Any) -> str | None:
    """The value as stored (canonical text), None to clear it; Invalid naming the field otherwise."""
    name = f"custom_fields.{definition['key']}"
    if value is None or value == "":
        if definition["required"]:
            raise Invalid(f"{definition['label']} is required", field=name)
        return None
    kind = definition["type"]
    if kind == "number":
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                raise Invalid(f"{definition['label']} must be a number", field=name) from None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise Invalid(f"{definition['label']} must be a number", field=name)
        if abs(value) >= 1e15:
            raise Invalid(f"{definition['label']} is out of range", field=name)
        return str(int(value)) if float(value).is_integer() else repr(float(value))
    if not isinstance(value, str):
        raise Invalid(f"{definition['label']} must be text", field=name)
    value = value.strip()
    if kind == "date":
        if not rules.is_date(value):
            raise Invalid(f"{definition['label']} must be a date as YYYY-MM-DD", field=name)
    elif kind == "choice":
        if value not in definition["choices"]:
            raise Invalid(f"{definition['label']} must be one of {', '.join(definition['choices'])}", field=name)
    elif len(value) > MAX_TEXT:
        raise Invalid(f"{definition['label']} is longer than {MAX_TEXT} characters", field=name)
    return value


def clean_values(c: Conn, tenant_id: int, values: dict[str, Any], *, complete: bool,
                 applies_to: str = "device") -> dict[int, str | None]:
    """key -> value from a request, as field id -> stored value. complete: every required field must be given."""
    by_key = {d["key"]: d for d in definitions(c, tenant_id, applies_to)}
    unknown = sorted(set(values) - set(by_key))
    if unknown:
        raise Invalid(f"no custom field with the key {unknown[0]!r}", field=f"custom_fields.{unknown[0]}")
    cleaned = {by_key[k]["id"]: clean_value(by_key[k], v) for k, v in values.items()}
    if complete:
        for d in by_key.values():
            if d["required"] and d["key"] not in values:
                raise Invalid(f"{d['label']} is required", field=f"custom_fields.{d['key']}")
        # A complete set replaces: fields left out are cleared.
        cleaned = {**{d["id"]: None for d in by_key.values()}, **cleaned}
    return cleaned


def filter_of(c: Conn, tenant_id: int, expression: str) -> tuple[int, str]:
    """'key=value' from the device list's `custom` filter -> (field id, value)."""
    key, sep, value = expression.partition("=")
    if not sep or not key.strip():
        raise Invalid("custom filters look like key=value", field="custom")
    found = next((d for d in definitions(c, tenant_id) if d["key"] == key.strip()), None)
    if found is None:
        raise Invalid(f"no custom field with the key {key.strip()!r}", field="custom")
    try:
        canonical = clean_value({**found, "required": False}, value.strip()) or ""
    except Invalid as exc:
        raise Invalid(f"custom filter: {exc.message}", field="custom") from None
    return found["id"], canonical

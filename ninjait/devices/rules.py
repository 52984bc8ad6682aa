"""The rule language of dynamic groups: validate a rule tree, then test devices against it.

A rule is a condition ``{"field": ..., "op": ..., "value": ...}`` or a combination
``{"all": [...]}``, ``{"any": [...]}``, ``{"not": rule}``. Evaluation runs in Python over
facts gathered in one pass (``Facts``), so one code path serves a single device after its
inventory changed and the whole tenant after the rules changed.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any

from ninjait.core.errors import Invalid

MAX_CONDITIONS = 50
MAX_DEPTH = 5
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

TEXT_OPS = ("is", "is_not", "contains", "not_contains", "starts_with", "ends_with")
NUMBER_OPS = ("eq", "ne", "gt", "gte", "lt", "lte")
DATE_OPS = ("is", "before", "after")
ID_OPS = ("is", "is_not")
TAG_OPS = ("is", "is_not")  # has the tag / lacks it
SET_OPS = ("is_set", "is_not_set")  # custom fields only: has a value / has none

# Inventory fields and their kinds. Status is left out on purpose: it changes every few minutes,
# and a group that churned with it would make checks and reports flap; filter the list by status instead.
FIELDS: dict[str, str] = {
    "hostname": "text", "os": "text", "os_version": "text", "platform": "text", "agent_version": "text",
    "owner": "text", "ram_gb": "number", "cpu_cores": "number", "purchase_date": "date", "warranty_end": "date",
    "site": "id", "organization": "id", "tag": "tag",
}
OPS = {"text": TEXT_OPS, "number": NUMBER_OPS, "date": DATE_OPS, "id": ID_OPS, "tag": TAG_OPS, "choice": TEXT_OPS}
# Fields read from the inventory JSON: only loaded when a rule names them.
INVENTORY_FIELDS = ("ram_gb", "cpu_cores")


@dataclass
class Facts:
    """What rules can see of one device."""

    row: dict[str, Any]
    tags: set[str] = field(default_factory=set)
    custom: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> Any:
        r = self.row
        if name == "os":
            return r.get("os_name", "")
        if name == "site":
            return r.get("site_id")
        if name == "organization":
            return r.get("organization_id")
        if name == "ram_gb":
            return round(float((r.get("inventory") or {}).get("ram_bytes") or 0) / (1 << 30), 1)
        if name == "cpu_cores":
            inv = r.get("inventory") or {}
            return int(inv.get("cpu_cores") or inv.get("cpu_threads") or 0)
        if name.startswith("custom."):
            return self.custom.get(name[7:])
        return r.get(name, "")


def _fail(path: str, message: str) -> Invalid:
    return Invalid(f"{path}: {message}", field=path)


def validate(rule: Any, custom_types: dict[str, str], path: str = "rules") -> dict[str, Any]:
    """The rule, cleaned; Invalid naming the bad part otherwise. custom_types: key -> type of the tenant's fields."""
    count = [0]
    clean = _check(rule, custom_types, path, 0, count)
    if count[0] == 0:
        raise _fail(path, "a dynamic group needs at least one condition")
    return clean


def _check(rule: Any, custom_types: dict[str, str], path: str, depth: int, count: list[int]) -> dict[str, Any]:
    if not isinstance(rule, dict):
        raise _fail(path, "must be an object: a condition or all/any/not")
    if depth > MAX_DEPTH:
        raise _fail(path, f"rules nest at most {MAX_DEPTH} levels deep")
    combinators = [k for k in ("all", "any", "not") if k in rule]
    if combinators:
        key = combinators[0]
        if len(rule) != 1:
            raise _fail(path, f"'{key}' stands alone in its object")
        if key == "not":
            return {"not": _check(rule["not"], custom_types, f"{path}.not", depth + 1, count)}
        items = rule[key]
        if not isinstance(items, list) or not items:
            raise _fail(f"{path}.{key}", "must be a non-empty list of rules")
        return {key: [_check(r, custom_types, f"{path}.{key}[{i}]", depth + 1, count) for i, r in enumerate(items)]}
    unknown = set(rule) - {"field", "op", "value"}
    if unknown:
        raise _fail(path, f"unknown key {sorted(unknown)[0]!r}; use field, op, value or all/any/not")
    count[0] += 1
    if count[0] > MAX_CONDITIONS:
        raise _fail(path, f"a group has at most {MAX_CONDITIONS} conditions")
    name, op = rule.get("field"), rule.get("op")
    if not isinstance(name, str):
        raise _fail(f"{path}.field", "is missing")
    if name.startswith("custom."):
        kind = custom_types.get(name[7:])
        if kind is None:
            raise _fail(f"{path}.field", f"no custom field with the key {name[7:]!r}")
        ops: tuple[str, ...] = OPS[kind] + SET_OPS
    elif name in FIELDS:
        kind = FIELDS[name]
        ops = OPS[kind]
    else:
        raise _fail(f"{path}.field", f"unknown field {name!r}; one of {', '.join(FIELDS)} or custom.<key>")
    if op not in ops:
        raise _fail(f"{path}.op", f"for {name} the operator is one of {', '.join(ops)}")
    if op in SET_OPS:
        if "value" in rule:
            raise _fail(f"{path}.value", f"{op} takes no value")
        return {"field": name, "op": op}
    return {"field": name, "op": op, "value": _value(rule.get("value"), kind, f"{path}.value")}


def _value(value: Any, kind: str, path: str) -> Any:
    if kind in ("text", "choice", "tag"):
        if not isinstance(value, str) or not value or len(value) > 200:
            raise _fail(path, "must be text of 1 to 200 characters")
        return value.strip().lower() if kind == "tag" else value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(path, "must be a number")
        return value
    if kind == "id":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise _fail(path, "must be the id (a positive whole number)")
        return value
    if not isinstance(value, str) or not is_date(value):
        raise _fail(path, "must be a date as YYYY-MM-DD")
    return value


def is_date(value: str) -> bool:
    if not DATE.match(value):
        return False
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def conditions(rule: dict[str, Any], path: str = "rules") -> list[tuple[str, dict[str, Any]]]:
    """Every condition of a validated rule with its path (for checks that need the database)."""
    if "field" in rule:
        return [(path, rule)]
    if "not" in rule:
        return conditions(rule["not"], f"{path}.not")
    key = "all" if "all" in rule else "any"
    return [found for i, r in enumerate(rule[key]) for found in conditions(r, f"{path}.{key}[{i}]")]


def names_inventory(rule: dict[str, Any]) -> bool:
    """Whether evaluating needs the inventory JSON (large: read only when needed)."""
    if "field" in rule:
        return rule["field"] in INVENTORY_FIELDS
    inner = rule.get("all") or rule.get("any") or [rule["not"]]
    return any(names_inventory(r) for r in inner)


def matches(rule: dict[str, Any], facts: Facts, custom_types: dict[str, str]) -> bool:
    if "all" in rule:
        return all(matches(r, facts, custom_types) for r in rule["all"])
    if "any" in rule:
        return any(matches(r, facts, custom_types) for r in rule["any"])
    if "not" in rule:
        return not matches(rule["not"], facts, custom_types)
    name, op = rule["field"], rule["op"]
    if name == "tag":
        return (rule["value"] in facts.tags) == (op == "is")
    actual = facts.get(name)
    kind = custom_types.get(name[7:], "text") if name.startswith("custom.") else FIELDS[name]
    if op in SET_OPS:
        return (actual not in (None, "")) == (op == "is_set")
    expected = rule["value"]
    if kind in ("text", "choice"):
        return _text(op, str(actual or "").lower(), str(expected).lower())
    if kind == "number":
        try:
            number = float(actual) if actual not in (None, "") else None
        except ValueError:
            number = None
        return number is not None and _number(op, number, float(expected))
    if kind == "date":
        if not actual:
            return False
        return actual == expected if op == "is" else actual < expected if op == "before" else actual > expected
    return (actual == expected) == (op == "is")


def _text(op: str, actual: str, expected: str) -> bool:
    if op == "is":
        return actual == expected
    if op == "is_not":
        return actual != expected
    if op == "contains":
        return expected in actual
    if op == "not_contains":
        return expected not in actual
    if op == "starts_with":
        return actual.startswith(expected)
    return actual.endswith(expected)


def _number(op: str, actual: float, expected: float) -> bool:
    return {"eq": actual == expected, "ne": actual != expected, "gt": actual > expected, "gte": actual >= expected,
            "lt": actual < expected, "lte": actual <= expected}[op]

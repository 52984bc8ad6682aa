"""The dynamic-group rule language: what validation refuses (naming the part) and what matches."""

from __future__ import annotations

from typing import Any

import pytest

from ninjait.core.errors import Invalid
from ninjait.devices.rules import Facts, matches, names_inventory, validate

CUSTOM = {"contract": "choice", "seats": "number", "renewal": "date", "note": "text"}


def device(**row: Any) -> Facts:
    base = {"id": 1, "hostname": "SRV-01", "os_name": "Windows Server", "os_version": "2022", "platform": "windows",
            "agent_version": "1.2.0", "owner": "", "purchase_date": "2023-05-01", "warranty_end": "",
            "site_id": 7, "organization_id": 3, "inventory": {"ram_bytes": 16 << 30, "cpu_threads": 8}}
    tags = set(row.pop("tags", ()))
    custom = row.pop("custom", {})
    return Facts({**base, **row}, tags, custom)


def check(rule: dict[str, Any], facts: Facts) -> bool:
    return matches(validate(rule, CUSTOM), facts, CUSTOM)


@pytest.mark.parametrize(("rule", "expected"), [
    ({"field": "os", "op": "contains", "value": "windows"}, True),
    ({"field": "hostname", "op": "starts_with", "value": "srv-"}, True),
    ({"field": "hostname", "op": "is_not", "value": "srv-01"}, False),
    ({"field": "tag", "op": "is", "value": "Servers"}, True),
    ({"field": "tag", "op": "is_not", "value": "servers"}, False),
    ({"field": "ram_gb", "op": "gte", "value": 16}, True),
    ({"field": "cpu_cores", "op": "lt", "value": 8}, False),
    ({"field": "site", "op": "is", "value": 7}, True),
    ({"field": "organization", "op": "is_not", "value": 3}, False),
    ({"field": "purchase_date", "op": "before", "value": "2024-01-01"}, True),
    ({"field": "warranty_end", "op": "after", "value": "2000-01-01"}, False),  # no date: matches nothing
    ({"field": "custom.contract", "op": "is", "value": "GOLD"}, True),
    ({"field": "custom.seats", "op": "gt", "value": 10.5}, True),
    ({"field": "custom.renewal", "op": "is_set"}, False),
    ({"field": "custom.note", "op": "is_not_set"}, True),
    ({"all": [{"field": "tag", "op": "is", "value": "servers"}, {"not": {"field": "os", "op": "contains",
                                                                         "value": "linux"}}]}, True),
    ({"any": [{"field": "tag", "op": "is", "value": "kiosk"}, {"field": "custom.seats", "op": "eq", "value": 3}]},
     False),
])
def test_it_matches(rule: dict[str, Any], expected: bool) -> None:
    facts = device(tags={"servers"}, custom={"contract": "gold", "seats": "12"})
    assert check(rule, facts) is expected


@pytest.mark.parametrize(("rule", "path"), [
    ([], "rules"),
    ({}, "rules.field"),
    ({"field": "status", "op": "is", "value": "online"}, "rules.field"),
    ({"field": "os", "op": "gt", "value": "x"}, "rules.op"),
    ({"field": "os", "op": "is", "value": ""}, "rules.value"),
    ({"field": "ram_gb", "op": "gt", "value": True}, "rules.value"),
    ({"field": "site", "op": "is", "value": "7"}, "rules.value"),
    ({"field": "purchase_date", "op": "before", "value": "2024-02-30"}, "rules.value"),
    ({"field": "custom.nope", "op": "is", "value": "x"}, "rules.field"),
    ({"field": "custom.note", "op": "is_set", "value": "x"}, "rules.value"),
    ({"all": []}, "rules.all"),
    ({"all": [{"field": "os", "op": "is", "value": "x"}], "any": []}, "rules"),
    ({"any": [{"field": "os", "op": "is", "value": "x"}, {"field": "os", "op": "nope", "value": "x"}]},
     "rules.any[1].op"),
    ({"field": "os", "op": "is", "value": "x", "oops": 1}, "rules"),
    ({"not": {"not": {"not": {"not": {"not": {"not": {"field": "os", "op": "is", "value": "x"}}}}}}},
     "rules.not.not.not.not.not.not"),
    ({"any": [{"field": "os", "op": "is", "value": str(i)} for i in range(51)]}, "rules.any[50]"),
])
def test_it_refuses_bad_rules_naming_the_part(rule: Any, path: str) -> None:
    with pytest.raises(Invalid) as caught:
        validate(rule, CUSTOM)
    assert caught.value.field == path, caught.value.message


def test_it_reads_the_inventory_only_for_rules_that_need_it() -> None:
    assert names_inventory(validate({"not": {"field": "ram_gb", "op": "gt", "value": 4}}, CUSTOM))
    assert not names_inventory(validate({"all": [{"field": "os", "op": "is", "value": "x"}]}, CUSTOM))

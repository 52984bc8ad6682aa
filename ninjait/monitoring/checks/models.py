"""API shapes of checks."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

Scope = Literal["tenant", "organization", "site", "group", "device"]
KindName = Literal["metric", "cpu", "memory", "disk", "agent_offline", "process", "service", "ping", "tcp", "http",
                   "script"]
Severity = Literal["info", "warning", "critical"]
RunFrom = Literal["appliance", "agent"]
DeviceIds = Annotated[list[int], Meta(max_length=10000)]


class CheckIn(Struct, forbid_unknown_fields=True):
    """`params` depend on the kind (see docs/monitoring.md, check types); a bad one answers 400 naming the field."""

    name: Annotated[str, Meta(min_length=1, max_length=200)]
    kind: KindName
    scope_kind: Scope
    scope_id: int | None = None
    params: dict[str, Any] = {}
    run_from: RunFrom | None = None  # default: the kind's natural side (probes: the appliance)
    severity: Severity = "warning"
    interval_seconds: Annotated[int, Meta(ge=30, le=86400)] = 60
    fail_after: Annotated[int, Meta(ge=1, le=100)] = 1
    recover_after: Annotated[int, Meta(ge=1, le=100)] = 1
    enabled: bool = True
    exclude_device_ids: DeviceIds = []


class CheckPatch(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    params: dict[str, Any] | None = None
    run_from: RunFrom | None = None
    severity: Severity | None = None
    interval_seconds: Annotated[int, Meta(ge=30, le=86400)] | None = None
    fail_after: Annotated[int, Meta(ge=1, le=100)] | None = None
    recover_after: Annotated[int, Meta(ge=1, le=100)] | None = None
    enabled: bool | None = None
    exclude_device_ids: DeviceIds | None = None


class Check(Struct):
    id: int
    scope_kind: str
    scope_id: int | None
    organization_id: int | None
    name: str
    kind: str
    run_from: str
    params: dict[str, Any]
    description: str
    severity: str
    interval_seconds: int
    fail_after: int
    recover_after: int
    enabled: bool
    exclude_device_ids: list[int]
    created_at: int
    updated_at: int
    states: dict[str, int] = {}  # how many devices are in each state (lists only)


class DeviceCheck(Check):
    state: str = "unknown"
    message: str = ""
    last_value: float | None = None
    last_run_at: int | None = None
    changed_at: int | None = None


class CheckResult(Struct):
    id: int
    check_id: int
    device_id: int
    ts: float
    status: str
    state: str
    value: float | None
    message: str

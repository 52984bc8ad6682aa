"""API shapes of devices, enrollment tokens and agent commands."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct


class Device(Struct):
    id: int
    organization_id: int
    site_id: int
    hostname: str
    platform: str
    os_name: str
    os_version: str
    agent_version: str
    last_seen_at: int | None
    status: str
    created_at: int
    purchase_date: str = ""
    warranty_end: str = ""
    owner: str = ""
    notes: str = ""
    updated_at: int | None = None
    tags: list[str] = []


class DeviceGroupRef(Struct):
    id: int
    name: str
    kind: str


class DeviceDetail(Device):
    inventory: dict[str, Any] = {}
    live: dict[str, Any] = {}
    agent_status: str | None = None
    custom_fields: dict[str, str] = {}
    groups: list[DeviceGroupRef] = []


class EnrollmentToken(Struct):
    id: int
    site_id: int
    name: str
    prefix: str
    expires_at: int
    max_uses: int
    uses: int
    revoked_at: int | None
    created_at: int
    state: str


class EnrollmentTokenCreated(EnrollmentToken):
    token: str
    install_line: str


class EnrollmentTokenIn(Struct, forbid_unknown_fields=True):
    site_id: int
    name: Annotated[str, Meta(max_length=100)] = ""
    expires_in_hours: Annotated[int, Meta(ge=1, le=2160)] = 24
    max_uses: Annotated[int, Meta(ge=1, le=10000)] = 1


class CommandIn(Struct, forbid_unknown_fields=True):
    kind: Literal["run_script", "refresh_inventory", "reboot", "update_agent"]
    payload: dict[str, Any] = {}
    expires_in_seconds: Annotated[int, Meta(ge=60, le=604800)] = 3600
    not_before: int | None = None  # epoch seconds: "run later", delivered at the first check-in after this


class Command(Struct):
    id: int
    uid: str
    device_id: int
    kind: str
    payload: dict[str, Any]
    status: str
    issued_at: float
    expires_at: float
    created_by: int | None
    created_at: int
    delivered_at: int | None
    started_at: int | None
    finished_at: int | None
    exit_code: int | None
    stdout: str
    stderr: str
    reason: str
    not_before: int | None = None


class AgentUpdateIn(Struct, forbid_unknown_fields=True):
    version: Annotated[str, Meta(max_length=32)] = ""  # empty: the latest build published for the device's platform


class AgentRelease(Struct):
    platform: str
    version: str
    sha256: str
    size: int
    published_at: int
    url: str


class ActivityEntry(Struct):
    at_ms: int
    source: Literal["inventory", "event"]
    kind: str
    summary: str
    actor: str
    details: dict[str, Any]

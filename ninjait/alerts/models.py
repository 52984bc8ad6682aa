"""API shapes of alerts."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct


class Alert(Struct):
    id: int
    organization_id: int | None
    device_id: int | None
    source: str
    rule: str
    subject: str
    fingerprint: str
    severity: Literal["info", "warning", "critical"]
    state: Literal["triggered", "acknowledged", "resolved"]
    title: str
    message: str
    details: dict[str, Any]
    occurrences: int
    flapping: bool
    first_at: int
    last_at: int
    acknowledged_at: int | None
    acknowledged_by: int | None
    resolved_at: int | None
    resolved_by: int | None
    resolution_note: str
    device_hostname: str | None = None
    organization_name: str | None = None


class AlertTransition(Struct):
    at: int
    kind: str
    user_id: int | None
    actor: str
    note: str


class AlertDetail(Alert):
    transitions: list[AlertTransition] = []


class AlertNote(Struct):
    note: Annotated[str, Meta(max_length=2000)] = ""


class AlertBulk(Struct, forbid_unknown_fields=True):
    ids: Annotated[list[int], Meta(min_length=1, max_length=500)]
    action: Literal["acknowledge", "resolve"]
    note: Annotated[str, Meta(max_length=2000)] = ""


class AlertRefusal(Struct):
    id: int
    reason: str


class AlertBulkResult(Struct):
    done: list[int]
    refused: list[AlertRefusal]


class AlertCount(Struct):
    triggered: int

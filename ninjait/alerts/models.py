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
    in_maintenance: bool = False
    incident_id: int | None = None
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
    acknowledgement: list[AckReport] = []  # per escalation policy: target and time taken


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


class ChannelField(Struct):
    name: str
    label: str
    kind: str
    required: bool
    help: str
    default: str


class ChannelKind(Struct):
    kind: str
    label: str
    fields: list[ChannelField]


class NotificationChannel(Struct):
    id: int
    name: str
    kind: str
    config: dict[str, str]
    secrets_set: bool
    min_severity: str
    notify_resolved: bool
    notify_flapping: bool
    notify_ticket_sla: bool
    renotify_minutes: int
    organization_ids: list[int]
    group_ids: list[int]
    quiet_from: int | None
    quiet_to: int | None
    enabled: bool
    created_at: int


class NotificationChannelIn(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    kind: Annotated[str, Meta(max_length=50)]
    settings: dict[str, str] = {}
    min_severity: Literal["info", "warning", "critical"] = "warning"
    notify_resolved: bool = True
    notify_flapping: bool = False
    notify_ticket_sla: bool = False  # also ticket SLA warnings (as warning) and breaches (as critical)
    renotify_minutes: Annotated[int, Meta(ge=0, le=10080)] = 0
    organization_ids: list[int] = []  # only alerts of these organizations; empty: every organization
    group_ids: list[int] = []  # only alerts of devices in these device groups; empty: every device
    quiet_from: Annotated[int, Meta(ge=0, le=1439)] | None = None
    quiet_to: Annotated[int, Meta(ge=0, le=1439)] | None = None
    enabled: bool = True


class NotificationChannelUpdate(Struct):
    """Fields left out keep their value; a secret setting left empty keeps the stored secret."""
    name: Annotated[str, Meta(min_length=1, max_length=100)] | None = None
    settings: dict[str, str] | None = None
    min_severity: Literal["info", "warning", "critical"] | None = None
    notify_resolved: bool | None = None
    notify_flapping: bool | None = None
    notify_ticket_sla: bool | None = None
    renotify_minutes: Annotated[int, Meta(ge=0, le=10080)] | None = None
    organization_ids: list[int] | None = None
    group_ids: list[int] | None = None
    quiet_from: Annotated[int, Meta(ge=0, le=1439)] | None = None
    quiet_to: Annotated[int, Meta(ge=0, le=1439)] | None = None
    enabled: bool | None = None


class Delivery(Struct):
    id: int
    alert_id: int | None
    event: str
    message: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: int
    response_code: int | None
    last_error: str
    created_at: int
    sent_at: int | None


class DeliveryOutcome(Struct):
    id: int
    status: str | None = None
    attempts: int | None = None
    response_code: int | None = None
    last_error: str | None = None


class MaintenanceWindow(Struct):
    id: int
    name: str
    scope: str
    scope_id: int | None
    starts_at: int
    ends_at: int | None
    weekdays: list[int]
    minute_of_day: int
    duration_minutes: int
    created_by: int | None
    created_at: int
    open_now: bool


class MaintenanceWindowIn(Struct, forbid_unknown_fields=True):
    """One-off: starts_at and ends_at. Weekly: weekdays (0 = Monday), minute_of_day (UTC) and
    duration_minutes, from starts_at until ends_at (or for ever)."""
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    scope: Literal["tenant", "organization", "site", "group", "device"]
    starts_at: int
    scope_id: int | None = None
    ends_at: int | None = None
    weekdays: list[int] = []
    minute_of_day: int = 0
    duration_minutes: int = 0


class EscalationStep(Struct, forbid_unknown_fields=True):
    """Exactly one of channel_id, user_id (e-mailed), rotation_id (whoever is on call, e-mailed)."""
    after_minutes: Annotated[int, Meta(ge=0, le=10080)]
    channel_id: int | None = None
    user_id: int | None = None
    rotation_id: int | None = None


class EscalationPolicyIn(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    steps: Annotated[list[EscalationStep], Meta(min_length=1, max_length=10)]
    min_severity: Literal["info", "warning", "critical"] = "critical"
    ack_target_minutes: Annotated[int, Meta(ge=1, le=10080)] = 15
    enabled: bool = True


class EscalationPolicy(Struct):
    id: int
    name: str
    min_severity: str
    ack_target_minutes: int
    steps: list[dict[str, int]]
    enabled: bool
    created_at: int


class OncallRotationIn(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    user_ids: Annotated[list[int], Meta(min_length=1, max_length=52)]
    starts_at: int


class OncallRotation(Struct):
    id: int
    name: str
    user_ids: list[int]
    starts_at: int
    created_at: int
    on_call_user_id: int | None


class AckReport(Struct):
    policy: str
    target_minutes: int
    acknowledged: bool
    minutes: float
    met: bool
    breached: bool


class AlertActionIn(Struct, forbid_unknown_fields=True):
    """On `on_event` of an alert with a device whose rule is `rule` ('' = any) and severity at least
    `min_severity`, queue this script on the device."""
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    on_event: Literal["triggered", "resolved"]
    interpreter: Literal["sh", "bash", "python", "powershell", "cmd"]
    script: Annotated[str, Meta(min_length=1, max_length=262144)]
    rule: Annotated[str, Meta(max_length=200)] = ""
    min_severity: Literal["info", "warning", "critical"] = "info"
    timeout_seconds: Annotated[int, Meta(ge=1, le=86400)] = 300
    enabled: bool = True


class AlertAction(Struct):
    id: int
    name: str
    rule: str
    on_event: str
    min_severity: str
    interpreter: str
    script: str
    timeout_seconds: int
    enabled: bool
    created_by: int | None
    created_at: int


class IncidentMember(Struct):
    id: int
    state: str
    severity: str
    device_id: int | None
    device_hostname: str | None


class Incident(Struct):
    id: int
    organization_id: int | None
    rule: str
    title: str
    first_at: int
    last_at: int
    open: bool
    devices: int
    alerts: list[IncidentMember]


class EventRuleIn(Struct, forbid_unknown_fields=True):
    """Raise an alert when `event` happens (its device, if it has one, is the alert's); `clear_event`, if given,
    resolves it again."""
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    event: Annotated[str, Meta(max_length=100)]
    clear_event: Annotated[str, Meta(max_length=100)] = ""
    severity: Literal["info", "warning", "critical"] = "warning"
    enabled: bool = True


class EventRule(Struct):
    id: int
    name: str
    event: str
    clear_event: str
    severity: str
    enabled: bool
    created_at: int

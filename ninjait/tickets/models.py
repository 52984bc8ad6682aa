"""API shapes of tickets, comments, statuses and contacts."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct, field

from ninjait.tickets.collab_models import TicketAttachment, TicketCc, TicketLink, TicketRef

Priority = Literal["P1", "P2", "P3", "P4"]


class TicketDevice(Struct):
    id: int
    hostname: str


class SlaClock(Struct):
    clock: Literal["first_response", "next_response", "resolution"]
    state: Literal["running", "warning", "paused", "breached", "met"]
    target: int           # business seconds
    elapsed: int          # business seconds used, pauses excluded
    due_at: int | None    # None while paused or once stopped
    percent: float


class TicketComment(Struct):
    id: int
    kind: Literal["reply", "note", "customer"]
    body: str
    author_id: int | None
    author: str
    created_at: int


class TicketTransition(Struct):
    at: int
    field: str
    old_value: str
    new_value: str
    user_id: int | None
    actor: str


class Ticket(Struct):
    id: int
    number: str
    organization_id: int
    organization_name: str | None
    contact_id: int | None
    contact_name: str | None
    subject: str
    description: str
    status_id: int
    status: str
    status_type: Literal["new", "open", "pending", "resolved", "closed"]
    priority: Priority
    category: str
    assignee_id: int | None
    assignee_name: str | None
    source: str
    tags: list[str]
    alert_id: int | None
    created_by: int | None
    created_at: int
    updated_at: int
    first_response_at: int | None
    resolved_at: int | None
    closed_at: int | None
    awaiting_reply_since: int | None = None
    sla_policy_id: int | None = None
    due_at: int | None = None
    sla: list[SlaClock] = []
    snippet: str = ""     # with a full-text query: the best matching passage
    custom_fields: dict[str, str] = {}  # on the detail only
    queue_id: int | None = None   # routing (teams.py, routing.py)
    queue_name: str | None = None
    team_id: int | None = None
    team_name: str | None = None


class TicketEmail(Struct):
    """An e-mail the ticket sent (a public reply to the requester): queued, sent or failed."""

    id: int
    comment_id: int | None
    recipients: list[str]
    message_id: str
    status: str
    attempts: int
    last_error: str
    created_at: int
    sent_at: int | None


class TicketDetail(Ticket):
    emails: list[TicketEmail] = []
    devices: list[TicketDevice] = []
    comments: list[TicketComment] = []
    transitions: list[TicketTransition] = []
    links: list[TicketLink] = []
    merged_into: TicketRef | None = None  # this ticket was merged into that one (and closed)
    ccs: list[TicketCc] = []
    attachments: list[TicketAttachment] = []


class TicketIn(Struct):
    subject: Annotated[str, Meta(max_length=200)]
    organization_id: int
    description: Annotated[str, Meta(max_length=20000)] = ""
    priority: Priority = "P3"
    category: Annotated[str, Meta(max_length=100)] = ""
    status_id: int | None = None
    assignee_id: int | None = None
    contact_id: int | None = None
    device_ids: Annotated[list[int], Meta(max_length=50)] = []
    tags: Annotated[list[str], Meta(max_length=20)] = []
    due_at: int | None = None  # a date promised to the customer, epoch seconds
    custom_fields: dict[str, str | int | float | None] = {}  # by key: see /api/v1/ticket-fields
    queue_id: int | None = None   # its default team comes along unless team_id is given
    team_id: int | None = None


class TicketPatch(Struct):
    """Absent or null fields stay as they are; `unassign` true clears the assignee, `clear_queue` / `clear_team`
    the queue / team."""

    subject: Annotated[str, Meta(max_length=200)] | None = None
    description: Annotated[str, Meta(max_length=20000)] | None = None
    priority: Priority | None = None
    category: Annotated[str, Meta(max_length=100)] | None = None
    status_id: int | None = None
    assignee_id: int | None = None
    unassign: bool = False
    contact_id: int | None = None
    device_ids: Annotated[list[int], Meta(max_length=50)] | None = None
    tags: Annotated[list[str], Meta(max_length=20)] | None = None
    due_at: int | None = None  # 0 clears it
    custom_fields: dict[str, str | int | float | None] | None = None  # only the keys given change; null clears one
    queue_id: int | None = None
    team_id: int | None = None
    clear_queue: bool = False
    clear_team: bool = False


class TicketCommentIn(Struct):
    """`customer`: the requester's message, entered for them (a phone call); it starts the next-response clock."""

    body: Annotated[str, Meta(max_length=20000)] = ""
    kind: Literal["reply", "note", "customer"] = "reply"


StatusType = Literal["new", "open", "pending", "resolved", "closed"]


class TicketStatus(Struct):
    id: int
    name: str
    type: StatusType
    position: int
    pauses_sla: bool


class TicketStatusIn(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(max_length=60)]
    type: StatusType
    position: Annotated[int, Meta(ge=0, le=1000)] = 0
    pauses_sla: bool | None = None


class TicketStatusPatch(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(max_length=60)] | None = None
    type: StatusType | None = None
    position: Annotated[int, Meta(ge=0, le=1000)] | None = None
    pauses_sla: bool | None = None


class TicketNumbering(Struct, forbid_unknown_fields=True):
    prefix: Annotated[str, Meta(max_length=10)]
    next_number: Annotated[int, Meta(ge=1)] | None = None


class Contact(Struct):
    id: int
    organization_id: int
    organization_ids: list[int]
    name: str
    email: str
    phone: str
    title: str
    created_at: int


class ContactIn(Struct):
    name: Annotated[str, Meta(max_length=200)]
    organization_id: int
    organization_ids: list[int] = []
    email: Annotated[str, Meta(max_length=254)] = ""
    phone: Annotated[str, Meta(max_length=50)] = ""
    title: Annotated[str, Meta(max_length=100)] = ""


class ContactPatch(Struct):
    name: Annotated[str, Meta(max_length=200)] | None = None
    email: Annotated[str, Meta(max_length=254)] | None = None
    phone: Annotated[str, Meta(max_length=50)] | None = None
    title: Annotated[str, Meta(max_length=100)] | None = None
    organization_id: int | None = None
    organization_ids: list[int] | None = None


class SlaCalendar(Struct):
    id: int
    name: str
    timezone: str
    weekly: dict[int, list[list[int]]]
    holidays: list[str]
    always_open: bool


class SlaCalendarIn(Struct):
    """`weekly`: per weekday (0 = Monday) ranges [start, end] in local minutes of the day (1440 = midnight);
    `holidays`: dates YYYY-MM-DD; `always_open`: 24x7."""

    name: Annotated[str, Meta(max_length=100)]
    timezone: str = "UTC"
    weekly: dict[int, list[list[int]]] = {}
    holidays: list[str] = []
    always_open: bool = False


class SlaCalendarPatch(Struct, forbid_unknown_fields=True):
    name: Annotated[str, Meta(max_length=100)] | None = None
    timezone: str | None = None
    weekly: dict[int, list[list[int]]] | None = None
    holidays: list[str] | None = None
    always_open: bool | None = None


class HolidayImport(Struct):
    calendar: SlaCalendar
    added: int
    skipped: list[str]


class SlaPolicy(Struct):
    id: int
    name: str
    calendar_id: int
    targets: dict[str, dict[str, int]]
    warn_percent: int
    organization_id: int | None
    priority: str
    created_at: int


class SlaPolicyIn(Struct):
    """`targets`: {"P1": {"first_response": 900, "next_response": 3600, "resolution": 14400}, ...} in business
    seconds. No organization and no priority: the tenant default."""

    name: Annotated[str, Meta(max_length=100)]
    calendar_id: int = 0
    targets: dict[str, dict[str, int]] = {}
    warn_percent: int = 80
    organization_id: int | None = None
    priority: str = ""


class SlaPolicyPatch(Struct, forbid_unknown_fields=True):
    """Absent fields stay; `organization_id` 0 makes the policy apply to any organization."""

    name: Annotated[str, Meta(max_length=100)] | None = None
    calendar_id: int | None = None
    targets: dict[str, dict[str, int]] | None = None
    warn_percent: int | None = None
    organization_id: int | None = None
    priority: str | None = None


class TicketAlertSettings(Struct):
    """Open a ticket for each new alert of at least `min_severity` ('' = off); resolve it with the alert."""

    min_severity: Literal["", "info", "warning", "critical"] = ""
    resolve_with_alert: bool = True


class TimeEntry(Struct):
    id: int
    ticket_id: int
    user_id: int | None
    started_at: int
    ended_at: int | None
    minutes: int
    work_type: str
    billable: bool
    note: str
    billed_at: int | None
    created_at: int
    running: bool


class TimeEntryIn(Struct, forbid_unknown_fields=True):
    """Minutes worked; `started_at` defaults to that many minutes ago."""
    minutes: Annotated[int, Meta(ge=1, le=1440)]
    started_at: int | None = None
    work_type: Literal["remote", "onsite", "phone", "travel", "admin"] = "remote"
    billable: bool = True
    note: Annotated[str, Meta(max_length=2000)] = ""


class TicketTime(Struct):
    entries: list[TimeEntry]
    total_minutes: int
    billable_minutes: int


class StopwatchStart(Struct, forbid_unknown_fields=True):
    work_type: Literal["remote", "onsite", "phone", "travel", "admin"] = "remote"


class StopwatchStop(Struct, forbid_unknown_fields=True):
    note: Annotated[str, Meta(max_length=2000)] = ""
    billable: bool = True


class Timesheet(Struct):
    from_: str = field(name="from")
    days: dict[str, int]
    entries: list[TimeEntry]
    total_minutes: int
    billable_minutes: int

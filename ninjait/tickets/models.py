"""API shapes of tickets, comments, statuses and contacts."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct

Priority = Literal["P1", "P2", "P3", "P4"]


class TicketDevice(Struct):
    id: int
    hostname: str


class TicketComment(Struct):
    id: int
    kind: Literal["reply", "note"]
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


class TicketDetail(Ticket):
    devices: list[TicketDevice] = []
    comments: list[TicketComment] = []
    transitions: list[TicketTransition] = []


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


class TicketPatch(Struct):
    """Absent or null fields stay as they are; `unassign` true clears the assignee."""

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


class TicketCommentIn(Struct):
    body: Annotated[str, Meta(max_length=20000)] = ""
    kind: Literal["reply", "note"] = "reply"


class TicketStatus(Struct):
    id: int
    name: str
    type: Literal["new", "open", "pending", "resolved", "closed"]
    position: int


class Contact(Struct):
    id: int
    organization_id: int
    name: str
    email: str
    phone: str
    created_at: int


class ContactIn(Struct):
    name: Annotated[str, Meta(max_length=200)]
    organization_id: int
    email: Annotated[str, Meta(max_length=254)] = ""
    phone: Annotated[str, Meta(max_length=50)] = ""


class ContactPatch(Struct):
    name: Annotated[str, Meta(max_length=200)] | None = None
    email: Annotated[str, Meta(max_length=254)] | None = None
    phone: Annotated[str, Meta(max_length=50)] | None = None

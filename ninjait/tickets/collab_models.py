"""API shapes of ticket collaboration: links, merges, CCs, attachments and mentions."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta, Struct


class TicketLink(Struct):
    role: Literal["parent", "child", "related"]  # what the linked ticket is to this one
    id: int
    number: str
    subject: str
    status_type: str


class TicketRef(Struct):
    id: int
    number: str


class TicketCc(Struct):
    email: str
    contact_id: int | None
    contact_name: str | None


class TicketAttachment(Struct):
    id: int
    ticket_id: int
    comment_id: int | None
    file_name: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: int | None
    created_at: int


class TicketLinkIn(Struct, forbid_unknown_fields=True):
    """`kind`: what `other_id` becomes to this ticket: its parent, its child, or a related ticket."""
    other_id: int
    kind: Literal["parent", "child", "related"] = "related"


class TicketMergeIn(Struct, forbid_unknown_fields=True):
    """Merge this ticket into `into_id` (the survivor, of the same organization)."""
    into_id: int


class TicketCcsIn(Struct, forbid_unknown_fields=True):
    emails: Annotated[list[Annotated[str, Meta(max_length=254)]], Meta(max_length=50)] = []
    contact_ids: Annotated[list[int], Meta(max_length=50)] = []


class Mention(Struct):
    id: int
    ticket_id: int
    number: str
    subject: str
    comment_id: int | None
    actor: str
    created_at: int
    read_at: int | None


class MentionsRead(Struct, forbid_unknown_fields=True):
    """Mark these of your mentions read; no `ids`: all of them."""
    ids: Annotated[list[int], Meta(max_length=500)] | None = None

"""REST API of ticket collaboration: links, merge, CCs, attachments and your @mentions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, Response, delete, get, post, put
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.params import Body, FromPath, FromQuery, JSONBody
from litestar.response import File
from litestar.status_codes import HTTP_204_NO_CONTENT

from ninjait.identity.http import actor_of, principal_of
from ninjait.identity.models import convert
from ninjait.tickets import attachments, ccs, links, mentions
from ninjait.tickets.collab_models import (
    Mention, MentionsRead, TicketAttachment, TicketCc, TicketCcsIn, TicketLink, TicketLinkIn, TicketMergeIn,
)
from ninjait.tickets.models import TicketDetail
from ninjait.ui.pages import service_error

Req = Request[Any, Any, Any]
READ, WRITE = {"permission": "tickets.read"}, {"permission": "tickets.write"}
TAGS = ["tickets"]


def rt(request: Req) -> Any:
    return request.app.state.runtime


@post("/api/v1/tickets/{ticket_id:int}/links", opt=WRITE, tags=TAGS, sync_to_thread=True)
def link_tickets(request: Req, ticket_id: FromPath[int], data: JSONBody[TicketLinkIn]) -> list[TicketLink]:
    """Link another ticket of your tenant as this one's parent, child or related ticket (one link per pair; no
    cycles of parents). Answers this ticket's links."""
    rows = links.link(rt(request), principal_of(request), actor_of(request), ticket_id, data.other_id, data.kind)
    return convert(rows, list[TicketLink])  # type: ignore[return-value]


@delete("/api/v1/tickets/{ticket_id:int}/links/{linked_id:int}", opt=WRITE, tags=TAGS, sync_to_thread=True,
        status_code=HTTP_204_NO_CONTENT)
def unlink_tickets(request: Req, ticket_id: FromPath[int], linked_id: FromPath[int]) -> None:
    links.unlink(rt(request), principal_of(request), actor_of(request), ticket_id, linked_id)


@post("/api/v1/tickets/{ticket_id:int}/merge", opt=WRITE, tags=TAGS, sync_to_thread=True, status_code=200)
def merge_ticket(request: Req, ticket_id: FromPath[int], data: JSONBody[TicketMergeIn]) -> TicketDetail:
    """Move this ticket's comments, time entries, attachments, devices and CCs to `into_id`, note it on both,
    close this one with a pointer (`merged_into`) to the survivor. Answers the survivor. Same organization only."""
    row = links.merge(rt(request), principal_of(request), actor_of(request), ticket_id, data.into_id)
    return convert(row, TicketDetail)  # type: ignore[return-value]


@get("/api/v1/tickets/{ticket_id:int}/ccs", opt=READ, tags=TAGS, sync_to_thread=True)
def list_ccs(request: Req, ticket_id: FromPath[int]) -> list[TicketCc]:
    return convert(ccs.list_ccs(rt(request), principal_of(request), ticket_id), list[TicketCc])  # type: ignore[return-value]


@put("/api/v1/tickets/{ticket_id:int}/ccs", opt=WRITE, tags=TAGS, sync_to_thread=True)
def set_ccs(request: Req, ticket_id: FromPath[int], data: JSONBody[TicketCcsIn]) -> list[TicketCc]:
    """Replace the CCs: addresses and/or contacts of the ticket's organization (their address is used)."""
    rows = ccs.set_ccs(rt(request), principal_of(request), actor_of(request), ticket_id, data.emails, data.contact_ids)
    return convert(rows, list[TicketCc])  # type: ignore[return-value]


@dataclass
class AttachmentUpload:
    file: UploadFile
    comment_id: int | None = None


def _too_large(request: Req, exc: Exception) -> Response[Any]:
    """Past the hard ceiling Litestar stops reading; say why in the words of the smaller limit (JSON or a page)."""
    return service_error(request, attachments.TooLarge(
        f"the upload is larger than {attachments.CEILING_MIB} MiB; the limit is "
        f"{rt(request).settings.attachment_max_mib} MiB (setting attachment_max_mib)", field="file"))


UPLOAD_LIMITS: dict[str, Any] = {"request_max_body_size": (attachments.CEILING_MIB + 1) * attachments.MIB,
                                 "exception_handlers": {RequestEntityTooLarge: _too_large}}


@get("/api/v1/tickets/{ticket_id:int}/attachments", opt=READ, tags=TAGS, sync_to_thread=True)
def list_attachments(request: Req, ticket_id: FromPath[int]) -> list[TicketAttachment]:
    rows = attachments.list_for(rt(request), principal_of(request), ticket_id)
    return convert(rows, list[TicketAttachment])  # type: ignore[return-value]


@post("/api/v1/tickets/{ticket_id:int}/attachments", opt=WRITE, tags=TAGS, sync_to_thread=True, **UPLOAD_LIMITS)
def upload_attachment(request: Req, ticket_id: FromPath[int],
                      data: Annotated[AttachmentUpload, Body(media_type=RequestEncodingType.MULTI_PART)]
                      ) -> TicketAttachment:
    """multipart/form-data: `file`, and `comment_id` to attach it to one of the ticket's comments. Larger than
    `attachment_max_mib`: 413."""
    upload = data.file
    row = attachments.upload(rt(request), principal_of(request), actor_of(request), ticket_id, upload.file,
                             upload.filename, upload.content_type, data.comment_id)
    return convert(row, TicketAttachment)  # type: ignore[return-value]


def download_response(row: dict[str, Any], path: Any) -> File:
    return File(path=path, media_type=row["content_type"], headers={
        "content-disposition": attachments.content_disposition(row["file_name"]),
        "x-content-type-options": "nosniff", "content-security-policy": "default-src 'none'; sandbox",
        "cache-control": "private, no-store"})


@get("/api/v1/ticket-attachments/{attachment_id:int}", opt=READ, tags=TAGS, sync_to_thread=True)
def download_attachment(request: Req, attachment_id: FromPath[int]) -> File:
    """The file, always as a download (`Content-Disposition: attachment`)."""
    row, path = attachments.open_file(rt(request), principal_of(request), attachment_id)
    return download_response(row, path)


@delete("/api/v1/ticket-attachments/{attachment_id:int}", opt=WRITE, tags=TAGS, sync_to_thread=True,
        status_code=HTTP_204_NO_CONTENT)
def delete_attachment(request: Req, attachment_id: FromPath[int]) -> None:
    attachments.delete(rt(request), principal_of(request), actor_of(request), attachment_id)


@get("/api/v1/me/mentions", opt=READ, tags=TAGS, sync_to_thread=True)
def my_mentions(request: Req, unread: FromQuery[bool] = False) -> list[Mention]:
    """Comments that @mentioned you, newest first (at most 100), on tickets you may still read."""
    return convert(mentions.list_mentions(rt(request), principal_of(request), unread), list[Mention])  # type: ignore[return-value]


@post("/api/v1/me/mentions/read", opt={"authenticated": True}, tags=TAGS, sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
def read_mentions(request: Req, data: JSONBody[MentionsRead]) -> None:
    """Self-service: it changes only your own notifications."""
    mentions.mark_read(rt(request), principal_of(request), data.ids)


route_handlers = [link_tickets, unlink_tickets, merge_ticket, list_ccs, set_ccs, list_attachments, upload_attachment,
                  download_attachment, delete_attachment, my_mentions, read_mentions]

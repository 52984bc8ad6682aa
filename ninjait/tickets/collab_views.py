"""Ticket page actions for collaboration (links, merge, CCs, attachments) and the page of your @mentions."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect, Template

from ninjait.core.errors import ServiceError
from ninjait.identity.http import actor_of, principal_of
from ninjait.identity.views import FormData, _back, field
from ninjait.tickets import attachments, ccs, links, mentions, views
from ninjait.tickets.collab_api import UPLOAD_LIMITS, AttachmentUpload, download_response
from ninjait.ui.pages import page

Req = Request[Any, Any, Any]
READ, WRITE = {"permission": "tickets.read"}, {"permission": "tickets.write"}


def rt(request: Req) -> Any:
    return request.app.state.runtime


def _done(request: Req, ticket_id: int, msg: str, action: Any) -> Response[Any]:
    try:
        action()
    except ServiceError as exc:
        return views._ticket_page(request, ticket_id, error=exc.message, status_code=exc.status)
    return _back(f"/tickets/{ticket_id}", msg)


@post("/tickets/{ticket_id:int}/links", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def link_page(request: Req, ticket_id: FromPath[int], data: FormData) -> Response[Any]:
    p, actor = principal_of(request), actor_of(request)
    return _done(request, ticket_id, "ticket-linked", lambda: links.link(
        rt(request), p, actor, ticket_id, links.find(rt(request), p, field(data, "other", 60), "other"),
        field(data, "kind", 20) or "related"))


@post("/tickets/{ticket_id:int}/links/{linked_id:int}/delete", opt=WRITE, include_in_schema=False,
      sync_to_thread=True)
def unlink_page(request: Req, ticket_id: FromPath[int], linked_id: FromPath[int]) -> Response[Any]:
    return _done(request, ticket_id, "ticket-unlinked", lambda: links.unlink(
        rt(request), principal_of(request), actor_of(request), ticket_id, linked_id))


@post("/tickets/{ticket_id:int}/merge", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def merge_page(request: Req, ticket_id: FromPath[int], data: FormData) -> Response[Any]:
    p = principal_of(request)
    try:
        survivor = links.merge(rt(request), p, actor_of(request), ticket_id,
                               links.find(rt(request), p, field(data, "into", 60), "into"))
    except ServiceError as exc:
        return views._ticket_page(request, ticket_id, error=exc.message, status_code=exc.status)
    return _back(f"/tickets/{survivor['id']}", "ticket-merged")


@post("/tickets/{ticket_id:int}/ccs", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def ccs_page(request: Req, ticket_id: FromPath[int], data: FormData) -> Response[Any]:
    emails = [e for e in field(data, "emails", 13000).replace(";", ",").replace("\n", ",").split(",") if e.strip()]
    chosen = data.get("contact_ids") or []
    contact_ids = [int(x) for x in (chosen if isinstance(chosen, list) else [chosen]) if str(x).isdigit()]
    return _done(request, ticket_id, "saved", lambda: ccs.set_ccs(
        rt(request), principal_of(request), actor_of(request), ticket_id, emails, contact_ids))


@post("/tickets/{ticket_id:int}/attachments", opt=WRITE, include_in_schema=False, sync_to_thread=True,
      **UPLOAD_LIMITS)
def upload_page(request: Req, ticket_id: FromPath[int],
                data: Annotated[AttachmentUpload, Body(media_type=RequestEncodingType.MULTI_PART)]) -> Response[Any]:
    return _done(request, ticket_id, "file-attached", lambda: attachments.upload(
        rt(request), principal_of(request), actor_of(request), ticket_id, data.file.file, data.file.filename,
        data.file.content_type, data.comment_id))


@get("/tickets/attachments/{attachment_id:int}", opt=READ, include_in_schema=False, sync_to_thread=True)
def download_page(request: Req, attachment_id: FromPath[int]) -> Any:
    row, path = attachments.open_file(rt(request), principal_of(request), attachment_id)
    return download_response(row, path)


@post("/tickets/attachments/{attachment_id:int}/delete", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def delete_attachment_page(request: Req, attachment_id: FromPath[int]) -> Response[Any]:
    p = principal_of(request)
    row = attachments.get(rt(request), p, attachment_id)
    return _done(request, row["ticket_id"], "file-deleted", lambda: attachments.delete(
        rt(request), p, actor_of(request), attachment_id))


@get("/tickets/mentions", opt=READ, include_in_schema=False, sync_to_thread=True)
def mentions_page(request: Req) -> Template:
    return page(request, "tickets/mentions.html", active="tickets",
                mentions=mentions.list_mentions(rt(request), principal_of(request)))


@post("/tickets/mentions/read", opt={"authenticated": True}, include_in_schema=False, sync_to_thread=True)
def mentions_read_page(request: Req) -> Redirect:
    mentions.mark_read(rt(request), principal_of(request))
    return _back("/tickets/mentions", "saved")


route_handlers = [link_page, unlink_page, merge_page, ccs_page, upload_page, download_page, delete_attachment_page,
                  mentions_page, mentions_read_page]

"""REST API and settings pages of the e-mail channel: mailboxes (with their log and a "fetch now"), and sender
domains mapped to organizations."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody
from litestar.response import Template
from litestar.status_codes import HTTP_204_NO_CONTENT
from msgspec import Meta, Struct

from ninjait.core.errors import ServiceError
from ninjait.identity import service as identity
from ninjait.identity.http import actor_of, principal_of
from ninjait.identity.models import convert
from ninjait.identity.views import FormData, _back, field, form_int
from ninjait.tickets import mail_imap, mail_settings, mailboxes
from ninjait.ui.pages import page

Req = Request[Any, Any, Any]
READ, WRITE = {"permission": "tickets.read"}, {"permission": "tickets.write"}


def rt(request: Req) -> Any:
    return request.app.state.runtime


class MailboxOut(Struct):
    id: int
    name: str
    address: str
    kind: str
    imap_host: str
    imap_port: int
    imap_security: str
    imap_verify: bool
    imap_username: str
    password_set: bool
    folder: str
    processed: str
    move_to: str
    poll_seconds: int
    organization_id: int
    create_contacts: bool
    reopen_days: int
    enabled: bool
    last_polled_at: int | None
    last_error: str
    created_at: int


class MailboxIn(Struct, forbid_unknown_fields=True):
    """`kind` imap: fetched from `imap_host`; smtp: mail the built-in receiver takes for `address`.
    `organization_id`: where tickets of senders who are neither contacts nor of a mapped domain go."""

    name: Annotated[str, Meta(max_length=100)]
    address: Annotated[str, Meta(max_length=254)]
    organization_id: int
    kind: Literal["imap", "smtp"] = "imap"
    imap_host: Annotated[str, Meta(max_length=253)] = ""
    imap_port: int = 993
    imap_security: Literal["tls", "starttls"] = "tls"
    imap_verify: bool = True
    imap_username: Annotated[str, Meta(max_length=254)] = ""
    password: Annotated[str, Meta(max_length=500)] = ""
    folder: Annotated[str, Meta(max_length=200)] = "INBOX"
    processed: Literal["move", "flag"] = "move"
    move_to: Annotated[str, Meta(max_length=200)] = "Processed"
    poll_seconds: int = 60
    create_contacts: bool = True
    reopen_days: int = 14
    enabled: bool = True


class MailboxPatch(Struct, forbid_unknown_fields=True):
    """Absent fields stay; an empty `password` keeps the stored one."""

    name: Annotated[str, Meta(max_length=100)] | None = None
    address: Annotated[str, Meta(max_length=254)] | None = None
    organization_id: int | None = None
    kind: Literal["imap", "smtp"] | None = None
    imap_host: Annotated[str, Meta(max_length=253)] | None = None
    imap_port: int | None = None
    imap_security: Literal["tls", "starttls"] | None = None
    imap_verify: bool | None = None
    imap_username: Annotated[str, Meta(max_length=254)] | None = None
    password: Annotated[str, Meta(max_length=500)] | None = None
    folder: Annotated[str, Meta(max_length=200)] | None = None
    processed: Literal["move", "flag"] | None = None
    move_to: Annotated[str, Meta(max_length=200)] | None = None
    poll_seconds: int | None = None
    create_contacts: bool | None = None
    reopen_days: int | None = None
    enabled: bool | None = None


class MailLogEntry(Struct):
    id: int
    message_id: str
    sender: str
    subject: str
    outcome: str
    ticket_id: int | None
    reason: str
    at: int


class MailDomain(Struct, forbid_unknown_fields=True):
    domain: Annotated[str, Meta(max_length=253)]
    organization_id: int


class MailboxController(Controller):
    path = "/api/v1/mailboxes"
    tags = ["tickets"]

    @get("/", opt=READ, sync_to_thread=True)
    def index(self, request: Req) -> list[MailboxOut]:
        return convert(mailboxes.list_mailboxes(rt(request), principal_of(request)), list[MailboxOut])  # type: ignore[return-value]

    @post("/", opt=WRITE, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[MailboxIn]) -> MailboxOut:
        """Tenant-wide: tickets.write in every organization. A support address belongs to one mailbox of one
        tenant (409). The password is stored encrypted and never returned."""
        row = mailboxes.create_mailbox(rt(request), principal_of(request), actor_of(request), msgspec.to_builtins(data))
        return convert(row, MailboxOut)  # type: ignore[return-value]

    @get("/{mailbox_id:int}", opt=READ, sync_to_thread=True)
    def show(self, request: Req, mailbox_id: FromPath[int]) -> MailboxOut:
        return convert(mailboxes.get_mailbox(rt(request), principal_of(request), mailbox_id), MailboxOut)  # type: ignore[return-value]

    @patch("/{mailbox_id:int}", opt=WRITE, sync_to_thread=True)
    def change(self, request: Req, mailbox_id: FromPath[int], data: JSONBody[MailboxPatch]) -> MailboxOut:
        row = mailboxes.update_mailbox(rt(request), principal_of(request), actor_of(request), mailbox_id,
                                       msgspec.to_builtins(data))
        return convert(row, MailboxOut)  # type: ignore[return-value]

    @delete("/{mailbox_id:int}", opt=WRITE, sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def remove(self, request: Req, mailbox_id: FromPath[int]) -> None:
        mailboxes.delete_mailbox(rt(request), principal_of(request), actor_of(request), mailbox_id)

    @get("/{mailbox_id:int}/log", opt=READ, sync_to_thread=True)
    def log(self, request: Req, mailbox_id: FromPath[int]) -> list[MailLogEntry]:
        """The last 100 messages: created, appended, reopened, duplicate, ignored (why), rejected, failed."""
        return convert(mailboxes.log_of(rt(request), principal_of(request), mailbox_id), list[MailLogEntry])  # type: ignore[return-value]

    @post("/{mailbox_id:int}/fetch", opt=WRITE, sync_to_thread=True, status_code=200)
    def fetch(self, request: Req, mailbox_id: FromPath[int]) -> list[MailLogEntry]:
        """Fetch an IMAP mailbox now instead of at its next poll; answers what became of each message."""
        return convert(fetch_now(request, mailbox_id), list[MailLogEntry])  # type: ignore[return-value]


def fetch_now(request: Req, mailbox_id: int) -> list[dict[str, Any]]:
    p = principal_of(request)
    mailboxes.get_mailbox(rt(request), p, mailbox_id)
    mailboxes.require_admin(p)
    with rt(request).db.read() as c:
        row = c.one(f"SELECT {mailboxes.COLUMNS} FROM mailboxes WHERE tenant_id = ? AND id = ?",
                    (p.tenant_id, mailbox_id))
    if row["kind"] != "imap":
        return []
    return mail_imap.poll(rt(request), row)


@get("/api/v1/mail-domains", opt=READ, tags=["tickets"], sync_to_thread=True)
def domains_index(request: Req) -> list[MailDomain]:
    """Mail from these domains' unknown senders opens tickets for the organization."""
    return convert(mailboxes.list_domains(rt(request), principal_of(request)), list[MailDomain])  # type: ignore[return-value]


@put("/api/v1/mail-domains", opt=WRITE, tags=["tickets"], sync_to_thread=True)
def domains_save(request: Req, data: JSONBody[MailDomain]) -> list[MailDomain]:
    mailboxes.set_domain(rt(request), principal_of(request), actor_of(request), data.domain, data.organization_id)
    return convert(mailboxes.list_domains(rt(request), principal_of(request)), list[MailDomain])  # type: ignore[return-value]


@delete("/api/v1/mail-domains/{domain:str}", opt=WRITE, tags=["tickets"], sync_to_thread=True,
        status_code=HTTP_204_NO_CONTENT)
def domains_remove(request: Req, domain: FromPath[str]) -> None:
    mailboxes.set_domain(rt(request), principal_of(request), actor_of(request), domain, None)


# --- pages ------------------------------------------------------------------------------------------

def _form(data: dict[str, Any]) -> dict[str, Any]:
    numbers = {k: field(data, k, 6) for k in ("imap_port", "poll_seconds", "reopen_days", "organization_id")}
    return {**{k: field(data, k, 254) for k in ("name", "address", "kind", "imap_host", "imap_security",
                                                 "imap_username", "folder", "processed", "move_to")},
            **{k: form_int(v, -1) for k, v in numbers.items()},
            "password": field(data, "password", 500),
            **{k: field(data, k, 5) == "on" for k in ("imap_verify", "create_contacts", "enabled")}}


def _list_page(request: Req, *, error: str = "", status_code: int = 200, form: dict[str, Any] | None = None,
               preview: dict[str, str] | None = None, drafts: dict[str, dict[str, str]] | None = None) -> Template:
    p = principal_of(request)
    templates = [{**t, **(drafts or {}).get(t["kind"], {})} for t in mail_settings.list_templates(rt(request), p)]
    return page(request, "tickets/mailboxes.html", status_code=status_code, active="settings", error=error,
                templates=templates, preview=preview, smtp=mail_settings.smtp_of(rt(request), p),
                mailboxes=mailboxes.list_mailboxes(rt(request), p), domains=mailboxes.list_domains(rt(request), p),
                orgs={o["id"]: o["name"] for o in identity.list_organizations(rt(request), p)},
                form=form or {"kind": "imap", "imap_port": 993, "folder": "INBOX", "move_to": "Processed",
                              "poll_seconds": 60, "reopen_days": 14, "imap_verify": True, "create_contacts": True,
                              "enabled": True, "processed": "move"},
                receiver_port=rt(request).settings.mail_receiver_port,
                can_write=p.can("settings.write"))


@get("/settings/mailboxes", opt=READ, include_in_schema=False, sync_to_thread=True)
def mailboxes_page(request: Req) -> Template:
    return _list_page(request)


@post("/settings/mailboxes", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def mailbox_create(request: Req, data: FormData) -> Response[Any]:
    form = _form(data)
    try:
        made = mailboxes.create_mailbox(rt(request), principal_of(request), actor_of(request), form)
    except ServiceError as exc:
        return _list_page(request, error=exc.message, status_code=exc.status, form={**form, "password": ""})
    return _back(f"/settings/mailboxes/{made['id']}", "saved")


@post("/settings/mail-domains", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def domain_save(request: Req, data: FormData) -> Response[Any]:
    org = field(data, "organization_id", 20)
    try:
        mailboxes.set_domain(rt(request), principal_of(request), actor_of(request), field(data, "domain", 253),
                             form_int(org))
    except ServiceError as exc:
        return _list_page(request, error=exc.message, status_code=exc.status)
    return _back("/settings/mailboxes", "saved")


def _mailbox_page(request: Req, mailbox_id: int, *, error: str = "", status_code: int = 200,
                  fetched: list[dict[str, Any]] | None = None) -> Template:
    p = principal_of(request)
    return page(request, "tickets/mailbox.html", status_code=status_code, active="settings", error=error,
                mailbox=mailboxes.get_mailbox(rt(request), p, mailbox_id),
                log=mailboxes.log_of(rt(request), p, mailbox_id), fetched=fetched,
                orgs={o["id"]: o["name"] for o in identity.list_organizations(rt(request), p)},
                can_write=p.can("settings.write"))


@get("/settings/mailboxes/{mailbox_id:int}", opt=READ, include_in_schema=False, sync_to_thread=True)
def mailbox_page(request: Req, mailbox_id: FromPath[int]) -> Template:
    return _mailbox_page(request, mailbox_id)


@post("/settings/mailboxes/{mailbox_id:int}", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def mailbox_update(request: Req, mailbox_id: FromPath[int], data: FormData) -> Response[Any]:
    try:
        mailboxes.get_mailbox(rt(request), principal_of(request), mailbox_id)
        mailboxes.update_mailbox(rt(request), principal_of(request), actor_of(request), mailbox_id, _form(data))
    except ServiceError as exc:
        return _mailbox_page(request, mailbox_id, error=exc.message, status_code=exc.status)
    return _back(f"/settings/mailboxes/{mailbox_id}", "saved")


@post("/settings/mailboxes/{mailbox_id:int}/fetch", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def mailbox_fetch(request: Req, mailbox_id: FromPath[int]) -> Template:
    try:
        fetched = fetch_now(request, mailbox_id)
    except ServiceError as exc:
        return _mailbox_page(request, mailbox_id, error=exc.message, status_code=exc.status)
    return _mailbox_page(request, mailbox_id, fetched=fetched)


@post("/settings/mailboxes/{mailbox_id:int}/delete", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def mailbox_delete(request: Req, mailbox_id: FromPath[int]) -> Response[Any]:
    mailboxes.delete_mailbox(rt(request), principal_of(request), actor_of(request), mailbox_id)
    return _back("/settings/mailboxes", "saved")


class MailTemplate(Struct):
    kind: str
    subject: str
    body: str
    enabled: bool
    custom: bool


class MailTemplateIn(Struct, forbid_unknown_fields=True):
    """Jinja (sandboxed): `ticket` (number, subject, status, priority, url), `contact` (name, email), `reply` (body,
    author), `tenant` (name), `portal_url`. Checked by rendering sample data; 400 names the line that fails."""

    subject: Annotated[str, Meta(max_length=500)]
    body: Annotated[str, Meta(max_length=20000)]
    kind: Literal["reply", "created"] = "reply"
    enabled: bool = True


class MailPreview(Struct):
    subject: str
    body: str


class TenantSmtp(Struct):
    host: str
    port: int
    security: str
    username: str
    password_set: bool
    sender: str


class TenantSmtpIn(Struct, forbid_unknown_fields=True):
    """An empty `host` goes back to the appliance's mail server; an empty `password` keeps the stored one."""

    host: Annotated[str, Meta(max_length=253)] = ""
    port: int = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: Annotated[str, Meta(max_length=254)] = ""
    password: Annotated[str, Meta(max_length=500)] = ""
    sender: Annotated[str, Meta(max_length=254)] = ""


@get("/api/v1/mail-templates", opt=READ, tags=["tickets"], sync_to_thread=True)
def templates_index(request: Req) -> list[MailTemplate]:
    """`reply` (a technician's public reply) and `created` (acknowledging a new e-mail or portal ticket; off until
    enabled); `custom` false: the built-in text."""
    return convert(mail_settings.list_templates(rt(request), principal_of(request)), list[MailTemplate])  # type: ignore[return-value]


@put("/api/v1/mail-templates", opt=WRITE, tags=["tickets"], sync_to_thread=True)
def templates_save(request: Req, data: JSONBody[MailTemplateIn]) -> MailTemplate:
    """Tenant-wide: tickets.write in every organization."""
    row = mail_settings.save_template(rt(request), principal_of(request), actor_of(request), data.kind, data.subject,
                                      data.body, data.enabled)
    return convert(row, MailTemplate)  # type: ignore[return-value]


@post("/api/v1/mail-templates/preview", opt=WRITE, tags=["tickets"], sync_to_thread=True, status_code=200)
def templates_preview(request: Req, data: JSONBody[MailTemplateIn]) -> MailPreview:
    """The template rendered with sample data."""
    return convert(mail_settings.preview(data.subject, data.body), MailPreview)  # type: ignore[return-value]


@get("/api/v1/mail-smtp", opt=READ, tags=["tickets"], sync_to_thread=True)
def smtp_show(request: Req) -> TenantSmtp:
    return convert(mail_settings.smtp_of(rt(request), principal_of(request)), TenantSmtp)  # type: ignore[return-value]


@put("/api/v1/mail-smtp", opt=WRITE, tags=["tickets"], sync_to_thread=True)
def smtp_save(request: Req, data: JSONBody[TenantSmtpIn]) -> TenantSmtp:
    """The tenant's own outgoing server for ticket e-mail (tenant-wide: tickets.write in every organization)."""
    row = mail_settings.save_smtp(rt(request), principal_of(request), actor_of(request), msgspec.to_builtins(data))
    return convert(row, TenantSmtp)  # type: ignore[return-value]


@post("/settings/mail-templates", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def template_form(request: Req, data: FormData) -> Response[Any]:
    """Save, or with ``preview`` show the template rendered with sample data."""
    kind = field(data, "kind", 10)
    subject, body = field(data, "subject", 501), field(data, "body", 20001)
    try:
        if field(data, "preview", 5):
            return _list_page(request, preview={"kind": kind, **mail_settings.preview(subject, body)},
                              drafts={kind: {"subject": subject, "body": body}})
        mail_settings.save_template(rt(request), principal_of(request), actor_of(request), kind, subject, body,
                                    field(data, "enabled", 5) == "on")
    except ServiceError as exc:
        return _list_page(request, error=exc.message, status_code=exc.status,
                          drafts={kind: {"subject": subject, "body": body}})
    return _back("/settings/mailboxes", "saved")


@post("/settings/mail-smtp", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def smtp_form(request: Req, data: FormData) -> Response[Any]:
    port = field(data, "port", 6)
    try:
        mail_settings.save_smtp(rt(request), principal_of(request), actor_of(request), {
            "host": field(data, "host", 253), "port": form_int(port, -1),
            "security": field(data, "security", 10), "username": field(data, "username", 254),
            "password": field(data, "password", 500), "sender": field(data, "sender", 254)})
    except ServiceError as exc:
        return _list_page(request, error=exc.message, status_code=exc.status)
    return _back("/settings/mailboxes", "saved")


route_handlers = [templates_index, templates_save, templates_preview, smtp_show, smtp_save, template_form, smtp_form,
                  MailboxController, domains_index, domains_save, domains_remove, mailboxes_page, mailbox_create,
                  domain_save, mailbox_page, mailbox_update, mailbox_fetch, mailbox_delete]

"""A tenant's outgoing ticket e-mail: its own SMTP server (else the appliance's smtp_* settings) and its message
templates, Jinja rendered in a sandbox, with a preview.

Templates (kinds):
* ``reply``: a technician's public reply to the requester;
* ``created``: the acknowledgement of a ticket that arrived by e-mail or the portal (off unless enabled).

Variables: ``ticket`` (number, subject, status, priority, url), ``contact`` (name, email), ``reply`` (body, author:
the technician's name), ``tenant`` (name), ``portal_url``. The subject always carries the ticket number: one that
does not gets ``[T-1042]`` in front, so answers thread (docs/email.md).
"""

from __future__ import annotations

import re
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from ninjait.core.errors import Invalid
from ninjait.core.runtime import Runtime
from ninjait.identity.principal import Actor, Principal
from ninjait.settings import Settings
from ninjait.tickets.contacts import EMAIL

SECRET_PURPOSE = "tenant-smtp"
MAX_RENDERED = 100_000
KINDS = ("reply", "created")
DEFAULTS = {
    "reply": ("[{{ ticket.number }}] {{ ticket.subject }}",
              "{{ reply.body }}\n\n-- \n{{ reply.author }} · {{ tenant.name }}\n"
              "Reply to this e-mail to add to ticket {{ ticket.number }}."
              "{% if portal_url %}\nYour tickets: {{ portal_url }}{% endif %}\n"),
    "created": ("[{{ ticket.number }}] We received your request: {{ ticket.subject }}",
                "Hello {{ contact.name }},\n\nwe received your request and opened ticket {{ ticket.number }}. "
                "We will answer as soon as we can.\nReply to this e-mail to add to it.\n\n-- \n{{ tenant.name }}\n"),
}
SAMPLE = {"ticket": {"number": "T-1042", "subject": "Printer jams on every page", "status": "Open", "priority": "P2",
                     "url": "https://desk.example/tickets/1042"},
          "contact": {"name": "Ann Smith", "email": "ann@customer.example"},
          "reply": {"body": "A new fuser is on its way.", "author": "Tess Tech"},
          "tenant": {"name": "Example MSP"}, "portal_url": "https://desk.example/portal/example"}
_env = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined, trim_blocks=False)


def render(subject: str, body: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body); Invalid naming the part on a template error."""
    out = []
    for name, source in (("subject", subject), ("body", body)):
        try:
            out.append(_env.from_string(source).render(**context))
        except TemplateError as exc:
            line = f" (line {exc.lineno})" if getattr(exc, "lineno", None) else ""
            raise Invalid(f"the {name} template does not work{line}: {exc.message or exc}", field=name) from None
        except Exception as exc:  # noqa: BLE001 - e.g. {{ 1/0 }}: the template's fault, not a server error
            raise Invalid(f"the {name} template does not work: {type(exc).__name__}: {exc}", field=name) from None
        if len(out[-1]) > MAX_RENDERED:
            raise Invalid(f"the {name} template makes more than {MAX_RENDERED} characters", field=name)
    rendered_subject = re.sub(r"\s+", " ", out[0]).strip()[:250]
    number = str(context["ticket"]["number"])
    if number not in rendered_subject:
        rendered_subject = f"[{number}] {rendered_subject}"
    return rendered_subject, out[1]


def template(rt: Runtime, tenant_id: int, kind: str) -> dict[str, Any]:
    with rt.db.read() as c:
        row = c.one("SELECT subject, body, enabled FROM mail_templates WHERE tenant_id = ? AND kind = ?",
                    (tenant_id, kind))
    if row is None:
        subject, body = DEFAULTS[kind]
        return {"kind": kind, "subject": subject, "body": body, "enabled": kind == "reply", "custom": False}
    return {"kind": kind, "subject": row["subject"], "body": row["body"], "enabled": bool(row["enabled"]),
            "custom": True}


def list_templates(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    return [template(rt, p.tenant_id, kind) for kind in KINDS]


def save_template(rt: Runtime, p: Principal, actor: Actor, kind: str, subject: str, body: str,
                  enabled: bool = True) -> dict[str, Any]:
    """Checked by rendering it with sample data first; nothing is saved when it fails."""
    p.require_everywhere("tickets.write", "e-mail templates are tenant-wide")
    if kind not in KINDS:
        raise Invalid(f"kind is one of {', '.join(KINDS)}", field="kind")
    if not subject.strip() or len(subject) > 500 or len(body) > 20000:
        raise Invalid("a subject (up to 500 characters) and a body (up to 20,000) are needed", field="subject")
    render(subject, body, SAMPLE)
    rt.db.write(lambda c: c.execute(
        "INSERT INTO mail_templates (tenant_id, kind, subject, body, enabled) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (tenant_id, kind) DO UPDATE SET subject = excluded.subject, body = excluded.body, "
        "enabled = excluded.enabled", (p.tenant_id, kind, subject, body, int(enabled))))
    rt.bus.emit("mail_template.updated", p.tenant_id, actor.as_dict(), object_type="mail_template", object_id=None,
                summary={"kind": kind, "enabled": enabled})
    return template(rt, p.tenant_id, kind)


def preview(subject: str, body: str) -> dict[str, str]:
    rendered = render(subject, body, SAMPLE)
    return {"subject": rendered[0], "body": rendered[1]}


# --- the tenant's own SMTP server --------------------------------------------------------------------------

def smtp_of(rt: Runtime, p: Principal) -> dict[str, Any]:
    with rt.db.read() as c:
        row = c.one("SELECT host, port, security, username, secret, sender FROM tenant_smtp WHERE tenant_id = ?",
                    (p.tenant_id,))
    if row is None:
        return {"host": "", "port": 587, "security": "starttls", "username": "", "password_set": False, "sender": ""}
    return {**{k: row[k] for k in ("host", "port", "security", "username", "sender")},
            "password_set": bool(row["secret"])}


def save_smtp(rt: Runtime, p: Principal, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    """An empty host removes the tenant's server (the appliance's is used again); an empty password keeps the
    stored one, unless the server or user changes (the password never goes to a server it was not given for)."""
    p.require_everywhere("settings.write", "mail servers are tenant settings")
    host = str(data.get("host") or "").strip()
    if not host:
        rt.db.write(lambda c: c.execute("DELETE FROM tenant_smtp WHERE tenant_id = ?", (p.tenant_id,)))
        rt.bus.emit("tenant_smtp.updated", p.tenant_id, actor.as_dict(), object_type="tenant", object_id=p.tenant_id,
                    summary={"host": ""})
        return smtp_of(rt, p)
    if not re.match(r"^[A-Za-z0-9.-]{1,253}$", host):
        raise Invalid("host is the SMTP server's name or address", field="host")
    port = data.get("port", 587)
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise Invalid("port is 1 to 65535", field="port")
    security = data.get("security") or "starttls"
    if security not in ("starttls", "tls", "none"):
        raise Invalid("security is starttls, tls or none", field="security")
    sender = str(data.get("sender") or "").strip().lower()
    if not EMAIL.match(sender):
        raise Invalid("sender is the From address of ticket e-mail", field="sender")
    username = str(data.get("username") or "").strip()[:254]
    password = str(data.get("password") or "")
    before = smtp_of(rt, p)
    moved = [k for k, v in (("host", host), ("port", port), ("security", security), ("username", username))
             if before[k] != v]
    if moved and before["password_set"] and not password:
        raise Invalid(f"enter the password again: {', '.join(moved)} changed", field="password")
    sealed = rt.keyring.encrypt(password.encode(), purpose=SECRET_PURPOSE, context=f"tenant:{p.tenant_id}") \
        if password else None
    rt.db.write(lambda c: c.execute(
        "INSERT INTO tenant_smtp (tenant_id, host, port, security, username, secret, sender) VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (tenant_id) DO UPDATE SET host = excluded.host, port = excluded.port, security = excluded.security, "
        "username = excluded.username, sender = excluded.sender, secret = COALESCE(?, tenant_smtp.secret)",
        (p.tenant_id, host, port, security, username, sealed or "", sender, sealed)))
    rt.bus.emit("tenant_smtp.updated", p.tenant_id, actor.as_dict(), object_type="tenant", object_id=p.tenant_id,
                summary={"host": host, "port": port, "sender": sender, "password_changed": bool(password)})
    return smtp_of(rt, p)


def transport(rt: Runtime, tenant_id: int) -> tuple[Settings, str | None]:
    """The SMTP settings to send a tenant's ticket e-mail with, and its own From address (None: the default)."""
    with rt.db.read() as c:
        row = c.one("SELECT host, port, security, username, secret, sender FROM tenant_smtp WHERE tenant_id = ?",
                    (tenant_id,))
    if row is None:
        return rt.settings, None
    password = rt.keyring.decrypt(row["secret"], purpose=SECRET_PURPOSE, context=f"tenant:{tenant_id}").decode() \
        if row["secret"] else ""
    return rt.settings.replace(smtp_host=row["host"], smtp_port=row["port"], smtp_security=row["security"],
                               smtp_username=row["username"], smtp_password=password, smtp_from=row["sender"]), \
        row["sender"]

"""Pages: checks by scope, the create/edit form per kind, a check's results, the device page's checks card."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from ninjait.core.errors import ServiceError
from ninjait.devices import service as devices
from ninjait.identity import service as identity
from ninjait.identity.http import actor_of, principal_of
from ninjait.identity.views import FormData, field, form_int
from ninjait.monitoring.checks import kinds, service
from ninjait.ui import nav
from ninjait.ui.pages import page

Req = Request[Any, Any, Any]
READ = {"permission": "checks.read"}
WRITE = {"permission": "checks.write"}
nav.provide("checks", "/checks")

# The form's inputs per kind: (param, label, input type, hint). Types: number, text, textarea, bool, select:a|b, codes.
PARAM_FIELDS: dict[str, list[tuple[str, str, str, str]]] = {
    "metric": [("metric", "Metric", "select:" + "|".join(kinds.METRICS), ""),
               ("instance", "Instance", "text", "a mount for disk_used_percent; empty: every instance"),
               ("operator", "Fails when the value is", "select:above|below", ""),
               ("threshold", "Threshold", "number", ""),
               ("minutes", "For at least (minutes)", "number", "0: the first sample past the threshold")],
    "cpu": [("threshold", "CPU above (%)", "number", ""), ("minutes", "For at least (minutes)", "number", "")],
    "memory": [("threshold", "Memory used above (%)", "number", ""), ("minutes", "For at least (minutes)", "number", "")],
    "disk": [("mount", "Mount or drive", "text", "empty: every disk"),
             ("min_free_percent", "Minimum free (%)", "number", "leave empty to skip"),
             ("min_free_gb", "Minimum free (GB)", "number", "leave empty to skip")],
    "agent_offline": [("minutes", "No check-in for (minutes)", "number", "")],
    "process": [("name", "Process name", "text", "as the system lists it, e.g. nginx or sqlservr.exe"),
                ("min_count", "At least this many", "number", "")],
    "service": [("name", "Service name", "text", "systemd unit (e.g. ssh), Windows service or launchd label")],
    "ping": [("host", "Host", "text", ""), ("timeout", "Timeout (seconds)", "number", "")],
    "tcp": [("host", "Host", "text", ""), ("port", "Port", "number", ""), ("timeout", "Timeout (seconds)", "number", "")],
    "http": [("url", "URL", "text", "http:// or https://"), ("expect_status", "Expected status", "number", ""),
             ("contains", "Body contains", "text", "optional"), ("verify_tls", "Verify the TLS certificate", "bool", ""),
             ("timeout", "Timeout (seconds)", "number", "")],
    "script": [("interpreter", "Interpreter", "select:" + "|".join(kinds.INTERPRETERS), ""),
               ("script", "Script", "textarea", "exit 0: pass; a warning code: warn; anything else: fail"),
               ("warn_codes", "Warning exit codes", "codes", "comma-separated, e.g. 1, 2"),
               ("timeout", "Timeout (seconds)", "number", "")],
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "metric": {"metric": "load1", "operator": "above", "minutes": 0}, "cpu": {"threshold": 90, "minutes": 5},
    "memory": {"threshold": 90, "minutes": 5}, "disk": {"min_free_percent": 10}, "agent_offline": {"minutes": 10},
    "process": {"min_count": 1}, "ping": {"timeout": 5}, "tcp": {"timeout": 5},
    "http": {"expect_status": 200, "verify_tls": True, "timeout": 10},
    "script": {"interpreter": "sh", "timeout": 60, "warn_codes": []},
}


def rt(request: Req) -> Any:
    return request.app.state.runtime


def _scopes(request: Req) -> list[tuple[str, str]]:
    """(value, label) of the scopes the form offers: the tenant, each organization and site."""
    r, p = rt(request), principal_of(request)
    out = [("tenant", "Every device of the tenant")]
    for org in identity.list_organizations(r, p):
        out.append((f"organization:{org['id']}", f"Organization: {org['name']}"))
        out += [(f"site:{s['id']}", f"Site: {org['name']} / {s['name']}") for s in identity.list_sites(r, p, org["id"])]
    return out + [("device", "One device (enter its id)"), ("group", "A device group (enter its id)")]


def _scope_labels(request: Req) -> dict[str, str]:
    return {v: label for v, label in _scopes(request)}


@get("/checks", opt=READ, include_in_schema=False, sync_to_thread=True)
def checks_page(request: Req, scope_kind: FromQuery[str] = "") -> Template:
    p = principal_of(request)
    error, rows = "", []
    try:
        rows = service.list_checks(rt(request), p, scope_kind=scope_kind[:20])
    except ServiceError as exc:
        error = exc.message
    return page(request, "checks/checks.html", active="checks", checks=rows, error=error, scope_kind=scope_kind,
                scopes=kinds.SCOPES, kinds=kinds.KINDS, labels=_scope_labels(request),
                can_write=p.can_somewhere("checks.write"))


def _form_page(request: Req, form: dict[str, Any], *, check_id: int | None = None, status_code: int = 200,
               error: str = "", error_field: str = "") -> Template:
    kind = form["kind"]
    p = principal_of(request)
    org = form.get("organization_id")
    can_write = p.organizations_for("checks.write") is None if org is None else p.can("checks.write", org)
    return page(request, "checks/form.html", status_code=status_code, active="checks", form=form, kind=kinds.KINDS[kind],
                can_write=can_write or check_id is None,
                fields=PARAM_FIELDS[kind], scopes=_scopes(request), check_id=check_id, error=error,
                error_field=error_field, severities=kinds.SEVERITIES)


@get("/checks/new", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def new_check(request: Req, kind: FromQuery[str] = "cpu") -> Template:
    kind = kind if kind in kinds.KINDS else "cpu"
    form = {"kind": kind, "name": kinds.KINDS[kind].label, "scope": "tenant", "scope_id": "", "severity": "warning",
            "interval_seconds": 60, "fail_after": 1, "recover_after": 1, "enabled": True,
            "run_from": kinds.KINDS[kind].runs[0], "params": dict(DEFAULTS.get(kind, {})), "exclude": ""}
    return _form_page(request, form)


def _parse(data: dict[str, Any], kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the service's input, the form as typed, for a re-render)."""
    def number(name: str) -> Any:
        raw = field(data, name, 40).strip()
        if raw == "":
            return None
        try:
            return int(raw) if raw.lstrip("-").isdigit() else float(raw)
        except ValueError:
            return raw  # the service names the field

    params: dict[str, Any] = {}
    for name, _, kind_of_input, _ in PARAM_FIELDS[kind]:
        key = f"p_{name}"
        if kind_of_input == "number":
            value = number(key)
            if value is not None:
                params[name] = value
        elif kind_of_input == "bool":
            params[name] = field(data, key, 10) == "on"
        elif kind_of_input == "codes":
            raw = field(data, key, 200)
            params[name] = [int(x) if x.strip().isdigit() else x.strip() for x in raw.split(",") if x.strip()]
        else:
            params[name] = field(data, key, 70_000).replace("\r\n", "\n")
    scope = field(data, "scope", 40)
    scope_kind, _, scope_id = scope.partition(":")
    if scope_kind in ("device", "group"):
        scope_id = field(data, "scope_id", 20).strip()
    exclude = field(data, "exclude", 2000)
    form = {"kind": kind, "name": field(data, "name", 200), "scope": scope, "scope_id": field(data, "scope_id", 20),
            "severity": field(data, "severity", 20), "run_from": field(data, "run_from", 20) or None,
            "interval_seconds": number("interval_seconds"), "fail_after": number("fail_after"),
            "recover_after": number("recover_after"), "enabled": field(data, "enabled", 10) == "on",
            "params": params, "exclude": exclude}
    ids = [int(x) for x in exclude.replace(" ", ",").split(",") if x.strip().isdigit()]
    clean = {"kind": kind, "name": form["name"], "scope_kind": scope_kind,
             "scope_id": form_int(scope_id, None if scope_kind == "tenant" else 0),
             "severity": form["severity"], "run_from": form["run_from"], "interval_seconds": form["interval_seconds"],
             "fail_after": form["fail_after"], "recover_after": form["recover_after"], "enabled": form["enabled"],
             "params": params, "exclude_device_ids": ids}
    return clean, form


@post("/checks", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def create_check(request: Req, data: FormData) -> Response[Any]:
    kind = field(data, "kind", 20)
    if kind not in kinds.KINDS:
        return Redirect("/checks/new", status_code=303)
    clean, form = _parse(data, kind)
    try:
        service.create_check(rt(request), principal_of(request), actor_of(request), clean)
    except ServiceError as exc:
        return _form_page(request, form, status_code=exc.status, error=exc.message, error_field=exc.field or "")
    return Redirect("/checks?" + urlencode({"msg": "saved"}), status_code=303)


def _form_of(check: dict[str, Any]) -> dict[str, Any]:
    scope = check["scope_kind"] if check["scope_kind"] in ("tenant", "device", "group") else \
        f"{check['scope_kind']}:{check['scope_id']}"
    return {**check, "scope": scope, "scope_id": check["scope_id"] or "",
            "exclude": ", ".join(str(d) for d in check["exclude_device_ids"])}


@get("/checks/{check_id:int}", opt=READ, include_in_schema=False, sync_to_thread=True)
def edit_check(request: Req, check_id: FromPath[int]) -> Template:
    check = service.get_check(rt(request), principal_of(request), check_id)
    return _form_page(request, _form_of(check), check_id=check_id)


@post("/checks/{check_id:int}", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def update_check(request: Req, check_id: FromPath[int], data: FormData) -> Response[Any]:
    p = principal_of(request)
    current = service.get_check(rt(request), p, check_id)
    clean, form = _parse(data, current["kind"])
    clean = {k: v for k, v in clean.items() if k not in ("scope_kind", "scope_id", "kind")}
    form.update(scope=_form_of(current)["scope"], scope_id=current["scope_id"] or "",
                organization_id=current["organization_id"])
    try:
        service.update_check(rt(request), p, actor_of(request), check_id, clean)
    except ServiceError as exc:
        return _form_page(request, form, check_id=check_id, status_code=exc.status, error=exc.message,
                          error_field=exc.field or "")
    return Redirect("/checks?" + urlencode({"msg": "saved"}), status_code=303)


@post("/checks/{check_id:int}/delete", opt=WRITE, include_in_schema=False, sync_to_thread=True)
def delete_check(request: Req, check_id: FromPath[int]) -> Response[Any]:
    service.delete_check(rt(request), principal_of(request), actor_of(request), check_id)
    return Redirect("/checks?" + urlencode({"msg": "check-deleted"}), status_code=303)


@get("/checks/{check_id:int}/results", opt=READ, include_in_schema=False, sync_to_thread=True)
def results_page(request: Req, check_id: FromPath[int],
                 device_id: FromQuery[int | None] = None) -> Template:
    p = principal_of(request)
    check = service.get_check(rt(request), p, check_id)
    rows = service.results(rt(request), p, check_id, device_id, 200)
    names = {d["id"]: d["hostname"] for d in devices.list_devices(rt(request), p)}
    return page(request, "checks/results.html", active="checks", check=check, results=rows, names=names,
                device_id=device_id)


@post("/devices/{device_id:int}/checks/{check_id:int}/exclude", opt=WRITE, include_in_schema=False,
      sync_to_thread=True)
def exclude_device(request: Req, device_id: FromPath[int], check_id: FromPath[int]) -> Response[Any]:
    service.set_excluded(rt(request), principal_of(request), actor_of(request), check_id, device_id, True)
    return Redirect(f"/devices/{device_id}?" + urlencode({"msg": "check-excluded"}), status_code=303)


@get("/devices/{device_id:int}/checks", opt=READ, include_in_schema=False, sync_to_thread=True)
def device_checks_card(request: Req, device_id: FromPath[int]) -> Template:
    """The device page's checks card (loaded by htmx)."""
    p = principal_of(request)
    rows = service.device_checks(rt(request), p, device_id)
    writable = {c["id"] for c in rows if (p.organizations_for("checks.write") is None if c["organization_id"] is None
                                          else p.can("checks.write", c["organization_id"]))}
    return page(request, "checks/_device_checks.html", checks=rows, device_id=device_id, writable=writable)


route_handlers = [checks_page, new_check, create_check, edit_check, update_check, delete_check, results_page,
                  exclude_device, device_checks_card]

"""The plugin interface, and loading plugins from the plugins directory and from Python entry points.

A plugin is a Python module. It is found in one of two ways:

* a file ``*.py`` (or a package directory) in the plugins directory (setting ``plugins_dir``; the
  built-in channels live in the project's ``plugins/`` folder and load exactly this way);
* an installed distribution that declares an entry point in the group ``ninjait.plugins``.

A module takes part by defining any of the hooks in ``HOOKS``. A plugin that fails to import or to
answer a hook is logged and left out; the appliance runs on.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.metadata
import importlib.util
import ipaddress
import logging
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import httpx

log = logging.getLogger("ninjait.plugins")
ENTRY_POINT_GROUP = "ninjait.plugins"

# The hook specification: name -> what a plugin's function of that name returns.
HOOKS = {
    "ninjait_channels": "Return the notification channels (objects following `Channel`) this plugin provides.",
}


@dataclass(frozen=True)
class Field:
    """One setting of a channel, as the configuration form shows it."""
    name: str
    label: str
    kind: str = "text"  # text, url, emails, choice, secret
    required: bool = True
    help: str = ""
    choices: tuple[str, ...] = ()
    default: str = ""

    @property
    def secret(self) -> bool:
        return self.kind == "secret"


@dataclass(frozen=True)
class Message:
    """What a channel sends: an alert that was raised, is still unacknowledged, or was resolved; or a test."""
    event: str  # triggered, reminder, resolved, test
    title: str
    severity: str  # info, warning, critical
    text: str  # one or two plain sentences
    url: str  # the alert's page (or the channel's page for a test)
    alert_id: int | None = None
    fingerprint: str = ""
    device: str = ""
    organization: str = ""
    tenant: str = ""
    at: float = field(default_factory=time.time)

    @property
    def headline(self) -> str:
        prefix = {"triggered": "", "reminder": "Still open: ", "resolved": "Resolved: ", "test": "Test: "}[self.event]
        return f"{prefix}[{self.severity.upper()}] {self.title}"

    def as_dict(self) -> dict[str, Any]:
        return {"event": self.event, "title": self.title, "severity": self.severity, "text": self.text,
                "url": self.url, "alert_id": self.alert_id, "fingerprint": self.fingerprint, "device": self.device,
                "organization": self.organization, "tenant": self.tenant, "at": self.at}


class TransportError(Exception):
    """A delivery failed. ``permanent``: retrying cannot help (bad address, refused credentials)."""

    def __init__(self, message: str, *, permanent: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.status = status


@dataclass
class Context:
    """What the appliance lends a channel while it sends."""
    settings: Any
    http: httpx.Client
    send_mail: Any  # (to, subject, text, html) -> message id


class Channel(Protocol):
    kind: str  # stable identifier stored with each configured channel
    label: str
    fields: tuple[Field, ...]

    def notify(self, config: Mapping[str, str], message: Message, ctx: Context) -> int | None:
        """Send one message; return the response status (None when there is none). Raise TransportError."""
        ...


# --- helpers every HTTP channel uses ---------------------------------------------------------------

def check_destination(ctx: Context, url: str) -> None:
    """Refuse addresses a tenant must not make the appliance call: link-local (cloud metadata) always,
    private and loopback networks unless the setting notify_private_networks allows them. Raises a
    permanent TransportError; a name that does not resolve is left to the request (a transient error)."""
    host = httpx.URL(url).host
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return
    allow_private = bool(getattr(ctx.settings, "notify_private_networks", False))
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if address.is_link_local or address.is_multicast or address.is_unspecified:
            raise TransportError(f"{host} resolves to {address}, an address notifications never go to",
                                 permanent=True)
        if (address.is_private or address.is_loopback or address.is_reserved) and not allow_private:
            raise TransportError(f"{host} resolves to the private address {address}; set notify_private_networks "
                                 "to let channels reach internal servers", permanent=True)


def post(ctx: Context, url: str, *, json: Any = None, content: bytes | None = None,
         headers: Mapping[str, str] | None = None) -> int:
    """POST and classify the outcome: 2xx returns the status; 429/5xx/network errors are worth a retry;
    other answers are permanent (the address or credentials are wrong)."""
    check_destination(ctx, url)
    try:
        r = ctx.http.post(url, json=json, content=content, headers=dict(headers or {}))
    except httpx.HTTPError as exc:
        raise TransportError(f"cannot reach {httpx.URL(url).host}: {exc}") from None
    if r.is_success:
        return r.status_code
    reason = f"{httpx.URL(url).host} answered {r.status_code}: {r.text[:200]}"
    raise TransportError(reason, permanent=r.status_code not in (408, 425, 429) and r.status_code < 500,
                         status=r.status_code)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">``: what X-NinjaIT-Signature carries."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


# --- loading ----------------------------------------------------------------------------------------

def _from_file(path: Path) -> ModuleType | None:
    name = f"ninjait_plugins.{path.stem}"
    target = path / "__init__.py" if path.is_dir() else path
    spec = importlib.util.spec_from_file_location(name, target)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def discover(plugins_dir: Path | None) -> list[tuple[str, ModuleType]]:
    """(where it came from, module) for every plugin that imports."""
    found: list[tuple[str, ModuleType]] = []
    if plugins_dir is not None and plugins_dir.is_dir():
        for path in sorted(plugins_dir.iterdir()):
            if path.name.startswith(("_", ".")) or not (path.suffix == ".py" or (path / "__init__.py").exists()):
                continue
            try:
                module = _from_file(path)
            except Exception:
                log.exception("plugin failed to load", extra={"fields": {"plugin": str(path)}})
                continue
            if module is not None:
                found.append((str(path), module))
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = entry.load()
        except Exception:
            log.exception("plugin failed to load", extra={"fields": {"plugin": entry.value}})
            continue
        found.append((f"entry point {entry.name}", loaded))
    return found


def load_channels(plugins_dir: Path | None) -> dict[str, Channel]:
    """Every channel the plugins provide, by kind; the first of a kind wins (later ones are logged)."""
    channels: dict[str, Channel] = {}
    for origin, module in discover(plugins_dir):
        hook = getattr(module, "ninjait_channels", None)
        if hook is None:
            continue
        try:
            provided = list(hook())
        except Exception:
            log.exception("plugin hook failed", extra={"fields": {"plugin": origin, "hook": "ninjait_channels"}})
            continue
        for channel in provided:
            if channel.kind in channels:
                log.warning("channel kind provided twice; the first is kept",
                            extra={"fields": {"plugin": origin, "kind": channel.kind}})
                continue
            channels[channel.kind] = channel
    return channels

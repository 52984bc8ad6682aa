"""Enrollment tokens, agent credentials and commands: the rules, no HTTP."""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from ninjait_agent import wire

from ninjait.agents import signing, store
from ninjait.core.db import Conn
from ninjait.core.errors import Conflict, Invalid, NotFound, Unauthorized
from ninjait.core.events import EventBus
from ninjait.core.runtime import Runtime
from ninjait.devices import service as devices
from ninjait.identity import service as identity
from ninjait.identity.principal import Actor, Principal

TOKEN_PREFIX = "nie_"
SECRET_PREFIX = "nia_"
MAX_SCRIPT_BYTES = 256 * 1024
MAX_TIMEOUT = 24 * 3600
MAX_DELAY = 30 * 86400  # how far ahead a command may be queued to run later
INTERPRETERS = ("sh", "bash", "python", "powershell", "cmd")


def _now() -> int:
    return int(time.time())


_SIGNER_LOCK = threading.Lock()


def signer(rt: Runtime) -> signing.Signer:
    if not hasattr(rt, "_agent_signer"):
        # Locked: the first enrollments of a fresh appliance arrive together, and two threads
        # creating the key would hand out two public keys (and race on the key file).
        with _SIGNER_LOCK:
            if not hasattr(rt, "_agent_signer"):
                rt._agent_signer = signing.load_or_create(rt.settings.data_dir)  # type: ignore[attr-defined]
    return rt._agent_signer  # type: ignore[attr-defined]


# --- enrollment tokens ------------------------------------------------------------------------

def install_line(rt: Runtime, token: str, fingerprint: str) -> str:
    return (f"ninjait-agent enroll --server {rt.settings.base_url} --token {token} "
            f"--fingerprint {fingerprint}")


def create_enrollment_token(rt: Runtime, p: Principal, actor: Actor, site_id: int, name: str,
                            expires_in_hours: int = 24, max_uses: int = 1) -> dict[str, Any]:
    site = identity.get_site(rt, p, site_id)
    if not p.can("devices.write", site["organization_id"]):
        raise NotFound("site not found")
    name = name.strip()[:100] or f"Token for {site['name']}"
    if not 1 <= expires_in_hours <= 24 * 90:
        raise Invalid("expires_in_hours must be from 1 to 2160 (90 days)", field="expires_in_hours")
    if not 1 <= max_uses <= 10_000:
        raise Invalid("max_uses must be from 1 to 10000", field="max_uses")
    token = TOKEN_PREFIX + secrets.token_urlsafe(24)
    now = _now()
    token_id = rt.db.write(lambda c: store.insert_token(
        c, p.tenant_id, site_id, name, token[:10], rt.keyring.mac(token, purpose="enrollment"),
        now + expires_in_hours * 3600, max_uses, p.user_id or None, now))
    rt.bus.emit("enrollment_token.created", p.tenant_id, actor.as_dict(), object_type="enrollment_token",
                object_id=token_id, summary={"site_id": site_id, "name": name, "max_uses": max_uses})
    return {**get_enrollment_token(rt, p, token_id), "token": token,
            "install_line": install_line(rt, token, rt.tls_fingerprint)}


def _token_out(row: dict[str, Any]) -> dict[str, Any]:
    now = _now()
    state = ("revoked" if row["revoked_at"] else "expired" if row["expires_at"] <= now
             else "used up" if row["uses"] >= row["max_uses"] else "active")
    return {**row, "state": state}


def get_enrollment_token(rt: Runtime, p: Principal, token_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        row = store.get_token(c, p.tenant_id, token_id)
    if row is None:
        raise NotFound("enrollment token not found")
    return _token_out(row)


def list_enrollment_tokens(rt: Runtime, p: Principal) -> list[dict[str, Any]]:
    with rt.db.read() as c:
        return [_token_out(r) for r in store.list_tokens(c, p.tenant_id)]


def revoke_enrollment_token(rt: Runtime, p: Principal, actor: Actor, token_id: int) -> None:
    get_enrollment_token(rt, p, token_id)
    rt.db.write(lambda c: store.revoke_token(c, p.tenant_id, token_id, _now()))
    rt.bus.emit("enrollment_token.revoked", p.tenant_id, actor.as_dict(), object_type="enrollment_token",
                object_id=token_id)


# --- enrollment and agent credentials -----------------------------------------------------------

def enroll(rt: Runtime, req: wire.EnrollRequest, ip: str) -> wire.EnrollReply:
    now = _now()
    secret = secrets.token_urlsafe(32)
    uid = uuid.uuid4().hex

    def create(c: Conn) -> tuple[int, int, str] | None:
        token = store.claim_token(c, rt.keyring.mac(req.token.strip(), purpose="enrollment"), now)
        if token is None:
            return None
        site = c.one("SELECT organization_id FROM sites WHERE id = ? AND tenant_id = ?",
                     (token["site_id"], token["tenant_id"]))
        if site is None:
            return None
        needs_approval = c.value("SELECT agents_need_approval FROM tenants WHERE id = ?", (token["tenant_id"],))
        status = "pending" if needs_approval else "active"
        device_id = devices.create_for_agent(c, token["tenant_id"], site["organization_id"], token["site_id"],
                                             req.hostname, req.platform)
        store.insert_agent(c, uid, token["tenant_id"], device_id, rt.keyring.mac(secret, purpose="agent-secret"),
                           status, token["id"], now)
        return token["tenant_id"], device_id, status

    created = rt.db.write(create)
    if created is None:
        raise Unauthorized("the enrollment token is unknown, expired, revoked or used up")
    tenant_id, device_id, status = created
    rt.bus.emit("device.created", tenant_id, {"user_id": None, "email": "agent", "ip": ip},
                object_type="device", object_id=device_id,
                summary={"hostname": req.hostname, "platform": req.platform, "status": status})
    return wire.EnrollReply(agent_id=uid, secret=SECRET_PREFIX + secret, interval=rt.settings.agent_interval,
                            signing_key=signer(rt).public_key_b64, server_time=time.time(), status=status)


@dataclass(frozen=True, slots=True)
class AgentIdentity:
    id: int
    uid: str
    tenant_id: int
    device_id: int
    status: str
    secret_hash: str  # the stored hash the agent's secret matched; a check-in's write confirms it is still current


class _AgentCache:
    """Active agents' credentials, so that a check-in costs no query before its write.

    An entry is trusted only until the check-in's own write, which reads the agent row in the same
    transaction and refuses the batch if the status or secret changed (gateway.ingest): a revoke or
    rotation made by another process takes effect at that agent's next check-in. Here it is dropped
    at once. Pending and revoked agents are not kept: their check-ins read the row every time.
    """

    MAX_ENTRIES = 200_000

    def __init__(self) -> None:
        self._entries: dict[str, AgentIdentity] = {}
        self._lock = threading.Lock()

    def get(self, uid: str) -> AgentIdentity | None:
        return self._entries.get(uid)

    def put(self, agent: AgentIdentity) -> None:
        with self._lock:
            if len(self._entries) >= self.MAX_ENTRIES:
                self._entries.clear()
            self._entries[agent.uid] = agent

    def forget(self, uid: str) -> None:
        with self._lock:
            self._entries.pop(uid, None)

    def forget_device(self, device_id: int) -> None:
        with self._lock:
            for uid in [u for u, a in self._entries.items() if a.device_id == device_id]:
                del self._entries[uid]


AGENT_CACHE = _AgentCache()


def subscribe(bus: EventBus) -> None:
    """A deleted device's agent is gone (cascade): drop its cached credentials at once."""
    bus.subscribe("device.deleted", lambda event: AGENT_CACHE.forget_device(int(event.data["object_id"])))


def _credentials(rt: Runtime, header: str) -> tuple[str, str]:
    """`Authorization: Agent <uid>:<secret>` -> (uid, the keyed hash of the secret), or Unauthorized."""
    scheme, _, creds = header.partition(" ")
    uid, _, secret = creds.strip().partition(":")
    if scheme.lower() != "agent" or not uid or not secret.startswith(SECRET_PREFIX) or len(secret) > 100:
        raise Unauthorized("agent credentials missing or malformed")
    return uid[:64], rt.keyring.mac(secret[len(SECRET_PREFIX):], purpose="agent-secret")


def authenticate_cached(rt: Runtime, header: str) -> AgentIdentity | None:
    """The agent from the cache without I/O, or None: not cached, or the secret differs from the cached one
    (it may have been rotated by another process; `authenticate` reads the row)."""
    uid, presented = _credentials(rt, header)
    agent = AGENT_CACHE.get(uid)
    if agent is not None and secrets.compare_digest(agent.secret_hash, presented):
        return agent
    return None


def authenticate(rt: Runtime, header: str) -> AgentIdentity:
    """The agent, read from the database, or Unauthorized."""
    uid, presented = _credentials(rt, header)
    with rt.db.read() as c:
        row = store.agent_by_uid(c, uid)
    if row is None:
        AGENT_CACHE.forget(uid)
        raise Unauthorized("unknown agent")
    agent = AgentIdentity(row["id"], row["uid"], row["tenant_id"], row["device_id"], row["status"], row["secret_hash"])
    if agent.status == "active":
        AGENT_CACHE.put(agent)
    else:
        AGENT_CACHE.forget(uid)
    if not secrets.compare_digest(agent.secret_hash, presented):
        raise Unauthorized("wrong agent secret")
    if agent.status == "revoked":
        raise Unauthorized("this agent was revoked; enroll it again")
    return agent


def rotate_secret(rt: Runtime, agent: AgentIdentity) -> str:
    """Called by the agent itself (authenticated with its current secret): a new secret replaces it."""
    secret = secrets.token_urlsafe(32)
    rt.db.write(lambda c: (store.set_agent_secret(c, agent.id, rt.keyring.mac(secret, purpose="agent-secret"),
                                                  _now()),
                           c.execute("DELETE FROM appliance_facts WHERE key = ?", (store.rotation_key(agent.id),))))
    AGENT_CACHE.forget(agent.uid)
    rt.bus.emit("agent.secret_rotated", agent.tenant_id, {"user_id": None, "email": "agent"},
                object_type="device", object_id=agent.device_id)
    return SECRET_PREFIX + secret


def _agent_of_device(rt: Runtime, p: Principal, device_id: int) -> dict[str, Any]:
    devices.get_device(rt, p, device_id, "devices.write")
    with rt.db.read() as c:
        row = store.agent_for_device(c, p.tenant_id, device_id)
    if row is None:
        raise NotFound("this device has no agent")
    return row


def set_agent_status(rt: Runtime, p: Principal, actor: Actor, device_id: int, status: str) -> None:
    """Approve ('active') or revoke ('revoked') a device's agent."""
    agent = _agent_of_device(rt, p, device_id)
    if agent["status"] == "revoked" and status != "revoked":
        raise Conflict("a revoked agent cannot come back; enroll the device again")
    rt.db.write(lambda c: store.set_agent_status(c, agent["id"], status))
    AGENT_CACHE.forget(agent["uid"])
    rt.bus.emit("agent.approved" if status == "active" else "agent.revoked", p.tenant_id, actor.as_dict(),
                object_type="device", object_id=device_id)


def request_rotation(rt: Runtime, p: Principal, actor: Actor, device_id: int) -> None:
    """Ask the agent to rotate its secret at its next check-in."""
    agent = _agent_of_device(rt, p, device_id)
    rt.db.write(lambda c: c.execute(
        "INSERT INTO appliance_facts (key, value, updated_at) VALUES (?, '1', ?) ON CONFLICT (key) DO NOTHING",
        (store.rotation_key(agent["id"]), _now())))
    rt.bus.emit("agent.rotation_requested", p.tenant_id, actor.as_dict(), object_type="device", object_id=device_id)


# --- commands ------------------------------------------------------------------------------------

def _check_payload(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    if kind == "run_script":
        script = payload.get("script")
        interpreter = payload.get("interpreter", "sh")
        timeout = payload.get("timeout", 300)
        if not isinstance(script, str) or not script.strip():
            raise Invalid("run_script needs a non-empty script", field="script")
        if len(script.encode()) > MAX_SCRIPT_BYTES:
            raise Invalid(f"the script is larger than {MAX_SCRIPT_BYTES // 1024} KiB", field="script")
        if interpreter not in INTERPRETERS:
            raise Invalid(f"interpreter must be one of {', '.join(INTERPRETERS)}", field="interpreter")
        if not isinstance(timeout, int) or not 1 <= timeout <= MAX_TIMEOUT:
            raise Invalid(f"timeout must be 1 to {MAX_TIMEOUT} seconds", field="timeout")
        run_as = payload.get("run_as") or ""
        if not isinstance(run_as, str) or len(run_as) > 64:
            raise Invalid("run_as must be a user name", field="run_as")
        args = payload.get("args") or []
        if not isinstance(args, list) or len(args) > 50 or not all(isinstance(a, str) and len(a) < 1000 for a in args):
            raise Invalid("args must be a list of up to 50 strings", field="args")
        return {"script": script, "interpreter": interpreter, "timeout": timeout, "run_as": run_as, "args": args}
    if kind == "reboot":
        if payload.get("confirm") is not True:
            raise Invalid("a reboot needs \"confirm\": true", field="confirm")
        return {"confirm": True, "delay_minutes": int(payload.get("delay_minutes", 1))}
    if kind == "refresh_inventory":
        return {}
    if kind == "update_agent":
        for key in ("version", "platform", "sha256", "signature", "url"):
            if not isinstance(payload.get(key), str):
                raise Invalid(f"update_agent needs {key}", field=key)
        return {k: payload[k] for k in ("version", "platform", "sha256", "signature", "url")}
    raise Invalid(f"unknown command kind {kind!r}", field="kind")


def check_command(kind: str, payload: dict[str, Any], expires_in_seconds: int, not_before: int | None) -> dict[str, Any]:
    """The cleaned payload; Invalid naming the field otherwise (bulk actions check once before any device)."""
    clean = _check_payload(kind, payload)
    if not 60 <= expires_in_seconds <= 7 * 86400:
        raise Invalid("expires_in_seconds must be from 60 to 604800", field="expires_in_seconds")
    if not_before is not None and not _now() - 300 <= not_before <= _now() + MAX_DELAY:
        raise Invalid("not_before is a time from now to 30 days ahead (epoch seconds)", field="not_before")
    return clean


def queue_command(rt: Runtime, p: Principal, actor: Actor, device_id: int, kind: str, payload: dict[str, Any],
                  expires_in_seconds: int = 3600, not_before: int | None = None) -> dict[str, Any]:
    """not_before: "run later": the agent gets the command at its first check-in after that time. The
    command is signed now (issued_at now) and expires expires_in_seconds after not_before."""
    device = devices.get_device(rt, p, device_id, "devices.write")
    with rt.db.read() as c:
        agent = store.agent_for_device(c, p.tenant_id, device_id)
    if agent is None or agent["status"] == "revoked":
        raise Conflict("this device has no active agent to run commands")
    clean = check_command(kind, payload, expires_in_seconds, not_before)
    uid = uuid.uuid4().hex
    issued = round(time.time(), 3)
    unsigned = wire.SignedCommand(id=uid, agent_id=agent["uid"], kind=kind, payload=clean,  # type: ignore[arg-type]
                                  payload_sha256=wire.payload_sha256(clean), issued_at=issued,
                                  expires_at=max(issued, not_before or 0) + expires_in_seconds,
                                  nonce=secrets.token_hex(16), signature="")
    signature = signer(rt).sign(wire.signed_bytes(unsigned))
    command_id = rt.db.write(lambda c: store.insert_command(c, {
        "uid": uid, "tenant_id": p.tenant_id, "device_id": device_id, "kind": kind, "payload": json.dumps(clean),
        "status": "queued", "issued_at": issued, "expires_at": unsigned.expires_at, "nonce": unsigned.nonce,
        "signature": signature, "created_by": p.user_id or None, "created_at": _now(), "not_before": not_before}))
    summary: dict[str, Any] = {"kind": kind, "hostname": device["hostname"]}
    if not_before:
        summary["not_before"] = not_before
    if kind == "run_script":
        summary.update(interpreter=clean["interpreter"], script_sha256=unsigned.payload_sha256)
    rt.bus.emit("command.queued", p.tenant_id, actor.as_dict(), object_type="device", object_id=device_id,
                summary=summary)
    return get_command(rt, p, command_id)


def to_wire(row: dict[str, Any], agent_uid: str) -> wire.SignedCommand:
    payload = json.loads(row["payload"])
    return wire.SignedCommand(id=row["uid"], agent_id=agent_uid, kind=row["kind"], payload=payload,
                              payload_sha256=wire.payload_sha256(payload), issued_at=row["issued_at"],
                              expires_at=row["expires_at"], nonce=row["nonce"], signature=row["signature"])


def _command_out(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "payload": json.loads(row["payload"])}


def get_command(rt: Runtime, p: Principal, command_id: int) -> dict[str, Any]:
    with rt.db.read() as c:
        row = store.get_command(c, p.tenant_id, command_id)
    if row is None:
        raise NotFound("command not found")
    devices.get_device(rt, p, row["device_id"])  # organization scope
    return _command_out(row)


def list_commands(rt: Runtime, p: Principal, device_id: int) -> list[dict[str, Any]]:
    devices.get_device(rt, p, device_id)
    with rt.db.read() as c:
        return [_command_out(r) for r in store.list_commands(c, p.tenant_id, device_id)]


def cancel_command(rt: Runtime, p: Principal, actor: Actor, command_id: int) -> dict[str, Any]:
    command = get_command(rt, p, command_id)
    devices.get_device(rt, p, command["device_id"], "devices.write")
    if not rt.db.write(lambda c: store.cancel_command(c, p.tenant_id, command_id)):
        raise Conflict(f"only a queued command can be cancelled; this one is {command['status']}")
    rt.bus.emit("command.cancelled", p.tenant_id, actor.as_dict(), object_type="device",
                object_id=command["device_id"], summary={"command": command["uid"]})
    return get_command(rt, p, command_id)

"""The check-in hot path: decode, authenticate, store one batch in one grouped write, answer.

No task is queued per check-in and nothing but the batch's own rows is
written: the writer thread folds concurrent check-ins into shared commits.
"""

from __future__ import annotations

import gzip
import time
import zlib
from dataclasses import dataclass, field
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import msgspec
from ninjait_agent import wire

from ninjait.agents import service, store
from ninjait.core.db import Conn
from ninjait.core.errors import Forbidden, Invalid, ServiceError, Unavailable
from ninjait.core.runtime import Runtime
from ninjait.devices import service as devices
from ninjait.monitoring import hot
from ninjait.monitoring.checks import agent_side as checks

MAX_BODY = 16 * 1024 * 1024  # after decompression


def decode_body(raw: bytes, encoding: str) -> wire.CheckIn:
    if encoding == "gzip":
        try:
            # Bounded: a small gzip bomb must not become gigabytes in memory.
            raw = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(raw, MAX_BODY + 1)
        except (zlib.error, gzip.BadGzipFile) as exc:
            raise Invalid(f"body is not valid gzip: {exc}") from None
        if len(raw) > MAX_BODY:
            raise Invalid("body is larger than 16 MiB once decompressed")
    elif encoding not in ("", "identity"):
        raise Invalid(f"unsupported Content-Encoding {encoding!r}; use gzip or none")
    try:
        return wire.CHECKIN_DECODER.decode(raw)
    except msgspec.ValidationError as exc:
        raise Invalid(f"check-in rejected: {exc}") from None
    except msgspec.DecodeError as exc:
        raise Invalid(f"check-in is not valid JSON: {exc}") from None


@dataclass
class Stored:
    new_batch: bool
    commands: list[dict[str, Any]]
    finished: list[dict[str, Any]] = field(default_factory=list)
    inventory_changed: bool = False
    want_inventory: bool = False
    rotate: bool = False
    came_back_from: str = ""
    checks: wire.CheckSet | None = None


def report_rows(agent: service.AgentIdentity, reports: list[wire.CheckReport]) -> list[tuple[Any, ...]]:
    """Agent-side check results, stored as they came; the check evaluator applies them in its next pass."""
    now = time.time()  # a result dated in the future (a wrong clock) counts as received now
    return [(agent.tenant_id, agent.device_id, r.check_id, min(r.ts, now), r.status, r.value, r.message)
            for r in reports]


class CredentialsChanged(Exception):
    """The agent's status or secret changed since it was authenticated (another process revoked or rotated it):
    the check-in stored nothing."""


def ingest(c: Conn, agent: service.AgentIdentity, batch: wire.CheckIn, samples: hot.Packed | None,
           signer: Any = None) -> Stored:
    """Store a check-in; ``samples`` is ``hot.pack_check_in(batch.metrics)``, packed before the writer thread."""
    state = store.agent_state(c, agent.tenant_id, agent.id)
    if state is None or state["status"] != agent.status or state["secret_hash"] != agent.secret_hash:
        raise CredentialsChanged
    now = time.time()
    new = store.claim_batch(c, agent.id, batch.seq, int(now))
    result = Stored(new_batch=new, commands=[])
    if new:
        if samples is not None:
            hot.insert(c, agent.tenant_id, agent.device_id, int(now), samples)
        checks.store_reports(c, report_rows(agent, batch.check_results))
        live = msgspec.json.encode(batch.metrics[-1]).decode() if batch.metrics else None
        before, known = devices.record_check_in(c, agent.tenant_id, agent.device_id, int(now), batch.agent_version,
                                                live)
        result.came_back_from = before if before != "online" else ""
        if batch.inventory is not None:
            digest = wire.inventory_hash(batch.inventory)
            if digest != known:
                devices.record_inventory(c, agent.device_id, msgspec.to_builtins(batch.inventory), digest, int(now))
                result.inventory_changed = True
        else:
            result.want_inventory = not known or (bool(batch.inventory_hash) and batch.inventory_hash != known)
        for r in batch.results:
            applied = store.apply_result(c, agent.device_id, msgspec.to_builtins(r), int(now))
            if applied is not None and applied["status"] != "running":
                result.finished.append(applied)
    else:
        devices.record_check_in(c, agent.tenant_id, agent.device_id, int(now), batch.agent_version, None)
    result.rotate = bool(state["rotate"])
    result.commands = store.take_pending(c, agent.device_id, now) if state["queued"] else []
    if batch.checks_version and signer is not None:
        result.checks = checks.definitions_for(c, signer, agent.tenant_id, agent.device_id, agent.uid,
                                               batch.checks_version)
    return result


MAX_EVENTS_PUBLISHED = 20  # per check-in: an endpoint in a log storm does not flood the bus and the audit log


def _publish(rt: Runtime, agent: service.AgentIdentity, stored: Stored, logged: list[wire.AgentEvent]) -> None:
    for e in logged[-MAX_EVENTS_PUBLISHED:]:
        rt.bus.emit("agent.event", agent.tenant_id, {"user_id": None, "email": "agent"}, object_type="device",
                    object_id=agent.device_id, summary={"level": e.level, "source": e.source,
                                                        "message": e.message[:1000], "ts": e.ts})
    if stored.came_back_from:
        rt.bus.emit("device.status_changed", agent.tenant_id, {"user_id": None, "email": "agent"},
                    object_type="device", object_id=agent.device_id,
                    summary={"from": stored.came_back_from, "to": "online"})
    for cmd in stored.finished:
        rt.bus.emit("command.finished", agent.tenant_id, {"user_id": None, "email": "agent"},
                    object_type="device", object_id=agent.device_id,
                    summary={"command": cmd["uid"], "kind": cmd["kind"], "status": cmd["status"],
                             "exit_code": cmd["exit_code"]})


async def authenticate(rt: Runtime, header: str, *, cached: bool = True) -> service.AgentIdentity:
    agent = service.authenticate_cached(rt, header) if cached else None  # no I/O on a cache hit
    return agent or await anyio.to_thread.run_sync(service.authenticate, rt, header)


def _approved(agent: service.AgentIdentity) -> service.AgentIdentity:
    if agent.status == "pending":
        raise Forbidden("this agent is waiting for approval by an administrator")
    return agent


async def check_in(rt: Runtime, header: str, read_body: Callable[[], Awaitable[bytes]], encoding: str) -> bytes:
    """Authenticate, then read and store one check-in. The body is read only once the agent is known: a stranger
    cannot make the appliance hold megabytes."""
    agent = _approved(await authenticate(rt, header))
    batch = decode_body(await read_body(), encoding)
    signer = service.signer(rt)
    samples = hot.pack_check_in(batch.metrics)
    try:
        stored: Stored = await rt.db.awrite(lambda c: ingest(c, agent, batch, samples, signer))
    except CredentialsChanged:  # the cached credentials were stale: read the agent row once more
        service.AGENT_CACHE.forget(agent.uid)
        agent = _approved(await authenticate(rt, header, cached=False))
        try:
            stored = await rt.db.awrite(lambda c: ingest(c, agent, batch, samples, signer))
        except CredentialsChanged:
            # Changed twice within one check-in: a 401 would make the agent give up for good; it sends again.
            service.AGENT_CACHE.forget(agent.uid)
            _approved(await authenticate(rt, header, cached=False))  # revoked → 401, on hold → 403
            raise Unavailable("the agent's credentials changed during the check-in; send it again",
                              retry_after=5) from None
    if stored.came_back_from or stored.finished or (stored.new_batch and batch.events):
        # Subscribers (audit, alerts, rules) write to the database: not on the event loop.
        await anyio.to_thread.run_sync(_publish, rt, agent, stored, batch.events if stored.new_batch else [])
    reply = wire.CheckInReply(
        ack_seq=batch.seq, interval=rt.settings.agent_interval, server_time=time.time(),
        commands=[service.to_wire(row, agent.uid) for row in stored.commands],
        send_inventory=stored.want_inventory, rotate_secret=stored.rotate, checks=stored.checks)
    return wire.ENCODER.encode(reply)


__all__ = ["check_in", "ServiceError"]

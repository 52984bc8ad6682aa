"""Agent-side checks as the check-in answer carries them: definitions with a version, scripts signed.

The gateway asks `definitions_for` inside its ingest transaction only for agents that speak checks.
The tenant's agent-side checks are cached for a few seconds (like agent credentials), so a
check-in costs no extra query but the device's own row; a change made in this process clears
the cache at once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from typing import Any

from ninjait_agent import wire

from ninjait.agents import signing
from ninjait.core.db import Conn
from ninjait.monitoring.checks import scope, store

TTL = 5.0
SCRIPT_VALID = 24 * 3600  # a signed script check must reach the agent within this time; it then keeps it
NONE = "none"  # the version of an empty set


class _Cache:
    def __init__(self) -> None:
        self._entries: dict[int, tuple[float, scope.CheckSet]] = {}
        self._lock = threading.Lock()

    def get(self, c: Conn, tenant_id: int) -> scope.CheckSet:
        with self._lock:
            found = self._entries.get(tenant_id)
        if found is not None and found[0] > time.monotonic():
            return found[1]
        checkset = scope.load(c, [tenant_id], run_from="agent")
        with self._lock:
            self._entries[tenant_id] = (time.monotonic() + TTL, checkset)
        return checkset

    def forget(self, tenant_id: int) -> None:
        with self._lock:
            self._entries.pop(tenant_id, None)


CACHE = _Cache()


def _spec(check: dict[str, Any]) -> dict[str, Any]:
    return {"id": check["id"], "kind": check["kind"], "interval": check["interval_seconds"],
            "params": check["params"]}


def version_of(specs: list[dict[str, Any]]) -> str:
    if not specs:
        return NONE
    return hashlib.sha256(wire.canonical(specs)).hexdigest()[:32]


def _signed_script(signer: signing.Signer, agent_uid: str, spec: dict[str, Any], version: str) -> wire.SignedCommand:
    """A script check travels as a signed run_script command, verified by the agent like any other."""
    p = spec["params"]
    payload = {"script": p["script"], "interpreter": p["interpreter"], "timeout": p["timeout"], "run_as": "",
               "args": []}
    issued = round(time.time(), 3)
    cmd = wire.SignedCommand(id=f"check-{spec['id']}-{version[:12]}", agent_id=agent_uid, kind="run_script",
                             payload=payload, payload_sha256=wire.payload_sha256(payload), issued_at=issued,
                             expires_at=issued + SCRIPT_VALID, nonce=secrets.token_hex(16), signature="")
    cmd.signature = signer.sign(wire.signed_bytes(cmd))
    return cmd


def definitions_for(c: Conn, signer: signing.Signer, tenant_id: int, device_id: int, agent_uid: str,
                    known_version: str) -> wire.CheckSet | None:
    """The device's agent-side checks when they differ from the version the agent holds; None otherwise."""
    checkset = CACHE.get(c, tenant_id)
    device = c.one(f"SELECT {store.DEVICE_COLUMNS} FROM devices WHERE id = ?", (device_id,)) if checkset.checks else None
    specs = sorted((_spec(ch) for ch in checkset.for_device(device)), key=lambda s: s["id"]) if device else []
    version = version_of(specs)
    if version == known_version:
        return None
    out = []
    for spec in specs:
        command = _signed_script(signer, agent_uid, spec, version) if spec["kind"] == "script" else None
        params = {k: v for k, v in spec["params"].items() if spec["kind"] != "script" or k == "warn_codes"}
        out.append(wire.CheckSpec(id=spec["id"], kind=spec["kind"], interval=spec["interval"],
                                  params=json.loads(json.dumps(params)), command=command))
    return wire.CheckSet(version=version, checks=out)


def store_reports(c: Conn, rows: list[tuple[Any, ...]]) -> None:
    store.insert_reports(c, rows)

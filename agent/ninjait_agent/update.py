"""Agent self-update: download, verify the server's Ed25519 signature, swap atomically, restart, roll back.

The new build replaces the running executable only after its SHA-256 and the
signature over (platform, version, sha256) check out. The previous build is
kept beside it; if the new one has not checked in after three starts, the next
start restores the previous build.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ninjait_agent import __version__, wire
from ninjait_agent.commands import Refused

if TYPE_CHECKING:
    from ninjait_agent.loop import Agent

log = logging.getLogger("ninjait_agent.update")
MARKER = "update.json"
MAX_TRIES = 3
RESTART_EXIT_CODE = 75  # the service manager starts us again (systemd Restart=always)


def executable() -> Path:
    return Path(os.environ.get("NINJAIT_AGENT_EXECUTABLE") or sys.executable).resolve()


def update_signed_bytes(platform: str, version: str, sha256: str) -> bytes:
    return wire.canonical({"platform": platform, "version": version, "sha256": sha256})


def apply(agent: Agent, payload: dict[str, Any]) -> dict[str, Any]:
    if not getattr(sys, "frozen", False) and not os.environ.get("NINJAIT_AGENT_EXECUTABLE"):
        raise Refused("this agent runs from source; update it with its package manager")
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(agent.config.signing_key))
    try:
        key.verify(base64.b64decode(payload["signature"]),
                   update_signed_bytes(payload["platform"], payload["version"], payload["sha256"]))
    except (InvalidSignature, ValueError):
        raise Refused("the update's signature does not verify") from None
    data = agent.transport.request("GET", payload["url"], headers=agent._headers())
    if hashlib.sha256(data).hexdigest() != payload["sha256"]:
        raise Refused("the downloaded update does not match its signed SHA-256")
    exe = executable()
    new, previous = exe.with_name(exe.name + ".new"), exe.with_name(exe.name + ".previous")
    new.write_bytes(data)
    os.chmod(new, 0o755)
    os.replace(exe, previous) if exe.exists() else None
    os.replace(new, exe)
    (agent.state / MARKER).write_text(json.dumps({"from": __version__, "to": payload["version"], "tries": 0,
                                                   "at": time.time()}))
    log.info("updated to %s; restarting", payload["version"])
    agent.restart_requested = True
    return {"status": "succeeded", "exit_code": 0, "stdout": f"updated {__version__} -> {payload['version']}"}


def on_start(state: Path) -> None:
    """Count the start of a freshly updated build; roll back after too many starts without a check-in."""
    marker = state / MARKER
    if not marker.exists():
        return
    info = json.loads(marker.read_text())
    info["tries"] += 1
    if info["tries"] > MAX_TRIES:
        exe = executable()
        previous = exe.with_name(exe.name + ".previous")
        if previous.exists():
            os.replace(previous, exe)
            log.error("update to %s never checked in; rolled back to %s", info["to"], info["from"])
        marker.unlink()
        return
    marker.write_text(json.dumps(info))


def confirm_if_pending(agent: Agent) -> None:
    """A check-in went through: the running build is good; forget the rollback."""
    marker = agent.state / MARKER
    if marker.exists() and json.loads(marker.read_text()).get("to") == __version__:
        marker.unlink()
        previous = executable().with_name(executable().name + ".previous")
        previous.unlink(missing_ok=True)

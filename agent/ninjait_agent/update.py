"""Agent self-update: verify, download, swap atomically, restart; roll back a build that never checks in.

In the running (old) build, for an `update_agent` command:

1. the appliance's Ed25519 signature over (platform, version, SHA-256) must verify, the
   build must be for this platform, and the URL must be the appliance's update path;
2. the file is streamed over the same pinned connection, with the agent's credentials, to
   `<exe>.new` beside the executable, and must hash to the signed SHA-256;
3. it is started once with `--version`: a build that cannot start, or reports another
   version, is deleted and never swapped in;
4. a trial marker (`update.json` in the state directory) is written, the running build is
   kept as `<exe>.previous`, and `<exe>.new` is renamed over the executable (atomic on
   POSIX; the executable never goes missing);
5. the command is reported `running` and the agent exits 75, which the service manager
   (systemd Restart=always, launchd KeepAlive, the Windows task's loop) answers by starting
   the new build.

In the new build, every start counts a try. The first check-in that goes through ends the
trial: the command is reported `succeeded` and `<exe>.previous` is deleted. A fourth start
without a check-in (a build that crashes), or PROBATION seconds without one (a build that
runs but cannot reach the appliance), puts `<exe>.previous` back and exits 75; the restored
build reports the command `failed`, with the reason, at its first check-in.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ninjait_agent import __version__, wire
from ninjait_agent.commands import Refused, child_env

if TYPE_CHECKING:
    from ninjait_agent.loop import Agent

log = logging.getLogger("ninjait_agent.update")
MARKER = "update.json"
MAX_TRIES = 3  # starts a new build gets to check in; the next start rolls back
PROBATION = 600.0  # seconds a running new build gets to check in before it is rolled back
RESTART_EXIT_CODE = 75  # the service manager starts us again (EX_TEMPFAIL)
URL_PREFIX = "/agent/v1/updates/"
ENV_EXECUTABLE = "NINJAIT_AGENT_EXECUTABLE"  # tests and debugging: the file to replace
ENV_PROBATION = "NINJAIT_AGENT_UPDATE_PROBATION"  # tests and debugging: seconds instead of PROBATION

update_signed_bytes = wire.update_signed_bytes


def current_platform() -> str:
    return {"win32": "windows", "darwin": "darwin"}.get(sys.platform, "linux")


def executable() -> Path:
    # Frozen, sys.executable is the one-file binary itself (resolved: /usr/bin links to /opt).
    return Path(os.environ.get(ENV_EXECUTABLE) or sys.executable).resolve()


def previous_of(exe: Path) -> Path:
    return exe.with_name(exe.name + ".previous")


def probation() -> float:
    try:
        return float(os.environ.get(ENV_PROBATION) or PROBATION)
    except ValueError:
        return PROBATION


# --- the trial marker -------------------------------------------------------------------------------

def read_marker(state: Path) -> dict[str, Any] | None:
    try:
        return json.loads((state / MARKER).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.error("ignoring an unreadable %s: %s", MARKER, exc)
        return None


def write_marker(state: Path, info: dict[str, Any]) -> None:
    tmp = state / (MARKER + ".tmp")
    tmp.write_text(json.dumps(info))
    os.replace(tmp, state / MARKER)


# --- in the old build ---------------------------------------------------------------------------------

def _download(agent: Agent, url: str, path: Path) -> str:
    """Stream the build into a new file at path; its SHA-256."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o755)
    with os.fdopen(fd, "w+b") as fh:
        agent.transport.request("GET", url, headers=agent._headers(), sink=fh)
        fh.flush()
        os.fsync(fh.fileno())
        fh.seek(0)
        digest = hashlib.sha256()
        while chunk := fh.read(1 << 16):
            digest.update(chunk)
    return digest.hexdigest()


def _smoke_test(path: Path, version: str) -> None:
    try:
        proc = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL, env=child_env())
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Refused(f"the new build does not start: {exc}") from None
    output = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        raise Refused(f"the new build does not start (exit {proc.returncode}): {output[:300]}")
    if proc.stdout.split()[-1:] != [version]:
        raise Refused(f"the new build reports {output[:100]!r}, not version {version}")


def _swap_in(src: Path, exe: Path, keep: Path | None) -> None:
    """Rename src over exe, keeping the current exe as `keep` when given."""
    if os.name == "nt":  # a running .exe can be renamed but not overwritten
        aside = keep or exe.with_name(exe.name + ".old")
        aside.unlink(missing_ok=True)
        os.replace(exe, aside)
        os.replace(src, exe)
        return
    if keep is not None:
        keep.unlink(missing_ok=True)
        try:
            os.link(exe, keep)  # a second name for the running build: exe is never missing
        except OSError:
            shutil.copy2(exe, keep)
    os.replace(src, exe)


def apply(agent: Agent, command_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    if not getattr(sys, "frozen", False) and not os.environ.get(ENV_EXECUTABLE):
        raise Refused("this agent runs from source; update it with its package manager")
    version, platform, sha256, url = payload["version"], payload["platform"], payload["sha256"], payload["url"]
    if platform != current_platform():
        raise Refused(f"the build is for {platform}; this computer runs {current_platform()}")
    if version == __version__:
        return {"status": "succeeded", "exit_code": 0, "stdout": f"already running {version}"}
    if not url.startswith(URL_PREFIX) or ".." in url:
        raise Refused("agent builds are downloaded from the appliance's update path only")
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(agent.config.signing_key))
    try:
        key.verify(base64.b64decode(payload["signature"]), update_signed_bytes(platform, version, sha256))
    except (InvalidSignature, ValueError):
        raise Refused("the build's signature does not verify") from None
    exe = executable()
    new = exe.with_name(exe.name + ".new")
    try:
        seen = _download(agent, url, new)
        if seen != sha256:
            raise Refused(f"the downloaded build does not match its signed SHA-256 (got {seen})")
        _smoke_test(new, version)
        write_marker(agent.state, {"command_id": command_id, "from": __version__, "to": version, "tries": 0,
                                   "at": time.time(), "state": "trial"})
        _swap_in(new, exe, keep=previous_of(exe))
    except BaseException:
        new.unlink(missing_ok=True)
        (agent.state / MARKER).unlink(missing_ok=True)
        raise
    log.info("swapped in %s (sha256 %s); restarting into it", version, sha256)
    agent.restart_requested = True
    return {"status": "running", "stdout": f"verified {version} (sha256 {sha256}) and swapped it in; "
                                           f"restarting; it has {MAX_TRIES} starts to check in"}


# --- in the new build ---------------------------------------------------------------------------------

def roll_back(state: Path, info: dict[str, Any], reason: str) -> bool:
    """Put the previous build back; True when it is in place (the caller exits to start it)."""
    exe = executable()
    previous = previous_of(exe)
    if not previous.exists():
        log.error("the update to %s failed (%s) and no previous build is left to restore", info["to"], reason)
        (state / MARKER).unlink(missing_ok=True)
        return False
    _swap_in(previous, exe, keep=None)
    write_marker(state, {**info, "state": "rolled_back", "reason": reason})
    log.error("the update to %s failed (%s); restored %s", info["to"], reason, info["from"])
    return True


def on_start(state: Path) -> bool:
    """Count a start of a build on trial; True when it was rolled back and the agent should exit 75."""
    info = read_marker(state)
    if info is None or info.get("state") != "trial":
        return False
    if info.get("to") != __version__:  # the swap never happened, or someone put another build in place
        write_marker(state, {**info, "state": "rolled_back", "reason": f"{__version__} is running instead"})
        return False
    info["tries"] = int(info.get("tries", 0)) + 1
    if info["tries"] > MAX_TRIES:
        return roll_back(state, info, f"no check-in after {MAX_TRIES} starts")
    write_marker(state, info)
    log.warning("build %s on trial: start %d of %d without a check-in yet", __version__, info["tries"], MAX_TRIES)
    return False


def probation_over(state: Path) -> bool:
    """A build on trial that has run PROBATION seconds without a check-in rolls back (True: exit 75)."""
    if not (state / MARKER).exists():
        return False
    info = read_marker(state)
    if info is None or info.get("state") != "trial" or info.get("to") != __version__:
        return False
    if time.time() - float(info.get("at", 0)) < probation():
        return False
    return roll_back(state, info, f"no check-in within {probation():.0f} s")


def after_check_in(agent: Agent) -> None:
    """A check-in went through: end a trial (report success) or report a rollback."""
    if not (agent.state / MARKER).exists():
        return  # the common case: one stat per check-in
    info = read_marker(agent.state)
    if info is None:
        (agent.state / MARKER).unlink(missing_ok=True)
        return
    command_id = str(info.get("command_id", ""))
    if info.get("state") == "trial":
        if info.get("to") != __version__:
            return  # the old build, between the swap and its exit: the new one reports
        previous_of(executable()).unlink(missing_ok=True)
        result = {"status": "succeeded", "exit_code": 0,
                  "stdout": f"updated {info['from']} -> {info['to']}; the new build checked in"}
        log.info("update to %s confirmed", __version__)
    else:
        result = {"status": "failed", "reason": f"update to {info.get('to')} rolled back: "
                                                f"{info.get('reason', 'the new build did not check in')}"}
    if command_id:
        agent.outbox.add_result(command_id, {"command_id": command_id, "finished_at": time.time(), **result})
    (agent.state / MARKER).unlink(missing_ok=True)

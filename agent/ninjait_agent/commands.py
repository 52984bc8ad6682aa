"""Signed commands: verify everything before acting, then run them off the check-in loop."""

from __future__ import annotations

import base64
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ninjait_agent import wire
from ninjait_agent.outbox import Outbox

log = logging.getLogger("ninjait_agent.commands")
OUTPUT_CAP = 1_000_000  # bytes kept of stdout and of stderr
CLOCK_SKEW = 300  # seconds a command may appear to come from the future


class Refused(Exception):
    pass


def verify(cmd: wire.SignedCommand, *, agent_id: str, public_key_b64: str, outbox: Outbox,
           now: float | None = None) -> None:
    """Raise Refused unless the server signed exactly this command, for this agent, and it is fresh and new."""
    now = time.time() if now is None else now
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
        key.verify(base64.b64decode(cmd.signature), wire.signed_bytes(cmd))
    except (InvalidSignature, ValueError):
        raise Refused("bad signature") from None
    if cmd.agent_id != agent_id:
        raise Refused("addressed to another agent")
    if wire.payload_sha256(cmd.payload) != cmd.payload_sha256:
        raise Refused("payload does not match its signed hash")
    if cmd.expires_at <= now:
        raise Refused("expired")
    if cmd.issued_at > now + CLOCK_SKEW:
        raise Refused("issued in the future (check the clocks)")
    if not outbox.claim_nonce(cmd.nonce, cmd.expires_at):
        raise Refused("replayed (nonce already used)")


def _cap(data: bytes) -> str:
    text = data[:OUTPUT_CAP].decode(errors="replace")
    return text + ("\n[output cut at 1 MB]" if len(data) > OUTPUT_CAP else "")


INTERPRETERS: dict[str, tuple[list[str], str]] = {
    "sh": (["sh"], ".sh"),
    "bash": (["bash"], ".sh"),
    "python": ([sys.executable if not getattr(sys, "frozen", False) else "python3"], ".py"),
    "powershell": (["powershell", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File"], ".ps1"),
    "cmd": (["cmd", "/c"], ".cmd"),
}


def child_env() -> dict[str, str]:
    """The environment for programs the agent starts.

    The one-file build's bootloader points LD_LIBRARY_PATH (LIBPATH, DYLD_*) at the libraries it
    unpacked and saves the original as *_ORIG; a script's curl or apt must not load our OpenSSL.
    PYINSTALLER_RESET_ENVIRONMENT makes another one-file build (an update's `--version` check)
    unpack itself instead of taking this one's unpacked files.
    """
    env = dict(os.environ)
    if getattr(sys, "frozen", False):
        for var in ("LD_LIBRARY_PATH", "LIBPATH", "DYLD_LIBRARY_PATH", "DYLD_FRAMEWORK_PATH"):
            original = env.pop(var + "_ORIG", None)
            if original is None:
                env.pop(var, None)
            else:
                env[var] = original
        env["PYINSTALLER_RESET_ENVIRONMENT"] = "1"
    return env


def _as_user(run_as: str) -> list[str]:
    if not run_as:
        return []
    if os.name == "nt":
        raise Refused("running as another user is not supported on Windows yet")
    if os.geteuid() != 0:
        raise Refused("running as another user needs an agent running as root")
    if not shutil.which("runuser"):
        raise Refused("runuser is not available on this system")
    return ["runuser", "-u", run_as, "--"]


def run_script(payload: dict, timeout_cap: int = 86400) -> dict:  # type: ignore[type-arg]
    interpreter = payload.get("interpreter", "sh")
    if interpreter not in INTERPRETERS:
        raise Refused(f"unknown interpreter {interpreter}")
    argv, suffix = INTERPRETERS[interpreter]
    if not shutil.which(argv[0]) and not os.path.exists(argv[0]):
        raise Refused(f"{interpreter} is not installed on this computer")
    prefix = _as_user(payload.get("run_as", ""))
    started = time.time()
    fd, path = tempfile.mkstemp(prefix="ninjait-", suffix=suffix)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(payload["script"])
        if prefix:
            os.chmod(path, 0o644)
        try:
            proc = subprocess.run([*prefix, *argv, path, *payload.get("args", [])], capture_output=True,
                                  timeout=min(int(payload.get("timeout", 300)), timeout_cap), stdin=subprocess.DEVNULL,
                                  env=child_env())
        except subprocess.TimeoutExpired as exc:
            return {"status": "timed_out", "exit_code": None, "stdout": _cap(exc.stdout or b""),
                    "stderr": _cap(exc.stderr or b""), "started_at": started, "finished_at": time.time(),
                    "reason": f"killed after {payload.get('timeout')} s"}
    finally:
        os.unlink(path)
    return {"status": "succeeded" if proc.returncode == 0 else "failed", "exit_code": proc.returncode,
            "stdout": _cap(proc.stdout), "stderr": _cap(proc.stderr), "started_at": started, "finished_at": time.time()}


class Executor:
    """Runs accepted commands in threads and leaves their results in the outbox."""

    def __init__(self, outbox: Outbox, *, no_scripts: bool, reboot_command: list[str],
                 on_refresh_inventory: Callable[[], None],
                 on_update: Callable[[wire.SignedCommand], dict]) -> None:  # type: ignore[type-arg]
        self.outbox = outbox
        self.no_scripts = no_scripts
        self.reboot_command = reboot_command
        self.on_refresh_inventory = on_refresh_inventory
        self.on_update = on_update
        self._threads: list[threading.Thread] = []

    def refuse(self, cmd: wire.SignedCommand, reason: str) -> None:
        log.warning("refused command %s (%s): %s", cmd.id, cmd.kind, reason)
        self.outbox.add_result(cmd.id, {"command_id": cmd.id, "status": "refused", "reason": reason,
                                        "finished_at": time.time()})

    def start(self, cmd: wire.SignedCommand) -> None:
        if cmd.kind == "run_script" and self.no_scripts:
            self.refuse(cmd, "script execution is disabled on this agent (--no-scripts)")
            return
        self.outbox.add_result(cmd.id, {"command_id": cmd.id, "status": "running", "started_at": time.time()})
        thread = threading.Thread(target=self._run, args=(cmd,), name=f"command-{cmd.id[:8]}", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _run(self, cmd: wire.SignedCommand) -> None:
        try:
            if cmd.kind == "run_script":
                result = run_script(cmd.payload)
            elif cmd.kind == "refresh_inventory":
                self.on_refresh_inventory()
                result = {"status": "succeeded", "exit_code": 0}
            elif cmd.kind == "reboot":
                if cmd.payload.get("confirm") is not True:
                    raise Refused("a reboot needs the explicit confirm flag")
                proc = subprocess.run(self.reboot_command, capture_output=True, timeout=60, env=child_env())
                result = {"status": "succeeded" if proc.returncode == 0 else "failed", "exit_code": proc.returncode,
                          "stdout": _cap(proc.stdout), "stderr": _cap(proc.stderr)}
            elif cmd.kind == "update_agent":
                result = self.on_update(cmd)
            else:
                raise Refused(f"unknown command kind {cmd.kind}")
        except Refused as exc:
            self.refuse(cmd, str(exc))
            return
        except Exception as exc:  # report, never crash the agent
            log.exception("command %s failed", cmd.id)
            result = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"[:4000]}
        result.setdefault("finished_at", time.time())
        self.outbox.add_result(cmd.id, {"command_id": cmd.id, **result})

    def idle(self) -> bool:
        return not any(t.is_alive() for t in self._threads)

    def wait(self, timeout: float = 5) -> None:
        for t in self._threads:
            t.join(timeout)

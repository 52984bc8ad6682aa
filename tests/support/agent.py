"""Run the real `ninjait-agent` as a separate process against a test appliance."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.appliance import ROOT, Appliance


def fingerprint(app: Appliance) -> str:
    found = [line for line in app.log().splitlines() if "fingerprint:" in line]
    return found[0].rsplit(" ", 1)[1]


class AgentProcess:
    """The agent from source (`python -m ninjait_agent`), or `command` (a one-file binary)."""

    def __init__(self, state_dir: Path, server: str, *, command: list[str] | None = None,
                 env: dict[str, str] | None = None) -> None:
        self.state_dir = state_dir
        self.server = server
        self.command = command or [sys.executable, "-m", "ninjait_agent"]
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("NINJAIT_")}, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = state_dir.parent / f"{state_dir.name}.log"

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.command, "--state-dir", str(self.state_dir), *args],
                              cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)

    def enroll(self, token: str, fp: str, *extra: str) -> subprocess.CompletedProcess[str]:
        return self.cli("enroll", "--server", self.server, "--token", token, "--fingerprint", fp, *extra)

    def start(self, interval: float | None = 1.0, env: dict[str, str] | None = None,
              log_level: str = "debug") -> AgentProcess:
        """`run`; interval None: the appliance's, as in production."""
        self._log = self.log_path.open("ab")
        fixed = ["--interval", str(interval)] if interval is not None else []
        self.proc = subprocess.Popen([*self.command, "--state-dir", str(self.state_dir),
                                      "--log-level", log_level, "run", *fixed],
                                     cwd=ROOT, env={**self.env, **(env or {})}, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        return self

    def wait(self, timeout: float) -> int:
        """Until the process exits by itself; its exit status."""
        assert self.proc is not None
        self.proc.wait(timeout)
        return self.stop()

    def stop(self) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        code = self.proc.returncode
        self.proc = None
        return code

    def status(self) -> dict:  # type: ignore[type-arg]
        return json.loads(self.cli("status", "--json").stdout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def agent_id(self) -> str:
        return json.loads((self.state_dir / "config.json").read_text())["agent_id"]


def wait_until(condition, timeout: float = 30, every: float = 0.2):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout}s")

"""Start the real appliance (`python -m ninjait serve`) on loopback for a test."""

from __future__ import annotations

import os
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]


class Appliance:
    def __init__(self, data_dir: Path, database_url: str = "", *, env: dict[str, str] | None = None,
                 args: list[str] | None = None, command: list[str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"serve-{self.port}.log"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("NINJAIT_")}
        full_env.update({"NINJAIT_DATA_DIR": str(data_dir), "NINJAIT_PORT": str(self.port),
                         "NINJAIT_HOST": "127.0.0.1", "NINJAIT_LOG_FORMAT": "json"})
        if database_url:
            full_env["NINJAIT_DATABASE_URL"] = database_url
        full_env.update(env or {})
        self.env = full_env
        self.command = [*(command or [sys.executable, "-m", "ninjait"]), "serve", *(args or [])]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> Appliance:
        self._log = self.log_path.open("ab")  # a restart keeps the earlier log
        self.proc = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"appliance exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "/healthz", verify=False, timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"appliance did not answer within {timeout}s:\n{self.log()}")

    def ssl_context(self) -> ssl.SSLContext:
        """Trust exactly the appliance's own certificate, as an agent pinning it would."""
        return ssl.create_default_context(cafile=str(self.data_dir / "tls" / "cert.pem"))

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=f"https://localhost:{self.port}", verify=self.ssl_context(),
                            timeout=30, **kwargs)  # type: ignore[arg-type]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

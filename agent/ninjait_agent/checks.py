"""Agent-side checks: the definitions the server sends, run on their interval, results into the outbox.

The server sends the whole set with a version when it changes; the agent keeps it in its outbox
state so a restart needs nothing from the server. Script checks arrive as signed run_script
commands and are verified on receipt exactly like commands; an agent installed with --no-scripts
refuses them and reports why.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import msgspec
import psutil

from ninjait_agent import wire
from ninjait_agent.commands import Refused, child_env, run_script, verify
from ninjait_agent.outbox import Outbox

log = logging.getLogger("ninjait_agent.checks")
MAX_PARALLEL = 4
Result = tuple[str, float | None, str]  # status (pass, warn, fail, error), value, message
SPEC_DECODER = msgspec.json.Decoder(wire.CheckSet)


def process_running(name: str, min_count: int) -> Result:
    wanted = name.lower()
    count = 0
    for proc in psutil.process_iter(["name"]):
        if (proc.info.get("name") or "").lower() == wanted:
            count += 1
    if count >= min_count:
        return "pass", float(count), f"{count} {name} process{'es' if count != 1 else ''} running"
    return "fail", float(count), f"{name}: {count} running, expected at least {min_count}"


def service_running(name: str) -> Result:
    system = platform.system()
    if system == "Windows":  # pragma: no cover - Windows only
        try:
            status = psutil.win_service_get(name).status()
        except psutil.NoSuchProcess:
            return "fail", None, f"service {name} is not installed"
        return ("pass" if status == "running" else "fail"), None, f"service {name} is {status}"
    if system == "Linux" and os.path.isdir("/run/systemd/system") and shutil.which("systemctl"):
        out = subprocess.run(["systemctl", "is-active", name], capture_output=True, text=True, timeout=30,
                             env=child_env()).stdout.strip() or "unknown"
        return ("pass" if out == "active" else "fail"), None, f"service {name} is {out}"
    if system == "Darwin":
        out = subprocess.run(["launchctl", "list", name], capture_output=True, text=True, timeout=30, env=child_env())
        running = out.returncode == 0 and '"PID"' in out.stdout
        return ("pass" if running else "fail"), None, f"service {name} is {'running' if running else 'not running'}"
    # No service manager (containers, minimal systems): a service runs when a process of its name does.
    status, value, _ = process_running(name, 1)
    return status, None, f"service {name} is {'running' if status == 'pass' else 'not running'} (no service manager: by process name)"


def ping(host: str, timeout: float) -> Result:
    """The system's ping (no root needed); without one, a TCP connection to port 80, where even a refusal
    shows the host is up."""
    if shutil.which("ping"):
        argv = ["ping", "-n", "1", "-w", str(int(timeout * 1000)), host] if os.name == "nt" else \
            ["ping", "-c", "1", "-W", str(int(timeout)), host]
        started = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, timeout=timeout + 5, env=child_env())
        ms = (time.perf_counter() - started) * 1000
        if proc.returncode == 0:
            return "pass", round(ms, 2), f"{host} answered in {ms:.1f} ms"
        if b"not permitted" not in proc.stderr.lower() and b"permission" not in proc.stderr.lower():
            return "fail", None, f"{host} did not answer"
    started = time.perf_counter()
    try:
        socket.create_connection((host, 80), timeout=timeout).close()
    except ConnectionRefusedError:
        pass
    except OSError as exc:
        return "fail", None, f"{host} did not answer: {exc}"
    ms = (time.perf_counter() - started) * 1000
    return "pass", round(ms, 2), f"{host} answered (TCP) in {ms:.1f} ms"


def tcp(host: str, port: int, timeout: float) -> Result:
    started = time.perf_counter()
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        return "fail", None, f"{host}:{port} refused or unreachable: {exc}"
    ms = (time.perf_counter() - started) * 1000
    return "pass", round(ms, 2), f"{host}:{port} accepted a connection in {ms:.1f} ms"


def http(url: str, expect_status: int, contains: str, verify_tls: bool, timeout: float) -> Result:
    context = ssl.create_default_context()
    if not verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    started = time.perf_counter()
    request = urllib.request.Request(url, headers={"User-Agent": "NinjaIT-agent-check"})
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as resp:  # noqa: S310 - http(s) only
            status, body = resp.status, resp.read(1_000_000)
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read(1_000_000)
    except (urllib.error.URLError, OSError) as exc:
        return "fail", None, f"{url}: {exc}"
    ms = round((time.perf_counter() - started) * 1000, 2)
    if status != expect_status:
        return "fail", ms, f"{url} answered {status}, expected {expect_status}"
    if contains and contains.encode() not in body:
        return "fail", ms, f"{url} answered {status} without “{contains}” in the body"
    return "pass", ms, f"{url} answered {status} in {ms:.0f} ms"


def script(spec: wire.CheckSpec, no_scripts: bool, refused: str) -> Result:
    if no_scripts:
        return "error", None, "script execution is disabled on this agent (--no-scripts)"
    if refused or spec.command is None:
        return "error", None, f"script refused: {refused or 'not signed'}"
    out = run_script(spec.command.payload)
    code = out.get("exit_code")
    tail = (out.get("stdout") or out.get("stderr") or "").strip()[-500:]
    if out["status"] == "timed_out":
        return "fail", None, f"timed out ({out.get('reason', '')})"
    warn = spec.params.get("warn_codes", [])
    status = "pass" if code == 0 else "warn" if code in warn else "fail"
    return status, float(code) if code is not None else None, f"exit {code}" + (f": {tail}" if tail else "")


class CheckRunner:
    """Holds the agent's check set and runs what is due, a few at a time, off the check-in loop."""

    def __init__(self, outbox: Outbox, *, agent_id: str, signing_key: str, no_scripts: bool) -> None:
        self.outbox = outbox
        self.agent_id, self.signing_key, self.no_scripts = agent_id, signing_key, no_scripts
        self.checks: wire.CheckSet | None = None
        self.refused = {int(k): v for k, v in json.loads(outbox.get("checks_refused", "{}") or "{}").items()}
        saved = outbox.get("checks")
        if saved:
            try:
                self.checks = SPEC_DECODER.decode(saved.encode())
            except msgspec.ValidationError:
                self.checks = None
        self.next_run: dict[int, float] = {}
        self.running: set[int] = set()
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=MAX_PARALLEL, thread_name_prefix="check")

    @property
    def version(self) -> str:
        return self.checks.version if self.checks else "none"

    def replace(self, checks: wire.CheckSet) -> None:
        """A new set from the server: verify signed scripts now (a nonce is good once), keep it durable."""
        refused: dict[int, str] = {}
        for spec in checks.checks:
            if spec.kind == "script" and spec.command is not None and not self.no_scripts:
                try:
                    verify(spec.command, agent_id=self.agent_id, public_key_b64=self.signing_key, outbox=self.outbox)
                except Refused as exc:
                    refused[spec.id] = str(exc)
        with self.lock:
            self.checks, self.refused = checks, refused
            self.next_run = {k: v for k, v in self.next_run.items() if any(s.id == k for s in checks.checks)}
        self.outbox.put("checks", wire.ENCODER.encode(checks).decode())
        self.outbox.put("checks_refused", json.dumps(refused))
        log.info("check set %s: %d check(s)", checks.version, len(checks.checks))

    def run_due(self, now: float | None = None) -> int:
        """Start every check whose interval has passed; returns how many were started."""
        now = time.time() if now is None else now
        started = 0
        with self.lock:
            specs = list(self.checks.checks) if self.checks else []
            for spec in specs:
                if spec.id in self.running or self.next_run.get(spec.id, 0) > now:
                    continue
                self.running.add(spec.id)
                self.next_run[spec.id] = now + spec.interval
                self.pool.submit(self._run, spec)
                started += 1
        return started

    def _run(self, spec: wire.CheckSpec) -> None:
        try:
            status, value, message = self.run_one(spec)
        except Exception as exc:  # report, never crash the agent
            log.exception("check %s failed to run", spec.id)
            status, value, message = "error", None, f"{type(exc).__name__}: {exc}"
        finally:
            with self.lock:
                self.running.discard(spec.id)
        self.outbox.add_check_result({"check_id": spec.id, "ts": time.time(), "status": status, "value": value,
                                      "message": message[:4000]})

    def run_one(self, spec: wire.CheckSpec) -> Result:
        p = spec.params
        if spec.kind == "process":
            return process_running(p["name"], int(p.get("min_count", 1)))
        if spec.kind == "service":
            return service_running(p["name"])
        if spec.kind == "ping":
            return ping(p["host"], float(p.get("timeout", 5)))
        if spec.kind == "tcp":
            return tcp(p["host"], int(p["port"]), float(p.get("timeout", 5)))
        if spec.kind == "http":
            return http(p["url"], int(p.get("expect_status", 200)), p.get("contains", ""),
                        bool(p.get("verify_tls", True)), float(p.get("timeout", 10)))
        if spec.kind == "script":
            return script(spec, self.no_scripts, self.refused.get(spec.id, ""))
        return "error", None, f"this agent does not know {spec.kind} checks"

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


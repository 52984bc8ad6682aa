"""Errors the endpoint logged since the last check-in, sent with the next batch.

Linux: the systemd journal (`journalctl --priority=err`, JSON lines). Windows: the System and Application
event logs, levels Critical and Error (PowerShell `Get-WinEvent`). Elsewhere (macOS, no journal): none.
At most MAX_EVENTS per round, the newest kept; the first round only sets the starting point (no history).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable

from ninjait_agent import wire

MAX_EVENTS = 50
TIMEOUT = 10
JOURNAL_LEVELS = {0: "critical", 1: "critical", 2: "critical", 3: "error", 4: "warning"}
WINDOWS_LEVELS = {1: "critical", 2: "error", 3: "warning"}


def parse_journal(lines: Iterable[str]) -> list[wire.AgentEvent]:
    """`journalctl --output=json` lines → events (lines that are not JSON, or lack a message, are skipped)."""
    found = []
    for line in lines:
        try:
            entry = json.loads(line)
            priority = int(entry.get("PRIORITY", 3))
            message = entry["MESSAGE"]
            when = int(entry["__REALTIME_TIMESTAMP"]) / 1e6
        except (ValueError, KeyError, TypeError):
            continue
        if not isinstance(message, str) or priority not in JOURNAL_LEVELS:
            continue
        found.append(wire.AgentEvent(ts=when, level=JOURNAL_LEVELS[priority],  # type: ignore[arg-type]
                                     source=str(entry.get("SYSLOG_IDENTIFIER") or entry.get("_COMM") or "")[:256],
                                     message=message[:4096]))
    return found[-MAX_EVENTS:]


def parse_windows(text: str) -> list[wire.AgentEvent]:
    """`Get-WinEvent ... | ConvertTo-Json` (one object or a list) → events."""
    try:
        data = json.loads(text or "[]")
    except ValueError:
        return []
    items = data if isinstance(data, list) else [data]
    found = []
    for item in items:
        if not isinstance(item, dict) or item.get("Level") not in WINDOWS_LEVELS:
            continue
        found.append(wire.AgentEvent(ts=float(item.get("Epoch") or time.time()), level=WINDOWS_LEVELS[item["Level"]],  # type: ignore[arg-type]
                                     source=str(item.get("ProviderName") or "")[:256],
                                     message=str(item.get("Message") or "")[:4096]))
    return found[-MAX_EVENTS:]


def _run(args: list[str]) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""


def collect(since: float) -> list[wire.AgentEvent]:
    """Errors logged after ``since`` (epoch seconds)."""
    if sys.platform.startswith("linux") and shutil.which("journalctl"):
        out = _run(["journalctl", "--priority=err", f"--since=@{int(since)}", "--output=json", "--no-pager",
                    "--quiet", f"--lines={MAX_EVENTS}"])
        return [e for e in parse_journal(out.splitlines()) if e.ts > since]
    if sys.platform == "win32" and shutil.which("powershell"):
        script = ("Get-WinEvent -FilterHashtable @{LogName='System','Application'; Level=1,2; "
                  f"StartTime=[DateTimeOffset]::FromUnixTimeSeconds({int(since)}).LocalDateTime}} "
                  f"-MaxEvents {MAX_EVENTS} -ErrorAction SilentlyContinue | Select-Object Level, ProviderName, "
                  "Message, @{n='Epoch';e={[DateTimeOffset]::new($_.TimeCreated).ToUnixTimeSeconds()}} | "
                  "ConvertTo-Json -Compress")
        return [e for e in parse_windows(_run(["powershell", "-NoProfile", "-Command", script])) if e.ts > since]
    return []

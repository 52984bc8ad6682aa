"""Simulated agents speaking the real wire protocol to the real gateway (for tests that need many)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class FakeAgent:
    agent_id: str
    secret: str
    seq: int = 0

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Agent {self.agent_id}:{self.secret}"}

    def check_in(self, client: httpx.Client, **body: Any) -> httpx.Response:
        self.seq += 1
        return client.post("/agent/v1/checkin", json={"seq": self.seq, "sent_at": time.time(),
                                                       "agent_version": "sim-1", **body}, headers=self.auth)


def inventory(hostname: str, *, ip: str = "10.0.0.1", software: tuple[str, ...] = (), os_name: str = "Debian GNU/Linux",
              serial: str = "", users: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"hostname": hostname, "os_name": os_name, "os_version": "12", "serial": serial, "ram_bytes": 8 << 30,
            "cpu_threads": 4, "nics": [{"name": "eth0", "mac": "02:00:00:00:00:01", "addresses": [ip]}],
            "users": list(users), "software": [{"name": s, "version": "1"} for s in software]}


def sample(ts: float, cpu: float) -> dict[str, Any]:
    return {"ts": ts, "cpu_percent": cpu, "load1": 0.5, "mem_percent": 40.0, "swap_percent": 0.0,
            "process_count": 100, "disks": [{"mount": "/", "used_percent": 55.0}]}


def enroll(client: httpx.Client, token: str, hostname: str) -> FakeAgent:
    r = client.post("/agent/v1/enroll", json={"token": token, "hostname": hostname, "platform": "linux",
                                              "agent_version": "sim-1"})
    assert r.status_code == 200, r.text
    return FakeAgent(r.json()["agent_id"], r.json()["secret"])


def check_report(check_id: int, status: str, *, value: float | None = None, message: str = "",
                 ts: float | None = None) -> dict[str, Any]:
    """One run of an agent-side check, as the agent reports it in `check_results`."""
    report: dict[str, Any] = {"check_id": check_id, "ts": ts or time.time(), "status": status, "message": message}
    if value is not None:
        report["value"] = value
    return report

"""Many fake agents checking in from threads, remembering which batches the server acknowledged.

Each batch carries two samples with timestamps unique to its agent, so a batch stored twice shows
up as extra points in the raw metric series, and a missing one as fewer.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.support.appliance import Appliance
from tests.support.fake_agents import FakeAgent, enroll, inventory, sample

SAMPLES_PER_BATCH = 2
ROWS_PER_SAMPLE = 12  # 11 scalar metrics and one disk
T0 = time.time() - 3600  # samples lie in the last hour: inside raw retention, inside the default window


@dataclass
class Tracked:
    agent: FakeAgent
    hostname: str
    index: int
    acked: set[int] = field(default_factory=set)
    # Sent but not acknowledged (an error, a timeout, the server died): the agent keeps them to resend.
    unacked: dict[int, dict[str, Any]] = field(default_factory=dict)


def batch(seq: int, index: int) -> dict[str, Any]:
    base = T0 + seq * 0.5 + index * 1e-4
    return {"seq": seq, "sent_at": time.time(), "agent_version": "sim-1",
            "metrics": [sample(base + i * 0.25, float((seq + i) % 100)) for i in range(SAMPLES_PER_BATCH)]}


class Fleet:
    def __init__(self, app: Appliance, token: str, count: int, prefix: str = "pc") -> None:
        self.app = app
        self.agents: list[Tracked] = []
        with app.client() as client:
            for i in range(count):
                name = f"{prefix}-{i:03d}"
                agent = enroll(client, token, name)
                body = {"seq": 1, "sent_at": time.time(), "agent_version": "sim-1", "inventory": inventory(name)}
                assert client.post("/agent/v1/checkin", json=body, headers=agent.auth).status_code == 200
                agent.seq = 1
                self.agents.append(Tracked(agent, name, i, acked={1}))
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.errors = 0

    def start(self, threads: int = 4, pause: float = 0.0) -> Fleet:
        self._stop.clear()
        for n in range(threads):
            mine = self.agents[n::threads]
            t = threading.Thread(target=self._loop, args=(mine, pause), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def _loop(self, mine: list[Tracked], pause: float) -> None:
        client = self.app.client()
        client.timeout = httpx.Timeout(10)
        try:
            while not self._stop.is_set():
                for index, t in enumerate(mine):
                    if self._stop.is_set():
                        break
                    t.agent.seq += 1
                    body = batch(t.agent.seq, t.index)
                    t.unacked[t.agent.seq] = body
                    try:
                        r = client.post("/agent/v1/checkin", json=body, headers=t.agent.auth)
                    except httpx.HTTPError:
                        self.errors += 1
                        time.sleep(0.05)
                        client.close()
                        client = self.app.client()
                        continue
                    if r.status_code == 200 and r.json()["ack_seq"] == t.agent.seq:
                        t.acked.add(t.agent.seq)
                        del t.unacked[t.agent.seq]
                    else:
                        self.errors += 1
                if pause:
                    time.sleep(pause)
        finally:
            client.close()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)
        self._threads.clear()

    def resend(self) -> int:
        """Send every unacknowledged batch again, unchanged (same seq, same samples)."""
        sent = 0
        with self.app.client() as client:
            for t in self.agents:
                for seq, body in sorted(t.unacked.items()):
                    r = client.post("/agent/v1/checkin", json=body, headers=t.agent.auth)
                    assert r.status_code == 200, r.text
                    t.acked.add(seq)
                    sent += 1
                t.unacked.clear()
        return sent

    @staticmethod
    def points_of(t: Tracked, seqs: set[int] | None = None) -> list[float]:
        """The sample timestamps the batches ``seqs`` (default: the acknowledged ones) carry."""
        chosen = t.acked if seqs is None else seqs
        return sorted(p["ts"] for seq in chosen if seq > 1 for p in batch(seq, t.index)["metrics"])

    @property
    def batches_acked(self) -> int:
        return sum(len(t.acked) for t in self.agents)


def raw_points(client: Any, device_id: int) -> list[float]:
    """Timestamps of a device's raw cpu samples, through the API (it reads DuckDB and the hot table)."""
    r = client.get(f"/api/v1/devices/{device_id}/metrics", params={
        "metric": "cpu_percent", "tier": "raw", "from": T0 - 60, "to": time.time() + 3600})
    assert r.status_code == 200, r.text
    return [p["t"] for p in r.json()["points"]]

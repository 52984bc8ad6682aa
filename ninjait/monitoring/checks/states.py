"""The state machine of one (check, device): observations in, state and the events to publish out.

An observation is pass, warn, fail or error (the check could not run). A check turns warning or
failing after `fail_after` consecutive non-passing observations, back to passing after
`recover_after` passing ones, and unknown on an error. Observations older than the newest applied
one are ignored, so reading the same samples twice changes nothing.

Counters stop at the threshold they are compared with, so a steady state (passing or failing)
writes nothing but its periodic history entry: at thousands of devices most observations
change nothing, and most passes write little.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ninjait.core.db import Conn
from ninjait.monitoring.checks import store

FAILED_STATES = ("warning", "failing")


@dataclass
class Observation:
    check: dict[str, Any]
    device: dict[str, Any]
    ts: float
    status: str  # pass, warn, fail, error
    value: float | None = None
    message: str = ""
    breach_since: float | None = None
    always_record: bool = True  # probes, agent results: every run is history; sample-driven checks: per interval


@dataclass
class Change:
    event: str  # check.failed or check.recovered
    payload: dict[str, Any] = field(default_factory=dict)


def new_state(check_id: int, device_id: int, tenant_id: int) -> dict[str, Any]:
    return {"check_id": check_id, "device_id": device_id, "tenant_id": tenant_id, "state": "unknown", "fails": 0,
            "passes": 0, "breach_since": None, "last_ts": 0.0, "last_value": None, "message": "",
            "last_run_at": None, "last_recorded_at": 0, "changed_at": None}


def step(state: dict[str, Any], obs: Observation, now: int) -> tuple[dict[str, Any], bool]:
    """The state after one observation, and whether it goes into the history."""
    check = obs.check
    s = dict(state)
    before = s["state"]
    s.update(last_ts=obs.ts, last_value=obs.value, message=obs.message[:4000], last_run_at=now,
             breach_since=obs.breach_since)
    if obs.status == "pass":
        s["passes"], s["fails"] = min(s["passes"] + 1, check["recover_after"]), 0
        if before == "unknown" or s["passes"] >= check["recover_after"]:
            s["state"] = "passing"
    elif obs.status in ("warn", "fail"):
        s["fails"], s["passes"] = min(s["fails"] + 1, check["fail_after"]), 0
        if s["fails"] >= check["fail_after"]:
            s["state"] = "warning" if obs.status == "warn" else "failing"
    else:
        s["fails"] = s["passes"] = 0
        s["state"] = "unknown"
    if s["state"] != before:
        s["changed_at"] = now
    record = (obs.always_record or s["state"] != before
              or now - (s["last_recorded_at"] or 0) >= check["interval_seconds"])
    if record:
        s["last_recorded_at"] = now
    return s, record


def change_of(before: str, obs: Observation, after: dict[str, Any]) -> Change | None:
    state = after["state"]
    if state == before:
        return None
    if state in FAILED_STATES:
        name = "check.failed"
    elif state == "passing" and before in FAILED_STATES:
        name = "check.recovered"
    else:
        return None
    check, device = obs.check, obs.device
    return Change(name, {"device_id": device["id"], "organization_id": device["organization_id"],
                         "hostname": device.get("hostname", ""), "check_id": check["id"], "check_name": check["name"],
                         "kind": check["kind"], "severity": check["severity"], "state": state, "from": before,
                         "value": obs.value, "message": after["message"]})


MEMORY = ("state", "fails", "passes", "breach_since")  # what the next observation depends on


def apply(c: Conn, observations: list[Observation], now: int,
          states: dict[tuple[int, int], dict[str, Any]] | None = None) -> list[tuple[int, Change]]:
    """Apply observations (in time order per pair) inside one write; returns (tenant, change) to publish.
    `states`: the pairs' stored states when the caller read them already (the evaluator, which is the
    only writer of the pairs it observes)."""
    if states is None:
        states = store.states_for(c, ((o.check["id"], o.device["id"]) for o in observations))
    touched: dict[tuple[int, int], dict[str, Any]] = {}
    dirty: set[tuple[int, int]] = set()
    results: list[tuple[Any, ...]] = []
    changes: list[tuple[int, Change]] = []
    for obs in sorted(observations, key=lambda o: o.ts):
        key = (obs.check["id"], obs.device["id"])
        state = touched.get(key) or states.get(key) or new_state(*key, obs.device["tenant_id"])
        if obs.ts <= state["last_ts"]:
            continue
        after, record = step(state, obs, now)
        touched[key] = after
        if record or key not in states or any(after[k] != state[k] for k in MEMORY):
            dirty.add(key)
        if record:
            results.append((obs.device["tenant_id"], key[0], key[1], obs.ts, obs.status, after["state"], obs.value,
                            after["message"]))
        change = change_of(state["state"], obs, after)
        if change is not None:
            changes.append((obs.device["tenant_id"], change))
    store.save_states(c, [touched[k] for k in dirty])
    store.insert_results(c, results)
    return changes

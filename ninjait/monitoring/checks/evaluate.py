"""Batch evaluation: every few seconds over the devices that sent data since the last pass.

The check-in hot path does nothing for checks beyond storing what came in (samples in
`hot_sample_batches`, one row per check-in; agent-side results in `check_reports`). A pass reads
what arrived since its watermark, matches it against the checks that apply to those devices, runs
the state machine for all of them in one write and publishes `check.failed` / `check.recovered`
after the commit.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from ninjait.core.runtime import Runtime
from ninjait.devices import service as devices
from ninjait.identity.principal import SYSTEM
from ninjait.monitoring import hot
from ninjait.monitoring.checks import kinds, observe, scope, states, store
from ninjait.monitoring.checks.states import Change, Observation

log = logging.getLogger("ninjait.checks")
PASS_LIMIT = 500_000  # agent reports per pass; the rest wait for the next one
PASS_BATCHES = 20_000  # hot rows (check-ins) per pass, likewise
# On PostgreSQL concurrent check-ins may commit out of id order: re-read what was received in the
# last seconds too (observations older than the state's newest are ignored, so this is harmless).
PG_OVERLAP = 30
CLOCK_SKEW = 60  # seconds an agent's sample may claim to be ahead of the appliance


@dataclass
class PassResult:
    devices: int = 0
    evaluated: int = 0  # (check, device) pairs observed
    changes: int = 0


class Evaluator:
    """The watermark and caches of one process's passes."""

    def __init__(self) -> None:
        self.mark = 0
        self.lock = threading.Lock()
        self.sizes: dict[int, tuple[str, dict[str, int]]] = {}  # device -> (inventory hash, mount -> bytes)

    def disk_sizes(self, rt: Runtime, device_ids: list[int]) -> dict[int, dict[str, int]]:
        with rt.db.read() as c:
            hashes = store.inventory_hashes(c, device_ids)
            for device_id, digest in hashes.items():
                cached = self.sizes.get(device_id)
                if cached is None or cached[0] != digest:
                    inv = devices.inventory_of(c, device_id)
                    self.sizes[device_id] = (digest, {d.get("mount", ""): int(d.get("total_bytes", 0))
                                                      for d in inv.get("disks", []) if d.get("total_bytes")})
        return {d: self.sizes[d][1] for d in hashes}


def evaluator(rt: Runtime) -> Evaluator:
    ev = getattr(rt, "_check_evaluator", None)
    if ev is None:
        ev = rt._check_evaluator = Evaluator()  # type: ignore[attr-defined]
    return ev


def publish(rt: Runtime, changes: list[tuple[int, Change]]) -> None:
    for tenant_id, change in changes:
        rt.bus.emit(change.event, tenant_id, SYSTEM.as_dict(), object_type="device",
                    object_id=change.payload["device_id"], **change.payload)


def _read_new(rt: Runtime, ev: Evaluator) -> tuple[dict[int, list[observe.Sample]], list[dict[str, Any]], int]:
    """Samples of the metrics checks use, by device, and agent reports, since the last pass; and the new
    watermark."""
    with rt.db.read() as c:
        metrics = sorted(store.metrics_in_use(c) & set(kinds.METRICS))
        upto = hot.max_id(c)
        if not metrics:
            rows = []
        elif rt.db.backend == "postgresql":
            rows = hot.received_since(c, int(time.time()) - PG_OVERLAP)
        else:
            rows = hot.between(c, ev.mark, upto, PASS_BATCHES)
            if len(rows) == PASS_BATCHES:
                upto = rows[-1]["id"]  # the rest in the next pass
        reports = store.reports(c, PASS_LIMIT)
    per_device: dict[int, list[observe.Sample]] = {}
    for r in rows:
        # A sample dated in the future (a wrong clock on the endpoint) counts as received: otherwise it
        # would hold back every later sample once the clock is put right.
        latest = r["received_at"] + CLOCK_SKEW
        samples = [(min(ts, latest), m, i, v) for ts, m, i, v in hot.unpack(r["samples"], metrics)]
        if samples:
            per_device.setdefault(r["device_id"], []).extend(samples)
    return per_device, reports, upto


def _report_observation(check: dict[str, Any], device: dict[str, Any], r: dict[str, Any]) -> Observation:
    status = r["status"] if r["status"] in ("pass", "warn", "fail", "error") else "error"
    return Observation(check, device, r["ts"], status, r["value"], r["message"])


def run_pass(rt: Runtime, now: float | None = None) -> PassResult:
    """One pass over what arrived since the last one. Safe to run twice (one at a time per process)."""
    ev = evaluator(rt)
    with ev.lock:
        return _run_pass(rt, ev, int(now if now is not None else time.time()))


def _run_pass(rt: Runtime, ev: Evaluator, now: int) -> PassResult:
    per_device, reports, upto = _read_new(rt, ev)
    if not per_device and not reports:
        ev.mark = max(ev.mark, upto)
        return PassResult()
    reports_of: dict[int, list[dict[str, Any]]] = {}
    for r in reports:
        reports_of.setdefault(r["device_id"], []).append(r)
    device_ids = sorted(set(per_device) | set(reports_of))
    with rt.db.read() as c:
        devices = store.devices_by_id(c, device_ids)
        checkset = scope.load(c, {d["tenant_id"] for d in devices.values()})
    pairs = []
    for device in devices.values():
        for check in checkset.for_device(device):
            pairs.append((check, device))
    with rt.db.read() as c:
        known = store.states_for(c, ((ch["id"], d["id"]) for ch, d in pairs))
    need_sizes = [d["id"] for ch, d in pairs if ch["kind"] == "disk" and "min_free_gb" in ch["params"]]
    sizes = ev.disk_sizes(rt, sorted(set(need_sizes))) if need_sizes else {}
    observations: list[Observation] = []
    applicable: dict[int, dict[int, dict[str, Any]]] = {}
    for check, device in pairs:
        applicable.setdefault(device["id"], {})[check["id"]] = check
        if check["kind"] not in kinds.SERVER_EVALUATED or device["id"] not in per_device:
            continue
        state = known.get((check["id"], device["id"]))
        if check["kind"] == "disk":
            obs = observe.disk(check, device, per_device[device["id"]], state, sizes.get(device["id"], {}))
        else:
            obs = observe.threshold(check, device, per_device[device["id"]], state)
        if obs is not None:
            observations.append(obs)
    for device_id, rows in reports_of.items():
        for r in rows:
            check = applicable.get(device_id, {}).get(r["check_id"])
            # A result for a check that no longer applies (deleted, excluded, moved) is dropped.
            if check is not None and check["run_from"] == "agent":
                observations.append(_report_observation(check, devices[device_id], r))
    def write(c: Any) -> list[tuple[int, Change]]:
        changes = states.apply(c, observations, now, known)
        store.delete_reports(c, [r["id"] for r in reports])
        return changes

    changes = rt.db.write(write)
    ev.mark = max(ev.mark, upto)
    publish(rt, changes)
    return PassResult(len(devices), len(observations), len(changes))


def offline_pass(rt: Runtime, now: float | None = None) -> PassResult:
    """Agent-offline checks: no check-in (server clock) for the check's minutes. Right after the
    appliance starts, nobody fails until agents had the time to come back: the gap was ours."""
    now = time.time() if now is None else now
    with rt.db.read() as c:
        checkset = scope.load(c, kinds=("agent_offline",))
        devices = store.devices_of_tenants(c, checkset.by_tenant)
    observations = []
    for device in devices:
        for check in checkset.for_device(device):
            minutes = check["params"]["minutes"]
            seen = device["last_seen_at"]
            if seen is None:
                continue  # never checked in: nothing to judge yet
            away = now - seen
            if away > minutes * 60:
                if now - rt.started_at < minutes * 60:
                    continue
                obs = Observation(check, device, now, "fail", round(away / 60, 1),
                                  f"no check-in for {int(away // 60)} min (last {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(seen))})")
            else:
                obs = Observation(check, device, now, "pass", round(away / 60, 1), "checking in")
            obs.always_record = False
            observations.append(obs)
    if not observations:
        return PassResult()
    changes = rt.db.write(lambda c: states.apply(c, observations, int(now)))
    publish(rt, changes)
    return PassResult(len(devices), len(observations), len(changes))


def purge(rt: Runtime, now: float | None = None) -> int:
    """Results older than check_results_days; states of devices a check no longer covers (moved to another
    site, excluded, left a group), so counts and the device card show only what applies."""
    now = time.time() if now is None else now
    with rt.db.read() as c:
        checkset = scope.load(c)
        devices = {d["id"]: d for d in store.devices_of_tenants(c, checkset.by_tenant)}
        by_id = {ch["id"]: ch for ch in checkset.checks}
        stale = [(check_id, device_id) for check_id, device_id in store.state_pairs(c, sorted(by_id))
                 if device_id not in devices or not scope.applies(checkset, by_id[check_id], devices[device_id])]

    def write(c: Any) -> int:
        store.delete_states(c, stale)
        return store.purge_results(c, now - rt.settings.check_results_days * 86400)

    return rt.db.write(write)


class Ticker:
    """The evaluator's loop inside `ninjait serve`: a pass every `check_evaluate_seconds`."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="check-evaluator", daemon=True)

    def start(self) -> Ticker:
        self.thread.start()
        return self

    def _loop(self) -> None:
        while not self.stopped.wait(self.rt.settings.check_evaluate_seconds):
            try:
                run_pass(self.rt)
            except Exception:  # a bad pass is logged; the next one tries again
                log.exception("check evaluation pass failed")

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(10)

"""Observations of server-evaluated checks, from the samples a device sent and its inventory."""

from __future__ import annotations

from typing import Any

from ninjait.monitoring.checks.states import Observation

GB = 1_000_000_000
Sample = tuple[float, str, str, float]  # ts, metric, instance, value


def threshold_spec(check: dict[str, Any]) -> tuple[str, str, str, float, int]:
    """metric, instance ('' = every instance), operator, threshold, minutes of a threshold-like check."""
    p = check["params"]
    if check["kind"] == "cpu":
        return "cpu_percent", "", "above", p["threshold"], p["minutes"]
    if check["kind"] == "memory":
        return "mem_percent", "", "above", p["threshold"], p["minutes"]
    return p["metric"], p["instance"], p["operator"], p["threshold"], p["minutes"]


def threshold(check: dict[str, Any], device: dict[str, Any], samples: list[Sample], state: dict[str, Any] | None,
              ) -> Observation | None:
    """Above (below) the threshold continuously for `minutes`, judged on the samples' own times."""
    metric, instance, operator, limit, minutes = threshold_spec(check)
    last_ts = state["last_ts"] if state else 0.0
    breach_since = state["breach_since"] if state else None
    # One value per sample time: the worst of the matching instances.
    worst: dict[float, float] = {}
    for ts, name, inst, value in samples:
        if name != metric or ts <= last_ts or (instance and inst != instance):
            continue
        old = worst.get(ts)
        if old is None or (value > old if operator == "above" else value < old):
            worst[ts] = value
    if not worst:
        return None
    ts = value = 0.0
    for ts in sorted(worst):
        value = worst[ts]
        breached = value > limit if operator == "above" else value < limit
        breach_since = (breach_since if breach_since is not None else ts) if breached else None
    failing = breach_since is not None and ts - breach_since >= minutes * 60
    label = f"{metric}{'[' + instance + ']' if instance else ''}"
    if failing:
        message = f"{label} is {value:g}, {operator} {limit:g}" + (
            f" for {int((ts - breach_since) // 60)} min" if minutes else "")  # type: ignore[operator]
    else:
        message = f"{label} is {value:g} (fails {operator} {limit:g}" + (f" for {minutes} min)" if minutes else ")")
    return Observation(check, device, ts, "fail" if failing else "pass", value, message, breach_since,
                       always_record=False)


def disk(check: dict[str, Any], device: dict[str, Any], samples: list[Sample], state: dict[str, Any] | None,
         sizes: dict[str, int]) -> Observation | None:
    """Free space of the newest sample's mounts (per-mount `disk_used_percent`; sizes from the inventory)."""
    p = check["params"]
    disks = [(ts, inst, value) for ts, name, inst, value in samples if name == "disk_used_percent"
             and (not p["mount"] or inst == p["mount"])]
    last_ts = state["last_ts"] if state else 0.0
    if not disks or max(d[0] for d in disks) <= last_ts:
        return None
    newest = max(d[0] for d in disks)
    problems, lowest, unknown = [], None, []
    for _, mount, used in (d for d in disks if d[0] == newest):
        free_pct = 100.0 - used
        if "min_free_percent" in p and free_pct < p["min_free_percent"]:
            problems.append(f"{mount} {free_pct:.1f} % free")
        if "min_free_gb" in p:
            total = sizes.get(mount)
            if total is None:
                unknown.append(mount)
            elif total * free_pct / 100 / GB < p["min_free_gb"]:
                problems.append(f"{mount} {total * free_pct / 100 / GB:.1f} GB free")
        lowest = free_pct if lowest is None else min(lowest, free_pct)
    if problems:
        return Observation(check, device, newest, "fail", lowest, "low disk space: " + ", ".join(problems),
                           always_record=False)
    if unknown:
        return Observation(check, device, newest, "error", lowest,
                           "size unknown (no inventory yet) for " + ", ".join(unknown), always_record=False)
    return Observation(check, device, newest, "pass", lowest, f"lowest free space {lowest:.1f} %",
                       always_record=False)

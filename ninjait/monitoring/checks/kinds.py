"""The check kinds: which parameters each takes, where it runs, and how its parameters are validated."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ninjait.core.errors import Invalid

SCOPES = ("tenant", "organization", "site", "group", "device")
SEVERITIES = ("info", "warning", "critical")
STATES = ("passing", "warning", "failing", "unknown")
INTERPRETERS = ("sh", "bash", "python", "powershell", "cmd")
MAX_SCRIPT_BYTES = 64 * 1024
HOST = re.compile(r"^[A-Za-z0-9.:\-\[\]_]{1,253}$")
# The metric names the evaluator understands (the gateway writes them to the hot table).
METRICS = ("cpu_percent", "load1", "load5", "load15", "mem_percent", "swap_percent", "process_count",
           "disk_read_bps", "disk_write_bps", "net_rx_bps", "net_tx_bps", "disk_used_percent")


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    runs: tuple[str, ...]  # where it may run: "appliance" (server-evaluated or probed) and/or "agent"
    min_interval: int


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("metric", "Metric threshold", ("appliance",), 30),
    Kind("cpu", "CPU usage", ("appliance",), 30),
    Kind("memory", "Memory usage", ("appliance",), 30),
    Kind("disk", "Disk free space", ("appliance",), 30),
    Kind("agent_offline", "Agent offline", ("appliance",), 60),
    Kind("process", "Process running", ("agent",), 30),
    Kind("service", "Service running", ("agent",), 30),
    Kind("ping", "Ping", ("appliance", "agent"), 30),
    Kind("tcp", "TCP port", ("appliance", "agent"), 30),
    Kind("http", "HTTP(S) request", ("appliance", "agent"), 30),
    Kind("script", "Script", ("agent",), 60),
)}
SERVER_EVALUATED = ("metric", "cpu", "memory", "disk")  # from the samples agents send
PROBES = ("ping", "tcp", "http")


def _number(params: dict[str, Any], key: str, lo: float, hi: float, default: float | None = None) -> float:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise Invalid(f"{key} must be a number from {lo:g} to {hi:g}", field=key)
    return float(value)


def _int(params: dict[str, Any], key: str, lo: int, hi: int, default: int | None = None) -> int:
    value = params.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise Invalid(f"{key} must be a whole number from {lo} to {hi}", field=key)
    return value


def _text(params: dict[str, Any], key: str, limit: int, *, required: bool = True, default: str = "") -> str:
    value = params.get(key, default)
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        raise Invalid(f"{key} is required (up to {limit} characters)" if required
                      else f"{key} must be text of up to {limit} characters", field=key)
    return value.strip() if key != "script" else value


def _host(params: dict[str, Any]) -> str:
    host = _text(params, "host", 253)
    if not HOST.match(host):
        raise Invalid("host must be a host name or an IP address", field="host")
    return host


def _threshold(params: dict[str, Any], hi: float = 100.0) -> dict[str, Any]:
    return {"threshold": _number(params, "threshold", 0, hi), "minutes": _int(params, "minutes", 0, 1440, 0)}


def clean_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters of a check of this kind, validated; Invalid names the bad field."""
    if not isinstance(params, dict):
        raise Invalid("params must be an object", field="params")
    if kind == "metric":
        metric = params.get("metric")
        if metric not in METRICS:
            raise Invalid(f"metric must be one of {', '.join(METRICS)}", field="metric")
        operator = params.get("operator", "above")
        if operator not in ("above", "below"):
            raise Invalid("operator must be above or below", field="operator")
        return {"metric": metric, "instance": _text(params, "instance", 256, required=False), "operator": operator,
                "threshold": _number(params, "threshold", -1e15, 1e15),
                "minutes": _int(params, "minutes", 0, 1440, 0)}
    if kind in ("cpu", "memory"):
        return _threshold(params)
    if kind == "disk":
        out: dict[str, Any] = {"mount": _text(params, "mount", 256, required=False)}
        if params.get("min_free_percent") is not None:
            out["min_free_percent"] = _number(params, "min_free_percent", 0, 100)
        if params.get("min_free_gb") is not None:
            out["min_free_gb"] = _number(params, "min_free_gb", 0, 1e6)
        if len(out) == 1:
            raise Invalid("a disk check needs min_free_percent or min_free_gb (or both)", field="min_free_percent")
        return out
    if kind == "agent_offline":
        return {"minutes": _int(params, "minutes", 1, 10080, 10)}
    if kind == "process":
        return {"name": _text(params, "name", 256), "min_count": _int(params, "min_count", 1, 10000, 1)}
    if kind == "service":
        return {"name": _text(params, "name", 256)}
    if kind == "ping":
        return {"host": _host(params), "timeout": _int(params, "timeout", 1, 60, 5)}
    if kind == "tcp":
        return {"host": _host(params), "port": _int(params, "port", 1, 65535),
                "timeout": _int(params, "timeout", 1, 60, 5)}
    if kind == "http":
        url = _text(params, "url", 2000)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise Invalid("url must be an http:// or https:// address", field="url")
        verify = params.get("verify_tls", True)
        if not isinstance(verify, bool):
            raise Invalid("verify_tls must be true or false", field="verify_tls")
        return {"url": url, "expect_status": _int(params, "expect_status", 100, 599, 200),
                "contains": _text(params, "contains", 1000, required=False), "verify_tls": verify,
                "timeout": _int(params, "timeout", 1, 60, 10)}
    if kind == "script":
        script = _text(params, "script", MAX_SCRIPT_BYTES)
        if len(script.encode()) > MAX_SCRIPT_BYTES:
            raise Invalid(f"the script is larger than {MAX_SCRIPT_BYTES // 1024} KiB", field="script")
        interpreter = params.get("interpreter", "sh")
        if interpreter not in INTERPRETERS:
            raise Invalid(f"interpreter must be one of {', '.join(INTERPRETERS)}", field="interpreter")
        warn = params.get("warn_codes", [])
        if not isinstance(warn, list) or len(warn) > 20 or not all(
                isinstance(c, int) and not isinstance(c, bool) and 1 <= c <= 255 for c in warn):
            raise Invalid("warn_codes must be a list of up to 20 exit codes from 1 to 255", field="warn_codes")
        return {"script": script.replace("\r\n", "\n"), "interpreter": interpreter,
                "timeout": _int(params, "timeout", 1, 3600, 60), "warn_codes": sorted(set(warn))}
    raise Invalid(f"kind must be one of {', '.join(KINDS)}", field="kind")


def describe(kind: str, p: dict[str, Any]) -> str:
    """One line a technician reads in a list: what the check looks at."""
    if kind == "metric":
        return (f"{p['metric']}{'[' + p['instance'] + ']' if p['instance'] else ''} {p['operator']} "
                f"{p['threshold']:g}" + (f" for {p['minutes']} min" if p["minutes"] else ""))
    if kind in ("cpu", "memory"):
        return f"{kind.upper() if kind == 'cpu' else 'memory'} above {p['threshold']:g} %" + (
            f" for {p['minutes']} min" if p["minutes"] else "")
    if kind == "disk":
        parts = []
        if "min_free_percent" in p:
            parts.append(f"{p['min_free_percent']:g} %")
        if "min_free_gb" in p:
            parts.append(f"{p['min_free_gb']:g} GB")
        return f"{p['mount'] or 'every disk'} keeps at least {' and '.join(parts)} free"
    if kind == "agent_offline":
        return f"no check-in for {p['minutes']} min"
    if kind == "process":
        return f"process {p['name']} running" + (f" (at least {p['min_count']})" if p["min_count"] > 1 else "")
    if kind == "service":
        return f"service {p['name']} running"
    if kind == "ping":
        return f"ping {p['host']}"
    if kind == "tcp":
        return f"TCP {p['host']}:{p['port']}"
    if kind == "http":
        return f"{p['url']} answers {p['expect_status']}" + (f" with “{p['contains']}”" if p["contains"] else "")
    if kind == "script":
        return f"{p['interpreter']} script (exit 0 passes)"
    return kind

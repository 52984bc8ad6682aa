"""Probes from the appliance: ping, TCP port, HTTP(S). Run by a periodic task with bounded concurrency.

A probe looks at one target, so it runs once per check and its result is applied to every
device the check covers (a router or a web site watched on behalf of those devices).
"""

from __future__ import annotations

import os
import socket
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from ninjait.core.runtime import Runtime
from ninjait.monitoring.checks import evaluate, kinds, scope, states, store
from ninjait.monitoring.checks.states import Observation

CONCURRENCY = 16
Result = tuple[str, float | None, str]  # status, value (milliseconds), message


def _icmp_echo(host: str, timeout: float) -> float | None:
    """Round trip in ms over an unprivileged ICMP socket; None when the system offers none (no root needed
    where net.ipv4.ping_group_range admits us)."""
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)
    except (PermissionError, OSError):
        return None
    with sock:
        sock.settimeout(timeout)
        payload = os.urandom(8)
        header = struct.pack("!BBHHH", 8, 0, 0, 0, 1)
        csum = _checksum(header + payload)
        started = time.perf_counter()
        sock.sendto(struct.pack("!BBHHH", 8, 0, csum, 0, 1) + payload, (socket.gethostbyname(host), 0))
        while True:
            data = sock.recv(1024)
            if data[0] == 0 and data[8:] == payload:  # echo reply to our payload
                return (time.perf_counter() - started) * 1000


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def ping(host: str, timeout: float) -> Result:
    """ICMP echo when available without root, otherwise a TCP connection to port 80: an answer, even a
    refusal, shows the host is up."""
    try:
        ms = _icmp_echo(host, timeout)
        if ms is not None:
            return "pass", round(ms, 2), f"{host} answered in {ms:.1f} ms"
        started = time.perf_counter()
        try:
            socket.create_connection((host, 80), timeout=timeout).close()
        except ConnectionRefusedError:
            pass
        ms = (time.perf_counter() - started) * 1000
        return "pass", round(ms, 2), f"{host} answered (TCP) in {ms:.1f} ms"
    except (OSError, TimeoutError) as exc:
        return "fail", None, f"{host} did not answer: {exc}"


def tcp(host: str, port: int, timeout: float) -> Result:
    started = time.perf_counter()
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except (OSError, TimeoutError) as exc:
        return "fail", None, f"{host}:{port} refused or unreachable: {exc}"
    ms = (time.perf_counter() - started) * 1000
    return "pass", round(ms, 2), f"{host}:{port} accepted a connection in {ms:.1f} ms"


def http(url: str, expect_status: int, contains: str, verify_tls: bool, timeout: float) -> Result:
    started = time.perf_counter()
    try:
        with httpx.Client(verify=verify_tls, timeout=timeout, follow_redirects=False) as client:
            r = client.get(url, headers={"User-Agent": "NinjaIT-check"})
    except httpx.HTTPError as exc:
        return "fail", None, f"{url}: {type(exc).__name__}: {exc}"
    ms = round((time.perf_counter() - started) * 1000, 2)
    if r.status_code != expect_status:
        return "fail", ms, f"{url} answered {r.status_code}, expected {expect_status}"
    if contains and contains not in r.text[:1_000_000]:
        return "fail", ms, f"{url} answered {r.status_code} without “{contains}” in the body"
    return "pass", ms, f"{url} answered {r.status_code} in {ms:.0f} ms"


def run_probe(kind: str, p: dict[str, Any]) -> Result:
    if kind == "ping":
        return ping(p["host"], p["timeout"])
    if kind == "tcp":
        return tcp(p["host"], p["port"], p["timeout"])
    return http(p["url"], p["expect_status"], p["contains"], p["verify_tls"], p["timeout"])


def probe_pass(rt: Runtime, now: float | None = None, *, force: bool = False) -> evaluate.PassResult:
    """Run the appliance's probes that are due (by their interval), then apply each result to its devices."""
    now = time.time() if now is None else now
    ev = evaluate.evaluator(rt)
    last_runs: dict[int, float] = ev.__dict__.setdefault("probe_runs", {})
    with rt.db.read() as c:
        checkset = scope.load(c, run_from="appliance", kinds=kinds.PROBES)
        devices = store.devices_of_tenants(c, checkset.by_tenant)
    due = [ch for ch in checkset.checks if force or now - last_runs.get(ch["id"], 0) >= ch["interval_seconds"] - 5]
    if not due:
        return evaluate.PassResult()
    with ThreadPoolExecutor(max_workers=min(CONCURRENCY, len(due)), thread_name_prefix="probe") as pool:
        outcomes = dict(zip((ch["id"] for ch in due), pool.map(lambda ch: run_probe(ch["kind"], ch["params"]), due)))
    observations = []
    for device in devices:
        for check in checkset.for_device(device):
            if check["id"] in outcomes:
                status, value, message = outcomes[check["id"]]
                observations.append(Observation(check, device, now, status, value, message))
    for check_id in outcomes:
        last_runs[check_id] = now
    changes = rt.db.write(lambda c: states.apply(c, observations, int(now))) if observations else []
    evaluate.publish(rt, changes)
    return evaluate.PassResult(len(devices), len(observations), len(changes))

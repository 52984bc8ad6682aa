"""The agent protocol's wire schema: the only code the agent and the appliance share.

Every message is a msgspec Struct that refuses unknown fields and bounds every
list and string, so a malformed or oversized body is rejected at decoding with
a reason, before any of it is stored.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

PROTOCOL = 1
Str = Annotated[str, Meta(max_length=256)]
LongStr = Annotated[str, Meta(max_length=4096)]
Count = Annotated[int, Meta(ge=0, le=2**53)]
Pct = Annotated[float, Meta(ge=0, le=100)]
NonNeg = Annotated[float, Meta(ge=0, le=1e15)]
Epoch = Annotated[float, Meta(ge=0, le=1e11)]


# gc=False: messages are trees decoded from JSON or built from plain values, never cycles, so the garbage
# collector need not track them (a check-in decodes dozens; the appliance decodes thousands a second).
# Never make a cycle through a message (e.g. a struct holding a list that holds it): it would never be freed.
class Strict(Struct, forbid_unknown_fields=True, omit_defaults=True, gc=False):
    pass


# --- enrollment -------------------------------------------------------------------------------

class EnrollRequest(Strict):
    token: Annotated[str, Meta(min_length=10, max_length=200)]
    hostname: Annotated[str, Meta(min_length=1, max_length=253)]
    platform: Literal["linux", "windows", "darwin"]
    agent_version: Annotated[str, Meta(max_length=32)]
    protocol: int = PROTOCOL


class EnrollReply(Strict):
    agent_id: str
    secret: str
    interval: int
    signing_key: str  # Ed25519 public key, raw 32 bytes, base64
    server_time: float
    status: str  # "active" or "pending" (waiting for approval)


# --- check-in ---------------------------------------------------------------------------------

class Proc(Strict):
    pid: Count
    name: Str
    cpu_percent: Annotated[float, Meta(ge=0, le=100000)]
    memory_mb: NonNeg


class DiskUsage(Strict):
    mount: Str
    used_percent: Pct


class MetricSample(Strict):
    ts: Epoch
    cpu_percent: Pct
    load1: NonNeg
    mem_percent: Pct
    swap_percent: Pct
    process_count: Count
    disks: Annotated[list[DiskUsage], Meta(max_length=64)] = []
    disk_read_bps: NonNeg = 0.0
    disk_write_bps: NonNeg = 0.0
    net_rx_bps: NonNeg = 0.0
    net_tx_bps: NonNeg = 0.0
    load5: NonNeg = 0.0
    load15: NonNeg = 0.0
    top_cpu: Annotated[list[Proc], Meta(max_length=5)] = []
    top_mem: Annotated[list[Proc], Meta(max_length=5)] = []


class Disk(Strict):
    device: Str
    mount: Str
    fstype: Str
    total_bytes: Count
    free_bytes: Count


class Nic(Strict):
    name: Str
    mac: Str = ""
    addresses: Annotated[list[Str], Meta(max_length=64)] = []


class Software(Strict):
    name: Str
    version: Str = ""
    publisher: Str = ""


class Service(Strict):
    name: Str
    state: Str
    start_mode: Str = ""


class Inventory(Strict):
    hostname: Annotated[str, Meta(max_length=253)]
    os_name: Str
    os_version: Str
    os_build: Str = ""
    kernel: Str = ""
    architecture: Str = ""
    cpu_model: Str = ""
    cpu_cores: Count = 0
    cpu_threads: Count = 0
    ram_bytes: Count = 0
    boot_time: Epoch = 0.0
    serial: Str = ""
    manufacturer: Str = ""
    model: Str = ""
    disks: Annotated[list[Disk], Meta(max_length=128)] = []
    nics: Annotated[list[Nic], Meta(max_length=128)] = []
    users: Annotated[list[Str], Meta(max_length=256)] = []
    software: Annotated[list[Software], Meta(max_length=20000)] = []
    services: Annotated[list[Service], Meta(max_length=5000)] = []


CommandStatus = Literal["running", "succeeded", "failed", "timed_out", "refused"]


class CommandResult(Strict):
    command_id: Annotated[str, Meta(max_length=64)]
    status: CommandStatus
    exit_code: int | None = None
    stdout: Annotated[str, Meta(max_length=1_100_000)] = ""
    stderr: Annotated[str, Meta(max_length=1_100_000)] = ""
    reason: LongStr = ""
    started_at: Epoch = 0.0
    finished_at: Epoch = 0.0


CheckStatus = Literal["pass", "warn", "fail", "error"]


class CheckReport(Strict):
    """One run of an agent-side check. `error`: it could not run (refused, unsupported); the message says why."""

    check_id: Annotated[int, Meta(ge=1, le=2**62)]
    ts: Epoch
    status: CheckStatus
    value: Annotated[float, Meta(ge=-1e15, le=1e15)] | None = None
    message: LongStr = ""


class AgentEvent(Strict):
    """An error the endpoint logged (systemd journal, Windows event log) since the last check-in."""

    ts: Epoch
    level: Literal["warning", "error", "critical"]
    source: Str  # the program or event source, e.g. "sshd", "Service Control Manager"
    message: LongStr


class CheckIn(Strict):
    seq: Annotated[int, Meta(ge=1, le=2**62)]
    sent_at: Epoch
    agent_version: Annotated[str, Meta(max_length=32)]
    metrics: Annotated[list[MetricSample], Meta(max_length=240)] = []
    results: Annotated[list[CommandResult], Meta(max_length=100)] = []
    inventory: Inventory | None = None
    inventory_hash: Annotated[str, Meta(max_length=64)] = ""
    uptime_seconds: NonNeg = 0.0
    # Agents that run checks send the version of the check set they hold ("none" for none yet);
    # older agents send nothing and are never sent checks.
    checks_version: Annotated[str, Meta(max_length=64)] = ""
    check_results: Annotated[list[CheckReport], Meta(max_length=1000)] = []
    events: Annotated[list[AgentEvent], Meta(max_length=100)] = []


class SignedCommand(Strict):
    id: str
    agent_id: str
    kind: Literal["run_script", "refresh_inventory", "reboot", "update_agent"]
    payload: dict[str, Any]
    payload_sha256: str
    issued_at: float
    expires_at: float
    nonce: str
    signature: str  # Ed25519 over signed_bytes(), base64


CheckKind = Literal["process", "service", "ping", "tcp", "http", "script"]


class CheckSpec(Strict):
    id: int
    kind: CheckKind
    interval: Annotated[int, Meta(ge=5, le=86400)]
    params: dict[str, Any] = {}
    command: SignedCommand | None = None  # script checks: the script as a signed run_script command


class CheckSet(Strict):
    version: Annotated[str, Meta(max_length=64)]
    checks: Annotated[list[CheckSpec], Meta(max_length=500)] = []


class CheckInReply(Strict):
    ack_seq: int
    interval: int
    server_time: float
    commands: list[SignedCommand] = []
    send_inventory: bool = False
    rotate_secret: bool = False
    checks: CheckSet | None = None  # only when the agent's checks_version differs


class RotateReply(Strict):
    secret: str


def canonical(value: Any) -> bytes:
    """One byte string for a JSON value, the same on both ends."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def payload_sha256(payload: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(payload)).hexdigest()


def signed_bytes(cmd: SignedCommand) -> bytes:
    """What the server's signature covers: id, target, kind, payload hash, issued/expiry times, nonce."""
    return canonical({"v": PROTOCOL, "id": cmd.id, "agent_id": cmd.agent_id, "kind": cmd.kind,
                      "payload_sha256": cmd.payload_sha256, "issued_at": cmd.issued_at,
                      "expires_at": cmd.expires_at, "nonce": cmd.nonce})


def update_signed_bytes(platform: str, version: str, sha256: str) -> bytes:
    """What the appliance signs for an agent build (platform, version, SHA-256 of the file).

    The purpose key keeps these bytes distinct from any command's signed bytes.
    """
    return canonical({"purpose": "agent-build", "platform": platform, "version": version, "sha256": sha256})


def inventory_hash(inv: Inventory) -> str:
    return hashlib.sha256(msgspec.json.encode(inv)).hexdigest()


ENCODER = msgspec.json.Encoder()
CHECKIN_DECODER = msgspec.json.Decoder(CheckIn)
REPLY_DECODER = msgspec.json.Decoder(CheckInReply)
ENROLL_DECODER = msgspec.json.Decoder(EnrollRequest)
ENROLL_REPLY_DECODER = msgspec.json.Decoder(EnrollReply)
ROTATE_REPLY_DECODER = msgspec.json.Decoder(RotateReply)

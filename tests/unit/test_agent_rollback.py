"""The agent's self-update, on fake executables: what is refused, what is swapped, when it rolls back.

`NINJAIT_AGENT_EXECUTABLE` points the agent at a file in a temp directory instead of
itself; "builds" are small shell scripts that answer `--version` (or do not). The real
one-file binaries go through the same code in tests/integration/test_agent_update.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, BinaryIO

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from ninjait_agent import __version__, update, wire
from ninjait_agent.commands import Refused
from ninjait_agent.outbox import Outbox

KEY = Ed25519PrivateKey.generate()
PUBLIC = base64.b64encode(KEY.public_key().public_bytes(serialization.Encoding.Raw,
                                                        serialization.PublicFormat.Raw)).decode()
OLD = b"#!/bin/sh\necho ninjait-agent 0.0.9\n"


def build(version: str, body: str = "") -> bytes:
    return f"#!/bin/sh\n{body or f'echo ninjait-agent {version}'}\n".encode()


def payload_for(data: bytes, version: str = "9.9.9", key: Ed25519PrivateKey = KEY, **over: str) -> dict[str, str]:
    sha = hashlib.sha256(data).hexdigest()
    signature = base64.b64encode(key.sign(wire.update_signed_bytes("linux", version, sha))).decode()
    return {"version": version, "platform": "linux", "sha256": sha, "signature": signature,
            "url": f"/agent/v1/updates/linux/{version}", **over}


class FakeTransport:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.requests: list[str] = []

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                compress: bool = False, sink: BinaryIO | None = None) -> bytes:
        self.requests.append(f"{method} {path}")
        if sink is not None:
            sink.write(self.body)
            return b""
        return self.body


class FakeAgent(SimpleNamespace):
    def _headers(self) -> dict[str, str]:
        return {"Authorization": "Agent test:nia_x"}


@pytest.fixture
def exe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "opt" / "ninjait-agent"
    path.parent.mkdir()
    path.write_bytes(OLD)
    path.chmod(0o755)
    monkeypatch.setenv(update.ENV_EXECUTABLE, str(path))
    return path


@pytest.fixture
def state(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir()
    return path


def agent_with(state: Path, download: bytes) -> FakeAgent:
    return FakeAgent(state=state, config=SimpleNamespace(signing_key=PUBLIC), transport=FakeTransport(download),
                     outbox=Outbox(state / "outbox.db"), restart_requested=False)


def results_of(outbox: Outbox) -> list[dict[str, Any]]:
    taken: list[dict[str, Any]] = []
    outbox.seal_batch(lambda seq, results, *_: taken.extend(results) or b"{}")
    return taken


def test_it_swaps_in_a_verified_build_and_keeps_the_previous_one(exe: Path, state: Path) -> None:
    new = build("9.9.9")
    agent = agent_with(state, new)
    result = update.apply(agent, "cmd-1", payload_for(new))  # type: ignore[arg-type]
    assert result["status"] == "running" and "swapped it in" in result["stdout"]
    assert exe.read_bytes() == new and update.previous_of(exe).read_bytes() == OLD
    assert not exe.with_name("ninjait-agent.new").exists()
    marker = json.loads((state / update.MARKER).read_text())
    assert marker | {"at": 0} == {"command_id": "cmd-1", "from": __version__, "to": "9.9.9", "tries": 0, "at": 0,
                                  "state": "trial"}
    assert agent.restart_requested and agent.transport.requests == ["GET /agent/v1/updates/linux/9.9.9"]


def test_it_refuses_a_download_that_does_not_match_the_signed_sha256(exe: Path, state: Path) -> None:
    signed = build("9.9.9")
    agent = agent_with(state, build("9.9.9", "echo ninjait-agent 9.9.9; rm -rf /"))
    with pytest.raises(Refused, match="does not match its signed SHA-256"):
        update.apply(agent, "cmd-1", payload_for(signed))  # type: ignore[arg-type]
    assert exe.read_bytes() == OLD and not (state / update.MARKER).exists()
    assert sorted(p.name for p in exe.parent.iterdir()) == ["ninjait-agent"]


def test_it_refuses_a_bad_signature_before_downloading_anything(exe: Path, state: Path) -> None:
    new = build("9.9.9")
    agent = agent_with(state, new)
    with pytest.raises(Refused, match="signature does not verify"):
        update.apply(agent, "cmd-1", payload_for(new, key=Ed25519PrivateKey.generate()))  # type: ignore[arg-type]
    changed = payload_for(new) | {"version": "9.9.10"}  # signed for 9.9.9, sent as 9.9.10
    with pytest.raises(Refused, match="signature does not verify"):
        update.apply(agent, "cmd-1", changed)  # type: ignore[arg-type]
    assert agent.transport.requests == [] and exe.read_bytes() == OLD


def test_it_never_swaps_in_a_build_that_does_not_start(exe: Path, state: Path) -> None:
    for body, reason in [("echo 'error while loading shared libraries' >&2; exit 127", "does not start"),
                         ("echo ninjait-agent 1.2.3", "reports 'ninjait-agent 1.2.3', not version 9.9.9")]:
        broken = build("9.9.9", body)
        with pytest.raises(Refused, match=reason):
            update.apply(agent_with(state, broken), "cmd-1", payload_for(broken))  # type: ignore[arg-type]
        assert exe.read_bytes() == OLD and not (state / update.MARKER).exists()
        assert sorted(p.name for p in exe.parent.iterdir()) == ["ninjait-agent"]


def test_it_refuses_other_platforms_and_other_servers(exe: Path, state: Path) -> None:
    new = build("9.9.9")
    agent = agent_with(state, new)
    with pytest.raises(Refused, match="the build is for windows"):
        update.apply(agent, "c", payload_for(new, platform="windows"))  # type: ignore[arg-type]
    for url in ["https://elsewhere.example/ninjait-agent", "/agent/v1/updates/../../api/v1/x"]:
        with pytest.raises(Refused, match="update path only"):
            update.apply(agent, "c", payload_for(new, url=url))  # type: ignore[arg-type]
    assert agent.transport.requests == []
    same = update.apply(agent, "c", payload_for(new, version=__version__))  # type: ignore[arg-type]
    assert same == {"status": "succeeded", "exit_code": 0, "stdout": f"already running {__version__}"}


def on_trial(state: Path, exe: Path, **over: Any) -> None:
    """As after a swap: the new build (this code's version) runs, the old one is kept."""
    exe.write_bytes(build(__version__))
    update.previous_of(exe).write_bytes(OLD)
    update.write_marker(state, {"command_id": "cmd-7", "from": "0.0.9", "to": __version__, "tries": 0,
                                "at": time.time(), "state": "trial", **over})


def test_it_rolls_back_after_three_starts_without_a_check_in(exe: Path, state: Path) -> None:
    on_trial(state, exe)
    for start in (1, 2, 3):
        assert update.on_start(state) is False
        assert json.loads((state / update.MARKER).read_text())["tries"] == start
        assert exe.read_bytes() == build(__version__)
    assert update.on_start(state) is True  # the fourth start: exit 75, the service manager starts the old build
    assert exe.read_bytes() == OLD and not update.previous_of(exe).exists()
    assert json.loads((state / update.MARKER).read_text())["state"] == "rolled_back"
    # The restored build starts normally, and reports the failure at its first check-in.
    assert update.on_start(state) is False
    agent = agent_with(state, b"")
    update.after_check_in(agent)  # type: ignore[arg-type]
    [result] = results_of(agent.outbox)
    assert result["command_id"] == "cmd-7" and result["status"] == "failed"
    assert result["reason"] == f"update to {__version__} rolled back: no check-in after 3 starts"
    assert not (state / update.MARKER).exists()


def test_a_check_in_ends_the_trial_and_reports_success(exe: Path, state: Path) -> None:
    on_trial(state, exe, tries=1)
    agent = agent_with(state, b"")
    update.after_check_in(agent)  # type: ignore[arg-type]
    [result] = results_of(agent.outbox)
    assert result["status"] == "succeeded" and result["stdout"].startswith(f"updated 0.0.9 -> {__version__}")
    assert not (state / update.MARKER).exists() and not update.previous_of(exe).exists()
    assert exe.read_bytes() == build(__version__)
    update.after_check_in(agent)  # type: ignore[arg-type]  # nothing more to report
    assert results_of(agent.outbox) == []


def test_a_build_that_runs_but_never_checks_in_rolls_back_after_its_probation(
        exe: Path, state: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(update.ENV_PROBATION, "30")
    on_trial(state, exe, tries=1)
    assert update.probation_over(state) is False
    on_trial(state, exe, tries=1, at=time.time() - 31)
    assert update.probation_over(state) is True
    assert exe.read_bytes() == OLD
    assert json.loads((state / update.MARKER).read_text())["reason"] == "no check-in within 30 s"


def test_a_swap_that_never_happened_is_reported_not_counted(exe: Path, state: Path) -> None:
    update.write_marker(state, {"command_id": "cmd-8", "from": __version__, "to": "9.9.9", "tries": 0,
                                "at": time.time(), "state": "trial"})
    assert update.on_start(state) is False
    assert exe.read_bytes() == OLD
    agent = agent_with(state, b"")
    update.after_check_in(agent)  # type: ignore[arg-type]
    [result] = results_of(agent.outbox)
    assert result["status"] == "failed" and f"{__version__} is running instead" in result["reason"]


def test_the_old_build_leaves_the_trial_to_the_new_one(exe: Path, state: Path) -> None:
    # Between the swap and its exit, the old build still checks in (to report "running").
    new = build("9.9.9")
    agent = agent_with(state, new)
    update.apply(agent, "cmd-9", payload_for(new))  # type: ignore[arg-type]
    update.after_check_in(agent)  # type: ignore[arg-type]
    assert results_of(agent.outbox) == []
    assert json.loads((state / update.MARKER).read_text())["state"] == "trial"
    assert update.previous_of(exe).read_bytes() == OLD

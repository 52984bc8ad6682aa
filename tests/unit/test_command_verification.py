"""The agent refuses any command the server did not sign for exactly this agent, fresh and new."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from ninjait_agent import wire
from ninjait_agent.commands import Refused, verify
from ninjait_agent.outbox import Outbox

KEY = Ed25519PrivateKey.generate()
PUBLIC = base64.b64encode(KEY.public_key().public_bytes(serialization.Encoding.Raw,
                                                        serialization.PublicFormat.Raw)).decode()


def signed(**overrides: object) -> wire.SignedCommand:
    payload = {"script": "echo hi", "interpreter": "sh", "timeout": 5, "run_as": "", "args": []}
    now = time.time()
    fields = {"id": "c1", "agent_id": "me", "kind": "run_script", "payload": payload,
              "payload_sha256": wire.payload_sha256(payload), "issued_at": now, "expires_at": now + 60,
              "nonce": f"n-{time.monotonic_ns()}", "signature": ""}
    fields.update(overrides)
    cmd = wire.SignedCommand(**fields)  # type: ignore[arg-type]
    cmd.signature = base64.b64encode(KEY.sign(wire.signed_bytes(cmd))).decode()
    return cmd


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "o.db")


def test_a_good_command_passes_once_and_its_replay_is_refused(outbox: Outbox) -> None:
    cmd = signed()
    verify(cmd, agent_id="me", public_key_b64=PUBLIC, outbox=outbox)
    with pytest.raises(Refused, match="replayed"):
        verify(cmd, agent_id="me", public_key_b64=PUBLIC, outbox=outbox)


def test_a_command_for_another_agent_is_refused(outbox: Outbox) -> None:
    with pytest.raises(Refused, match="another agent"):
        verify(signed(agent_id="someone-else"), agent_id="me", public_key_b64=PUBLIC, outbox=outbox)


def test_a_changed_script_breaks_the_signature_or_hash(outbox: Outbox) -> None:
    cmd = signed()
    cmd.payload = {**cmd.payload, "script": "rm -rf /"}
    with pytest.raises(Refused, match="payload does not match"):
        verify(cmd, agent_id="me", public_key_b64=PUBLIC, outbox=outbox)
    cmd.payload_sha256 = wire.payload_sha256(cmd.payload)
    with pytest.raises(Refused, match="bad signature"):
        verify(cmd, agent_id="me", public_key_b64=PUBLIC, outbox=outbox)


def test_a_signature_from_another_key_is_refused(outbox: Outbox) -> None:
    cmd = signed()
    cmd.signature = base64.b64encode(Ed25519PrivateKey.generate().sign(wire.signed_bytes(cmd))).decode()
    with pytest.raises(Refused, match="bad signature"):
        verify(cmd, agent_id="me", public_key_b64=PUBLIC, outbox=outbox)
    cmd.signature = "not base64 at all!!"
    with pytest.raises(Refused, match="bad signature"):
        verify(cmd, agent_id="me", public_key_b64=PUBLIC, outbox=outbox)


def test_expired_and_future_commands_are_refused(outbox: Outbox) -> None:
    now = time.time()
    with pytest.raises(Refused, match="expired"):
        verify(signed(issued_at=now - 120, expires_at=now - 60), agent_id="me", public_key_b64=PUBLIC, outbox=outbox)
    with pytest.raises(Refused, match="future"):
        verify(signed(issued_at=now + 3600, expires_at=now + 7200), agent_id="me", public_key_b64=PUBLIC,
               outbox=outbox)


def test_the_outbox_keeps_results_and_drops_only_old_metrics(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "b.db", max_batches=3)
    box.add_result("cmd-1", {"command_id": "cmd-1", "status": "succeeded"})
    first = box.seal_batch(lambda seq, results, *_: f"{seq}:{len(results)}".encode())
    for _ in range(5):
        box.seal_batch(lambda seq, results, *_: f"{seq}:{len(results)}".encode())
    kept = box.pending()
    assert [seq for seq, _ in kept][0] == first and kept[0][1] == b"1:1"  # the batch with a result survives
    assert len(kept) == 3 and [seq for seq, _ in kept][-1] == 6
    box.acknowledge(first)
    assert box.count() == 2

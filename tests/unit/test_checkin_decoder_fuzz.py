"""Fuzzing the check-in decoder: whatever arrives, the answer is a CheckIn or a clear Invalid, never a crash."""

from __future__ import annotations

import gzip
import json

from hypothesis import HealthCheck, given, settings, strategies as st
from ninjait_agent import wire

from ninjait.agents.gateway import decode_body
from ninjait.core.errors import Invalid

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | st.floats(allow_nan=False)
    | st.text(max_size=50),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=6),
    max_leaves=30,
)
field_names = st.sampled_from(["seq", "sent_at", "agent_version", "metrics", "results", "inventory",
                               "inventory_hash", "uptime_seconds", "extra"])
checkin_like = st.dictionaries(field_names, json_values, max_size=8)


def outcome(raw: bytes, encoding: str = "") -> str:
    try:
        decoded = decode_body(raw, encoding)
    except Invalid as exc:
        assert exc.message  # a reason the agent can log
        return "invalid"
    assert isinstance(decoded, wire.CheckIn)
    return "ok"


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes(raw: bytes) -> None:
    outcome(raw)
    outcome(raw, "gzip")


@settings(max_examples=400, deadline=None)
@given(checkin_like)
def test_structured_but_wrong_bodies(body: dict) -> None:  # type: ignore[type-arg]
    raw = json.dumps(body).encode()
    outcome(raw)
    outcome(gzip.compress(raw), "gzip")


def test_a_valid_body_decodes_and_unknown_fields_are_refused() -> None:
    good = {"seq": 1, "sent_at": 1.0, "agent_version": "0.1.0",
            "metrics": [{"ts": 1.0, "cpu_percent": 5.0, "load1": 0.1, "mem_percent": 30.0, "swap_percent": 0.0,
                         "process_count": 10}]}
    assert outcome(json.dumps(good).encode()) == "ok"
    try:
        decode_body(json.dumps({**good, "admin": True}).encode(), "")
    except Invalid as exc:
        assert "admin" in exc.message
    else:
        raise AssertionError("an unknown field was accepted")
    try:
        decode_body(json.dumps({**good, "metrics": good["metrics"] * 241}).encode(), "")
    except Invalid as exc:
        assert "metrics" in exc.message
    else:
        raise AssertionError("an oversized list was accepted")


def test_a_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(b" " * (40 * 1024 * 1024))
    try:
        decode_body(bomb, "gzip")
    except Invalid as exc:
        assert "16 MiB" in exc.message
    else:
        raise AssertionError("a 40 MiB body was accepted")

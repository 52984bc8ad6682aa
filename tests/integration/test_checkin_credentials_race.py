"""Credentials that change twice within one check-in (another process revoking, rotating, approving while the
write runs): the agent is told to send again (503), or the truth (401 revoked, 403 on hold) - never a 401 for an
agent that is still allowed in, which would make it stop for good."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from ninjait.agents import gateway, service, store
from ninjait.core import runtime as rt_mod
from ninjait.core.errors import Forbidden, Unauthorized, Unavailable
from ninjait.settings import Settings
from tests.support import rows

SECRET = "s3cret-for-the-race-test"


@pytest.fixture
def agent_rt(settings: Settings) -> Iterator[Any]:
    runtime = rt_mod.start(settings)
    runtime.db.write(lambda c: (
        rows.tenant_with_site(c, 1),
        rows.device(c, 1, 1, "pc"),
        store.insert_agent(c, "race-agent", 1, 1, runtime.keyring.mac(SECRET, purpose="agent-secret"), "active",
                           None, 0)))
    yield runtime
    service.AGENT_CACHE.forget("race-agent")
    rt_mod.stop()


def check_in(rt: Any) -> bytes:
    async def body() -> bytes:
        return b'{"seq": %d, "sent_at": %.1f, "agent_version": "t"}' % (time.time_ns() % 10**9, time.time())

    with ThreadPoolExecutor(1) as pool:  # an event loop of its own
        return pool.submit(lambda: asyncio.run(gateway.check_in(rt, f"Agent race-agent:nia_{SECRET}", body, ""))
                           ).result(timeout=30)


def always_changed(*args: Any, **kwargs: Any) -> Any:
    raise gateway.CredentialsChanged


def test_an_agent_still_allowed_in_is_asked_to_send_again(agent_rt: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_in(agent_rt)  # stored; the agent is cached now
    monkeypatch.setattr(gateway, "ingest", always_changed)
    with pytest.raises(Unavailable) as refused:
        check_in(agent_rt)
    assert refused.value.status == 503 and refused.value.retry_after > 0


@pytest.mark.parametrize(("status", "error"), [("revoked", Unauthorized), ("pending", Forbidden)])
def test_an_agent_revoked_or_held_meanwhile_hears_so(agent_rt: Any, monkeypatch: pytest.MonkeyPatch, status: str,
                                                     error: type[Exception]) -> None:
    assert check_in(agent_rt)
    monkeypatch.setattr(gateway, "ingest", always_changed)
    reads = []
    read_row = service.authenticate

    def another_process_changes_it_before_the_second_read(rt: Any, header: str) -> Any:
        reads.append(header)
        if len(reads) == 2:
            rt.db.write(lambda c: c.execute("UPDATE agents SET status = ? WHERE uid = 'race-agent'", (status,)))
        return read_row(rt, header)

    monkeypatch.setattr(service, "authenticate", another_process_changes_it_before_the_second_read)
    with pytest.raises(error):
        check_in(agent_rt)
    assert len(reads) == 2  # read after each failed write: the second time it tells the truth

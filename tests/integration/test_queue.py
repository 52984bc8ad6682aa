"""The task queue with a real consumer on a real SQLite queue file."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from huey.exceptions import TaskException

from ninjait.core import queue

calls: list[str] = []
attempts: dict[str, int] = {}
periodic_fired = threading.Event()


@queue.huey.task()
def record(value: str) -> str:
    calls.append(value)
    return value.upper()


@queue.huey.task(retries=2, retry_delay=0)
def flaky(key: str) -> str:
    attempts[key] = attempts.get(key, 0) + 1
    if attempts[key] < 3:
        raise RuntimeError(f"attempt {attempts[key]} failed")
    return "finally"


@queue.huey.periodic_task(lambda dt: True, name="tests.every_check")
def every_check() -> None:
    periodic_fired.set()


@pytest.fixture
def consumer(tmp_path: Path) -> Iterator[queue.InProcessConsumer]:
    queue.configure(tmp_path)
    c = queue.start_in_process(workers=2)
    yield c
    c.stop(graceful=True)


def wait_for(condition, timeout: float = 15) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _settled(result):  # type: ignore[no-untyped-def]
    try:
        return result.get(preserve=True)
    except TaskException:
        return None


def test_it_runs_a_task_and_keeps_its_result(consumer: queue.InProcessConsumer, tmp_path: Path) -> None:
    result = record("hello")
    assert result.get(blocking=True, timeout=15) == "HELLO"
    assert "hello" in calls
    assert (tmp_path / queue.QUEUE_FILE).exists()


def test_a_periodic_task_fires(consumer: queue.InProcessConsumer) -> None:
    assert periodic_fired.wait(15)


def test_a_failing_task_is_retried_and_logged(consumer: queue.InProcessConsumer,
                                               caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ninjait.queue"):
        result = flaky("k1")
        # Each failed attempt stores its error as the result until a retry succeeds.
        assert wait_for(lambda: attempts.get("k1") == 3)
        assert wait_for(lambda: _settled(result) == "finally")
    assert attempts["k1"] == 3
    # Only this task's records: periodic tasks of other modules may fire in the same consumer.
    messages = [r.getMessage() for r in caplog.records
                if r.name == "ninjait.queue" and r.fields["task"].endswith("flaky")]  # type: ignore[attr-defined]
    assert messages.count("task failed") == 2
    assert "task will be retried" in messages


def test_tasks_wait_in_the_queue_file_until_a_consumer_runs(tmp_path: Path) -> None:
    queue.configure(tmp_path)
    record("later")
    assert queue.queue_depth() == 1
    c = queue.start_in_process(workers=1)
    try:
        assert wait_for(lambda: "later" in calls)
        assert wait_for(lambda: queue.queue_depth() == 0)
    finally:
        c.stop(graceful=True)

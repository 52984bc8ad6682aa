"""Background work: one Huey instance every domain registers its tasks on.

The instance exists at import time (so ``@huey.task`` works in any
``<domain>/tasks.py``) and is pointed at its SQLite file in the data directory
by :func:`configure` at start-up. ``ninjait serve`` runs an in-process
consumer that leaves the web server's signal handlers alone; ``ninjait worker``
runs the stock consumer with its own handlers.
"""

from __future__ import annotations

import logging
from pathlib import Path

from huey import SqliteHuey, crontab, signals
from huey.consumer import Consumer
from huey.storage import SqliteStorage

log = logging.getLogger("ninjait.queue")

QUEUE_NAME = "ninjait"
QUEUE_FILE = "queue.db"

# Until configure() runs, tasks go to a throw-away in-memory database.
huey = SqliteHuey(QUEUE_NAME, filename=":memory:", results=True, utc=True)

__all__ = ["huey", "crontab", "configure", "InProcessConsumer", "queue_depth"]


def configure(data_dir: Path, *, immediate: bool = False) -> None:
    huey.storage = SqliteStorage(QUEUE_NAME, filename=str(data_dir / QUEUE_FILE))
    huey.immediate = immediate


class InProcessConsumer(Consumer):
    """A consumer that runs beside the web server: no signal handlers of its own."""

    def _set_signal_handlers(self) -> None:  # the server owns SIGINT/SIGTERM
        pass


def start_in_process(workers: int) -> InProcessConsumer:
    consumer = InProcessConsumer(huey, workers=workers, periodic=True, check_worker_health=False)
    consumer.start()
    return consumer


def queue_depth() -> int:
    return huey.pending_count()


@huey.signal(signals.SIGNAL_ERROR)
def _log_failure(signal: str, task: object, exc: BaseException | None = None) -> None:
    log.error(
        "task failed",
        exc_info=exc,
        extra={"fields": {"task": getattr(task, "name", str(task)), "task_id": getattr(task, "id", None),
                          "retries_left": getattr(task, "retries", 0)}},
    )


@huey.signal(signals.SIGNAL_RETRYING)
def _log_retry(signal: str, task: object, exc: BaseException | None = None) -> None:
    log.warning(
        "task will be retried",
        extra={"fields": {"task": getattr(task, "name", str(task)), "task_id": getattr(task, "id", None),
                          "retries_left": getattr(task, "retries", 0)}},
    )

"""Run several ticket service calls as one transaction, publishing their events only after it commits.

The services each open their own ``rt.db.write``; a macro (several changes in one click) and a recurring
ticket (claim the occurrence, open the ticket) must succeed or fail as a whole. Instead of a second,
transaction-free copy of every service function, the calls get a stand-in runtime whose database runs their
writes and reads on the caller's open connection and whose bus holds events back until ``publish``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from ninjait.core.events import EventBus

T = TypeVar("T")


class _SameConnection:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def write(self, fn: Callable[[Any], T]) -> T:
        return fn(self.conn)

    @contextmanager
    def read(self) -> Iterator[Any]:
        yield self.conn


class _HeldEvents:
    def __init__(self) -> None:
        self.held: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def emit(self, *args: Any, **kwargs: Any) -> None:
        self.held.append((args, kwargs))


class InTransaction:
    """A runtime for service calls inside ``rt.db.write(fn)``: pass ``InTransaction(rt, conn)``."""

    def __init__(self, rt: Any, conn: Any) -> None:
        self.settings = getattr(rt, "settings", None)
        self.db = _SameConnection(conn)
        self.bus = _HeldEvents()

    def publish(self, bus: EventBus) -> None:
        """After the commit: the held events, in order."""
        for args, kwargs in self.bus.held:
            bus.emit(*args, **kwargs)

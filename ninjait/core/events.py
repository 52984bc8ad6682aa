"""In-process event bus.

Services publish facts (``device.created``, ``user.login``) after their
transaction commits; subscribers (audit log, webhooks outbox, live stream,
automations) register for a name, a prefix (``device.*``) or everything
(``*``). A subscriber that raises is logged and never breaks the publisher or
the other subscribers.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("ninjait.events")


@dataclass(frozen=True)
class Event:
    name: str
    tenant_id: int | None
    data: dict[str, Any]
    actor: dict[str, Any] | None = None
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    at: float = field(default_factory=time.time)


Handler = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {}
        self._lock = threading.Lock()

    def subscribe(self, pattern: str, handler: Handler) -> Callable[[], None]:
        """Register; returns a function that unregisters."""
        with self._lock:
            self._handlers.setdefault(pattern, []).append(handler)

        def unsubscribe() -> None:
            with self._lock:
                self._handlers.get(pattern, []).remove(handler)

        return unsubscribe

    def on(self, pattern: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.subscribe(pattern, handler)
            return handler

        return register

    def _matching(self, name: str) -> list[Handler]:
        prefix = name.split(".", 1)[0] + ".*"
        with self._lock:
            return [
                *self._handlers.get(name, ()),
                *self._handlers.get(prefix, ()),
                *self._handlers.get("*", ()),
            ]

    def publish(self, event: Event) -> None:
        for handler in self._matching(event.name):
            try:
                handler(event)
            except Exception:
                log.exception("event subscriber failed", extra={"fields": {"event": event.name}})

    def emit(self, name: str, tenant_id: int | None, actor: dict[str, Any] | None = None, **data: Any) -> Event:
        event = Event(name=name, tenant_id=tenant_id, data=data, actor=actor)
        self.publish(event)
        return event

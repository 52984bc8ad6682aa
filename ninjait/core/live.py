"""Live updates for browsers: Server-Sent Events fed from the event bus.

A connected browser gets a ``Listener``: an asyncio queue on the server's loop, holding the events of its
tenant that a filter lets through. Bus handlers run in any thread, so events cross to the loop with
``call_soon_threadsafe``. A slow or gone browser loses the oldest events (the queue is bounded), never
blocks a publisher. At shutdown every stream ends, so the server does not wait on open connections.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from ninjait.core.events import Event, EventBus

KEEPALIVE_SECONDS = 15.0
QUEUE_LIMIT = 100


@dataclass(eq=False)
class Listener:
    tenant_id: int
    wants: Callable[[Event], bool]
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[Event | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT))

    def offer(self, event: Event) -> None:  # on the loop
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(event)


class Hub:
    def __init__(self) -> None:
        self._listeners: set[Listener] = set()
        self._lock = threading.Lock()
        self.closing = threading.Event()

    def attach(self, bus: EventBus, pattern: str) -> None:
        bus.subscribe(pattern, self.publish)

    def publish(self, event: Event) -> None:
        with self._lock:
            targets = [x for x in self._listeners if x.tenant_id == event.tenant_id]
        for listener in targets:
            try:
                if listener.wants(event):
                    listener.loop.call_soon_threadsafe(listener.offer, event)
            except RuntimeError:  # its loop is closed: the server is gone
                pass

    def close(self) -> None:
        """End every stream (at shutdown)."""
        self.closing.set()
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener.loop.call_soon_threadsafe(listener.offer, None)  # type: ignore[arg-type]
            except RuntimeError:
                pass

    async def stream(self, tenant_id: int, wants: Callable[[Event], bool]) -> AsyncIterator[Event | None]:
        """Events for one browser; ``None`` now and then so the caller can send a keep-alive."""
        listener = Listener(tenant_id, wants, asyncio.get_running_loop())
        with self._lock:
            self._listeners.add(listener)
        try:
            while not self.closing.is_set():
                try:
                    event = await asyncio.wait_for(listener.queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield None
                    continue
                if event is None:
                    return
                yield event
        finally:
            with self._lock:
                self._listeners.discard(listener)

    @property
    def listeners(self) -> int:
        with self._lock:
            return len(self._listeners)



def hub_of(runtime: object) -> Hub:
    """The runtime's hub (one per serving process), made on first use."""
    from ninjait.core.runtime import attached

    return attached(runtime, "live_hub", Hub)

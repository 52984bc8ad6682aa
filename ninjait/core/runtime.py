"""What a running appliance process holds: settings, database, event bus.

Built once by ``serve``/``worker``/CLI commands and reachable from tasks
through :func:`current`; HTTP handlers get the same objects from the app.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ninjait.core import queue
from ninjait.core.crypto import Keyring, load_or_create_key
from ninjait.core.db import Database, open_database
from ninjait.core.events import EventBus
from ninjait.core.migrate import MigrationError, migrate, pending
from ninjait.settings import Settings

T = TypeVar("T")
ANALYTICS_FILE = "analytics.duckdb"


@dataclass
class Runtime:
    settings: Settings
    db: Database
    bus: EventBus = field(default_factory=EventBus)
    started_at: float = field(default_factory=time.time)
    tls_fingerprint: str = ""
    _analytics: Any = None
    _keyring: Any = None

    @property
    def keyring(self) -> Keyring:
        if self._keyring is None:
            self._keyring = Keyring(load_or_create_key(self.settings.data_dir))
        return self._keyring

    @property
    def analytics_path(self) -> Path:
        return self.settings.data_dir / ANALYTICS_FILE

    def analytics(self) -> Any:
        """The DuckDB connection for rollups and reports; each thread should use .cursor()."""
        if self._analytics is None:
            import duckdb

            # DuckDB's default is 80 % of the machine's memory: bounded, it spills to disk instead.
            self._analytics = duckdb.connect(str(self.analytics_path),
                                             config={"memory_limit": f"{self.settings.analytics_memory_mb}MiB"})
        return self._analytics

    def close(self) -> None:
        if self._analytics is not None:
            self._analytics.close()
            self._analytics = None
        self.db.close()


_current: Runtime | None = None


def attached(runtime: object, name: str, make: Callable[[], T]) -> T:
    """An object that lives as long as the runtime (a cache, the live hub), made on first use. A process may
    hold several runtimes (tests), so such objects hang on the runtime, not on a module."""
    found = getattr(runtime, name, None)
    if found is None:
        found = make()
        setattr(runtime, name, found)
    return found


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("the appliance runtime is not started")
    return _current


def backup_before_migrating(settings: Settings, db: Database) -> dict[str, Any] | None:
    """When migrations would change a database that already has a schema, back it up first.

    The backup domain does the work; it is imported here, at the one moment it is needed, because
    the runtime it needs is the one being built (core knows no domain otherwise).
    """
    have, todo = pending(db)
    if not todo or have == 0:
        return None
    from ninjait.backup import service as backups

    probe = Runtime(settings=settings, db=db)
    try:
        return backups.before_migrations(settings, probe, have, todo)
    except Exception as exc:
        raise MigrationError(
            f"could not back up the database before migrating it from schema {have} to {todo[-1]} "
            f"(nothing was changed): {exc}"
        ) from exc
    finally:
        if probe._analytics is not None:
            probe._analytics.close()


def start(settings: Settings, *, run_migrations: bool = True, backup_first: bool = True) -> Runtime:
    """Open storage (migrating it, after a backup when it holds data), point the task queue at the data dir."""
    global _current
    # The data directory holds the queue and keys even when PostgreSQL holds the tables.
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(settings)
    try:
        if run_migrations:
            if backup_first:
                backup_before_migrating(settings, db)
            migrate(db)
    except Exception:
        db.close()
        raise
    queue.configure(settings.data_dir)
    _current = Runtime(settings=settings, db=db)
    return _current


def stop() -> None:
    global _current
    if _current is not None:
        _current.close()
        _current = None

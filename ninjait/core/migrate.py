"""Numbered SQL migrations from ``migrations/``, each applied atomically and recorded."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

from ninjait.core.db import Conn, Database
from ninjait.core.dialect import render_migration
from ninjait.paths import MIGRATIONS

log = logging.getLogger("ninjait.migrate")
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

LEDGER = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)"""


class MigrationError(Exception):
    pass


class SchemaTooNew(MigrationError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(folder: Path = MIGRATIONS) -> list[Migration]:
    found: list[Migration] = []
    for path in sorted(folder.glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        found.append(Migration(int(m.group(1)), m.group(2), path.read_text(encoding="utf-8")))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a number")
    return found


def current_version(db: Database) -> int:
    def read(conn: Conn) -> int:
        conn.execute(LEDGER)
        return int(conn.value("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))

    return db.write(read)


def check_not_newer(db: Database, migrations: list[Migration]) -> int:
    have = current_version(db)
    known = migrations[-1].version if migrations else 0
    if have > known:
        raise SchemaTooNew(
            f"the database schema is version {have} but this NinjaIT only knows up to {known}: "
            "run the NinjaIT release that wrote it, or restore a backup made by this one"
        )
    return have


def recorded_versions(db: Database) -> set[int]:
    def read(conn: Conn) -> set[int]:
        conn.execute(LEDGER)
        return {int(r["version"]) for r in conn.all("SELECT version FROM schema_migrations")}

    return db.write(read)


def pending(db: Database, migrations: list[Migration] | None = None) -> tuple[int, list[int]]:
    """(newest recorded version, versions still to apply: every known one not recorded yet)."""
    migrations = discover() if migrations is None else migrations
    have = check_not_newer(db, migrations)
    done = recorded_versions(db)
    return have, [m.version for m in migrations if m.version not in done]


def migrate(db: Database, migrations: list[Migration] | None = None) -> list[int]:
    """Apply what is missing, in order. Returns the versions applied.

    "Missing" is every known migration not recorded yet, not only those above the newest
    recorded one: a number kept free for a branch that lands after a later number (0003
    after 0004) must still reach databases that were already at the later number.
    """
    migrations = discover() if migrations is None else migrations
    check_not_newer(db, migrations)
    done = recorded_versions(db)
    applied: list[int] = []
    for mig in migrations:
        if mig.version in done:
            continue
        sql = render_migration(mig.sql, db.backend)

        def apply(conn: Conn, mig: Migration = mig, sql: str = sql) -> None:
            if conn.backend == "postgresql":
                # Two processes starting together must not both migrate.
                conn.execute("SELECT pg_advisory_xact_lock(7281001)")
                if conn.value("SELECT 1 FROM schema_migrations WHERE version = ?", (mig.version,)):
                    return
            conn.script(sql)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)",
                (mig.version, mig.name, mig.checksum, int(time.time())),
            )

        try:
            db.write(apply)
        except Exception as exc:
            raise MigrationError(f"migration {mig.version:04d}_{mig.name} failed: {exc}") from exc
        log.info("applied migration", extra={"fields": {"version": mig.version, "name": mig.name}})
        applied.append(mig.version)
    return applied

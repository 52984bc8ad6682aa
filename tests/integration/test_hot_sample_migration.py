"""Migration 0020: hot samples stored one value per row become one row per batch, and reach DuckDB once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from ninjait.core import runtime as rt_mod
from ninjait.core.db import open_database
from ninjait.core.migrate import discover, migrate
from ninjait.monitoring import hot, service
from ninjait.settings import Settings

T0 = 1_800_000_000.0


@pytest.fixture
def old_schema(settings: Settings) -> Iterator[Settings]:
    """A database at the schema before 0020, with the old per-value hot table."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = open_database(settings)
    migrate(db, [m for m in discover() if m.version < 20])
    db.close()
    yield settings.replace(metrics_raw_days=36500)
    rt_mod.stop()


def old_rows(settings: Settings, count: int, delete_upto: int = 0) -> None:
    """`count` values in the old table (ids 1..count), then the first `delete_upto` deleted, as moves do."""
    db = open_database(settings)
    try:
        db.write(lambda c: c.executemany(
            "INSERT INTO metric_samples (tenant_id, device_id, ts, metric, instance, value, received_at) "
            "VALUES (1, 7, ?, ?, ?, ?, 0)",
            [(T0 + i, "disk_used_percent" if i % 4 == 3 else "cpu_percent", "/" if i % 4 == 3 else "", i + 0.1)
             for i in range(count)]))
        db.write(lambda c: c.execute("DELETE FROM metric_samples WHERE id <= ?", (delete_upto,)))
    finally:
        db.close()


def raw(rt: rt_mod.Runtime) -> list[tuple[float, str, str, float]]:
    cur = service.analytics(rt).cursor()
    return [tuple(r) for r in cur.execute("SELECT ts, metric, instance, value FROM metrics_raw ORDER BY ts").fetchall()]


def test_rows_not_yet_moved_come_across_and_reach_duckdb_once(old_schema: Settings) -> None:
    old_rows(old_schema, 40, delete_upto=10)
    rt = rt_mod.start(old_schema)  # applies 0020
    with rt.db.read() as c:
        rows = hot.between(c, 0, 10**9, 100)
        assert c.value("SELECT count(*) FROM schema_migrations WHERE version = 20") == 1
    assert [r["id"] for r in rows] == list(range(11, 41))  # each old row under its own id
    assert hot.unpack(rows[2]["samples"]) == [(T0 + 12, "cpu_percent", "", 12.1)]
    assert hot.unpack(rows[5]["samples"]) == [(T0 + 15, "disk_used_percent", "/", 15.1)]

    # Ids 11..15 had reached DuckDB before the upgrade (a crash before the hot delete).
    from ninjait.monitoring.analytics import arrow_schema

    service.analytics(rt).append(hot.to_arrow(rows[:5], arrow_schema()), 15, time.time())
    assert service.move_hot_samples(rt, settle_seconds=0) == 25
    expected = [(T0 + i, "disk_used_percent" if i % 4 == 3 else "cpu_percent", "/" if i % 4 == 3 else "",
                 pytest.approx(i + 0.1)) for i in range(10, 40)]
    assert raw(rt) == expected
    with rt.db.read() as c:
        assert hot.max_id(c) == 0


def test_new_ids_continue_past_the_old_numbering_so_the_watermark_holds(old_schema: Settings) -> None:
    # Every old value was moved (watermark 40) and deleted: the old table is empty, its numbering at 40.
    old_rows(old_schema, 40, delete_upto=40)
    rt = rt_mod.start(old_schema)
    service.analytics(rt).cursor().execute("INSERT INTO mover_state VALUES ('hot_id', 40)")
    rt.db.write(lambda c: hot.insert(c, 1, 7, 0, hot.pack([(T0 + 100, "cpu_percent", "", 1.5)])))
    with rt.db.read() as c:
        assert hot.max_id(c) == 41  # not 1: at or below the watermark it would be deleted unmoved
    assert service.move_hot_samples(rt, settle_seconds=0) == 1
    assert raw(rt) == [(T0 + 100, "cpu_percent", "", 1.5)]

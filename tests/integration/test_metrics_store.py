"""The metrics tiers: bulk move from the hot table, exact rollups, late data, retention, exactly-once moves."""

from __future__ import annotations

import time

import pytest

from ninjait.core import runtime as rt_mod
from ninjait.monitoring import service
from ninjait.settings import Settings

T0 = 1_800_000_000.0  # a fixed Unix time, on a 1-hour boundary


@pytest.fixture
def rt(settings: Settings):  # type: ignore[no-untyped-def]
    runtime = rt_mod.start(settings.replace(metrics_raw_days=36500))  # synthetic times lie in the past
    runtime.db.write(lambda c: (
        c.execute("INSERT INTO tenants (id, name, slug, created_at) VALUES (1, 'T', 't', 0)"),
        c.execute("INSERT INTO organizations (id, tenant_id, name, created_at) VALUES (1, 1, 'O', 0)"),
        c.execute("INSERT INTO sites (id, tenant_id, organization_id, name, created_at) VALUES (1, 1, 1, 'S', 0)"),
        c.execute("INSERT INTO devices (id, tenant_id, organization_id, site_id, hostname, created_at) "
                  "VALUES (7, 1, 1, 1, 'pc', 0)")))
    yield runtime
    rt_mod.stop()


def hot(rt, samples: list[tuple[float, float]], metric: str = "cpu_percent", device: int = 7) -> None:  # type: ignore[no-untyped-def]
    rt.db.write(lambda c: c.executemany(
        "INSERT INTO metric_samples (tenant_id, device_id, ts, metric, instance, value) VALUES (1, ?, ?, ?, '', ?)",
        [(device, ts, metric, v) for ts, v in samples]))


def tier(rt, name: str, start: float = T0 - 86400, end: float = T0 + 86400) -> list[tuple]:  # type: ignore[no-untyped-def,type-arg]
    return service.analytics(rt).series(1, 7, "cpu_percent", "", start, end, name)


def test_it_moves_everything_and_rolls_up_exactly(rt) -> None:  # type: ignore[no-untyped-def]
    samples = [(T0 + i * 30, float(i % 17)) for i in range(240)]  # two hours, every 30 s
    hot(rt, samples)
    assert service.move_hot_samples(rt, batch=100, settle_seconds=0) == 240
    with rt.db.read() as c:
        assert c.value("SELECT count(*) FROM metric_samples") == 0
    raw = tier(rt, "raw")
    assert [r[0] for r in raw] == [s[0] for s in samples]
    five = tier(rt, "5m")
    assert len(five) == 24
    for bucket, lo, avg, hi in five:
        values = [v for ts, v in samples if bucket <= ts < bucket + 300]
        assert (lo, hi) == (min(values), max(values)) and avg == pytest.approx(sum(values) / len(values))
    hour = tier(rt, "1h")
    assert [h[0] for h in hour] == [T0, T0 + 3600]
    first = [v for ts, v in samples if ts < T0 + 3600]
    assert hour[0][1:] == (min(first), pytest.approx(sum(first) / len(first)), max(first))


def test_late_samples_update_their_buckets(rt) -> None:  # type: ignore[no-untyped-def]
    hot(rt, [(T0 + 10, 10.0), (T0 + 20, 20.0)])
    service.move_hot_samples(rt, settle_seconds=0)
    hot(rt, [(T0 + 299.9, 90.0), (T0 + 300, 5.0)])  # late for the first bucket, and the next bucket's edge
    service.move_hot_samples(rt, settle_seconds=0)
    five = tier(rt, "5m")
    assert five[0] == (T0, 10.0, pytest.approx(40.0), 90.0)
    assert five[1] == (T0 + 300, 5.0, 5.0, 5.0)
    assert tier(rt, "1h")[0][1:] == (5.0, pytest.approx(31.25), 90.0)


def test_a_crash_between_the_two_stores_neither_loses_nor_doubles(rt) -> None:  # type: ignore[no-untyped-def]
    hot(rt, [(T0 + i, 1.0) for i in range(50)])
    store = service.analytics(rt)
    with rt.db.read() as c:
        rows = c.all("SELECT id, tenant_id, device_id, metric, instance, ts, value FROM metric_samples ORDER BY id")
    import pyarrow as pa

    from ninjait.monitoring.analytics import COLUMNS, arrow_schema

    table = pa.table({n: [r[n] for r in rows[:20]] for n in COLUMNS}, schema=arrow_schema())
    store.append(table, rows[19]["id"], time.time())  # ...and the process dies before deleting the hot rows
    service.move_hot_samples(rt, settle_seconds=0)
    assert len(tier(rt, "raw")) == 50
    with rt.db.read() as c:
        assert c.value("SELECT count(*) FROM metric_samples") == 0


def test_samples_older_than_raw_retention_are_dropped_and_purge_applies_each_tier(settings: Settings) -> None:
    runtime = rt_mod.start(settings)  # default retention: raw 7 days
    try:
        now = time.time()
        runtime.db.write(lambda c: c.executemany(
            "INSERT INTO metric_samples (tenant_id, device_id, ts, metric, instance, value) "
            "VALUES (1, 7, ?, 'cpu_percent', '', 1.0)", [(now - 8 * 86400,), (now - 60,)]))
        service.move_hot_samples(runtime, settle_seconds=0)
        store = service.analytics(runtime)
        assert len(store.series(1, 7, "cpu_percent", "", now - 30 * 86400, now, "raw")) == 1
        cur = store.cursor()
        cur.execute("INSERT INTO metrics_5m VALUES (1, 7, 'cpu_percent', '', ?, 1, 1, 1, 1)", [now - 100 * 86400])
        cur.execute("INSERT INTO metrics_1h VALUES (1, 7, 'cpu_percent', '', ?, 1, 1, 1, 1)", [now - 800 * 86400])
        removed = service.purge(runtime)
        assert removed["metrics_5m"] == 1 and removed["metrics_1h"] == 1
        assert cur.execute("SELECT count(*) FROM metrics_5m WHERE bucket < ?", [now - 90 * 86400]).fetchone()[0] == 0
    finally:
        rt_mod.stop()


def test_tier_choice_follows_the_range() -> None:
    assert service.pick_tier(3600) == "raw"
    assert service.pick_tier(2 * 86400) == "raw"
    assert service.pick_tier(7 * 86400) == "5m"
    assert service.pick_tier(30 * 86400) == "5m"
    assert service.pick_tier(365 * 86400) == "1h"


def test_a_raw_read_that_races_the_mover_neither_misses_nor_doubles(rt, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The mover may move (and delete) hot rows between a reader's two stores; the reader sees each sample once."""
    from tests.support.identity import admin_principal

    hot(rt, [(T0 + i, float(i)) for i in range(10)])
    service.move_hot_samples(rt, settle_seconds=0)
    hot(rt, [(T0 + 10 + i, float(i)) for i in range(10)])  # hot, above the watermark
    store = service.analytics(rt)
    moved = []

    def then_the_mover_runs(method):  # type: ignore[no-untyped-def]
        def wrapped(*args):  # type: ignore[no-untyped-def]
            result = method(*args)
            if not moved:  # right after the reader's first look at DuckDB
                moved.append(0)
                moved[0] = service.move_hot_samples(rt, settle_seconds=0)
            return result
        return wrapped

    for name in ("watermark", "series", "series_and_watermark"):
        monkeypatch.setattr(store, name, then_the_mover_runs(getattr(store, name)))
    got = service.series(rt, admin_principal(1), 7, "cpu_percent", start=T0 - 60, end=T0 + 60, tier="raw")
    assert [p["t"] for p in got["points"]] == [T0 + i for i in range(20)]
    with rt.db.read() as c:
        assert c.value("SELECT count(*) FROM metric_samples") == 0
    assert moved == [10]  # the mover did move them meanwhile

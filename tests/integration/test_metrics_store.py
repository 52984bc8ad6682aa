"""The metrics tiers: bulk move from the hot table (one row per check-in), exact rollups, late data, retention,
exactly-once moves."""

from __future__ import annotations

import time

import pytest

from ninjait.core import runtime as rt_mod
from ninjait.monitoring import hot, service
from ninjait.settings import Settings
from tests.support import rows

T0 = 1_800_000_000.0  # a fixed Unix time, on a 1-hour boundary


@pytest.fixture
def rt(settings: Settings):  # type: ignore[no-untyped-def]
    runtime = rt_mod.start(settings.replace(metrics_raw_days=36500))  # synthetic times lie in the past
    runtime.db.write(lambda c: (
        rows.tenant_with_site(c, 1),
        rows.device(c, 7, 1, "pc")))
    yield runtime
    rt_mod.stop()


def seed_hot(rt, samples: list[tuple[float, float]], metric: str = "cpu_percent",  # type: ignore[no-untyped-def]
             device: int = 7, per_row: int = 20) -> None:
    """The samples as hot rows of ``per_row`` samples each, as check-ins store them."""
    rows = [(1, device, 0, hot.pack((ts, metric, "", v) for ts, v in samples[i:i + per_row]))
            for i in range(0, len(samples), per_row)]
    rt.db.write(lambda c: hot.insert_many(c, rows))


def hot_rows(rt) -> int:  # type: ignore[no-untyped-def]
    with rt.db.read() as c:
        return c.value("SELECT count(*) FROM hot_sample_batches")


def tier(rt, name: str, start: float = T0 - 86400, end: float = T0 + 86400) -> list[tuple]:  # type: ignore[no-untyped-def,type-arg]
    return service.analytics(rt).series(1, 7, "cpu_percent", "", start, end, name)


def test_it_moves_everything_and_rolls_up_exactly(rt) -> None:  # type: ignore[no-untyped-def]
    samples = [(T0 + i * 30, float(i % 17)) for i in range(240)]  # two hours, every 30 s
    seed_hot(rt, samples)
    assert hot_rows(rt) == 12
    assert service.move_hot_samples(rt, batch=5, settle_seconds=0) == 240  # three appends of up to 5 rows
    assert hot_rows(rt) == 0
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
    seed_hot(rt, [(T0 + 10, 10.0), (T0 + 20, 20.0)])
    service.move_hot_samples(rt, settle_seconds=0)
    seed_hot(rt, [(T0 + 299.9, 90.0), (T0 + 300, 5.0)])  # late for the first bucket, and the next bucket's edge
    service.move_hot_samples(rt, settle_seconds=0)
    five = tier(rt, "5m")
    assert five[0] == (T0, 10.0, pytest.approx(40.0), 90.0)
    assert five[1] == (T0 + 300, 5.0, 5.0, 5.0)
    assert tier(rt, "1h")[0][1:] == (5.0, pytest.approx(31.25), 90.0)


def test_a_move_merges_into_its_buckets_without_reading_raw_again(rt) -> None:  # type: ignore[no-untyped-def]
    # The buckets add up from each move's part: what an earlier move put in a bucket stays counted even once
    # its raw values are gone (purged), and a move never rereads the bucket's raw values.
    seed_hot(rt, [(T0 + 10, 10.0), (T0 + 20, 20.0)])
    service.move_hot_samples(rt, settle_seconds=0)
    service.analytics(rt).cursor().execute("DELETE FROM metrics_raw")
    seed_hot(rt, [(T0 + 30, 60.0)])
    service.move_hot_samples(rt, settle_seconds=0)
    assert tier(rt, "5m") == [(T0, 10.0, pytest.approx(30.0), 60.0)]
    assert tier(rt, "1h") == [(T0, 10.0, pytest.approx(30.0), 60.0)]
    assert [r[0] for r in tier(rt, "raw")] == [T0 + 30]


def test_a_crash_between_the_two_stores_neither_loses_nor_doubles(rt) -> None:  # type: ignore[no-untyped-def]
    seed_hot(rt, [(T0 + i, 1.0) for i in range(50)], per_row=10)
    store = service.analytics(rt)
    with rt.db.read() as c:
        rows = hot.between(c, 0, hot.max_id(c), 100)
    from ninjait.monitoring.analytics import arrow_schema

    table = hot.to_arrow(rows[:2], arrow_schema())
    store.append(table, rows[1]["id"], time.time())  # ...and the process dies before deleting the hot rows
    assert service.move_hot_samples(rt, settle_seconds=0) == 30
    assert [r[0] for r in tier(rt, "raw")] == [T0 + i for i in range(50)]
    assert hot_rows(rt) == 0


def test_samples_older_than_raw_retention_are_dropped_and_purge_applies_each_tier(settings: Settings) -> None:
    runtime = rt_mod.start(settings)  # default retention: raw 7 days
    try:
        now = time.time()
        packed = hot.pack([(now - 8 * 86400, "cpu_percent", "", 1.0), (now - 60, "cpu_percent", "", 1.0)])
        runtime.db.write(lambda c: hot.insert(c, 1, 7, int(now), packed))
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

    seed_hot(rt, [(T0 + i, float(i)) for i in range(10)])
    service.move_hot_samples(rt, settle_seconds=0)
    seed_hot(rt, [(T0 + 10 + i, float(i)) for i in range(10)], per_row=3)  # hot, above the watermark
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
    assert hot_rows(rt) == 0
    assert moved == [10]  # the mover did move them meanwhile


def test_a_raw_series_reads_the_same_points_from_hot_rows_as_from_duckdb(rt) -> None:  # type: ignore[no-untyped-def]
    """Check-ins' rows read as a series while hot, and after the move, give the same points, each once."""
    import msgspec
    from ninjait_agent import wire

    from tests.support.identity import admin_principal

    def check_in(t0: float, disks: dict[str, float]) -> None:
        samples = [msgspec.convert({"ts": t0 + i * 10, "cpu_percent": t0 % 97 + i, "load1": 0.5, "mem_percent": 40.0,
                                    "swap_percent": 0.0, "process_count": 100,
                                    "disks": [{"mount": m, "used_percent": u + i} for m, u in disks.items()]},
                                   wire.MetricSample) for i in range(3)]
        packed = hot.pack_check_in(samples)
        rt.db.write(lambda c: hot.insert(c, 1, 7, int(time.time()), packed))

    check_in(T0, {"/": 50.0})
    check_in(T0 + 30, {"/": 60.0, "/data": 10.0})  # a disk mounted in between
    check_in(T0 + 60, {"/": 70.0})

    def read(metric: str, instance: str = "") -> list[tuple[float, float]]:
        got = service.series(rt, admin_principal(1), 7, metric, instance, start=T0 + 10, end=T0 + 80, tier="raw")
        return [(p["t"], p["avg"]) for p in got["points"]]

    wanted = {
        # A check-in at t0 sends cpu t0 % 97 + i at t0 + 10 i.
        ("cpu_percent", ""): [(T0 + t, (T0 + t // 30 * 30) % 97 + t % 30 // 10) for t in range(10, 80, 10)],
        ("disk_used_percent", "/"): [(T0 + 10, 51.0), (T0 + 20, 52.0), (T0 + 30, 60.0), (T0 + 40, 61.0),
                                     (T0 + 50, 62.0), (T0 + 60, 70.0), (T0 + 70, 71.0)],
        ("disk_used_percent", "/data"): [(T0 + 30, 10.0), (T0 + 40, 11.0), (T0 + 50, 12.0)],
        ("mem_percent", ""): [(T0 + t, 40.0) for t in range(10, 80, 10)],
    }
    hot_reads = {key: read(*key) for key in wanted}
    assert hot_reads == wanted
    assert service.move_hot_samples(rt, settle_seconds=0) == 9 * 12 + 3  # 9 samples of 11 scalars and /; /data 3 times
    assert hot_rows(rt) == 0
    assert {key: read(*key) for key in wanted} == hot_reads


def test_moves_that_overlap_store_each_sample_once(rt) -> None:  # type: ignore[no-untyped-def]
    """A move that outlasts its minute meets the next minute's: between them, every sample lands once."""
    import threading

    from ninjait.monitoring.analytics import StaleWatermark, arrow_schema

    seed_hot(rt, [(T0 + i, float(i)) for i in range(400)], per_row=4)  # 100 hot rows
    store = service.analytics(rt)
    with rt.db.read() as c:
        rows = hot.between(c, 0, hot.max_id(c), 10)
    # A second mover that read the same rows as the first, after the first stored them, writes nothing.
    store.append(hot.to_arrow(rows, arrow_schema()), rows[-1]["id"], time.time(), 0)
    with pytest.raises(StaleWatermark):
        store.append(hot.to_arrow(rows, arrow_schema()), rows[-1]["id"], time.time(), 0)
    assert len(tier(rt, "raw")) == 40

    start = threading.Barrier(4)
    moved: list[int] = []

    def move() -> None:
        start.wait()
        moved.append(service.move_hot_samples(rt, batch=3, settle_seconds=0))

    threads = [threading.Thread(target=move) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(moved) == 360
    assert [r[0] for r in tier(rt, "raw")] == [T0 + i for i in range(400)]
    assert hot_rows(rt) == 0

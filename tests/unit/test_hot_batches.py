"""The hot table's row format: a check-in's samples in one row, expanded back value for value."""

from __future__ import annotations

import msgspec
import pytest
from ninjait_agent import wire

from ninjait.monitoring import hot


def sample(ts: float, cpu: float, disks: dict[str, float]) -> wire.MetricSample:
    return msgspec.convert({"ts": ts, "cpu_percent": cpu, "load1": 0.5, "mem_percent": 41.0, "swap_percent": 2.0,
                            "process_count": 180, "net_rx_bps": 1234.5678901234567,
                            "disks": [{"mount": m, "used_percent": u} for m, u in disks.items()]}, wire.MetricSample)


def expected(samples: list[wire.MetricSample]) -> set[hot.Sample]:
    """What the per-value table stored for these samples: one value per scalar metric and per disk."""
    out = set()
    for s in samples:
        out |= {(s.ts, name, "", float(getattr(s, name))) for name in hot.SCALAR_METRICS}
        out |= {(s.ts, "disk_used_percent", d.mount, d.used_percent) for d in s.disks}
    return out


def test_it_packs_a_check_in_and_unpacks_every_value_once() -> None:
    # The second disk appears in the second sample: the first sample has no value for it.
    samples = [sample(100.0, 5.0, {"/": 50.0}), sample(130.5, 97.25, {"/": 50.5, "/data": 12.0})]
    packed = hot.pack_check_in(samples)
    assert packed is not None and (packed.ts_min, packed.ts_max) == (100.0, 130.5)
    values = hot.unpack(packed.samples)
    assert len(values) == len(set(values)) == 2 * 11 + 3
    assert set(values) == expected(samples)
    assert (130.5, "net_rx_bps", "", 1234.5678901234567) in values  # doubles come back exactly
    assert hot.unpack(packed.samples, ["disk_used_percent"]) == [
        (100.0, "disk_used_percent", "/", 50.0), (130.5, "disk_used_percent", "/", 50.5),
        (130.5, "disk_used_percent", "/data", 12.0)]
    assert hot.pack_check_in([]) is None


def test_the_mover_table_holds_the_same_values_with_gaps_as_nulls() -> None:
    from ninjait.monitoring.analytics import arrow_schema

    first = [sample(100.0, 5.0, {"/": 50.0}), sample(130.0, 6.0, {"/": 51.0, "/data": 12.0})]
    second = [sample(160.0, 7.0, {"/": 52.0})]
    packed = [(9, hot.pack_check_in(first)), (4, hot.pack_check_in(second))]
    rows = [{"id": i, "tenant_id": 3, "device_id": d, "samples": p.samples} for i, (d, p) in enumerate(packed) if p]
    rows.insert(1, {"id": 7, "tenant_id": 3, "device_id": 5, "samples": '{"t": [], "s": []}'})  # nothing in it
    table = hot.to_arrow(rows, arrow_schema())
    assert table.num_rows == 2 * 13 + 12  # 13 series × 2 times (one null), then 12 × 1
    got = table.to_pylist()
    assert {r["tenant_id"] for r in got} == {3}
    assert [r["device_id"] for r in got] == [9] * 26 + [4] * 12
    values = {(r["ts"], r["metric"], r["instance"], r["value"]) for r in got if r["value"] is not None}
    assert values == expected(first) | expected(second)
    assert [r["value"] for r in got].count(None) == 1


def test_any_samples_pack_and_a_malformed_row_is_refused() -> None:
    from ninjait.monitoring.analytics import arrow_schema

    given = [(1.0, "cpu_percent", "", 3.0), (2.0, "cpu_percent", "", 4.0), (2.0, "disk_used_percent", "/", 9.0)]
    packed = hot.pack(given)
    assert (packed.ts_min, packed.ts_max) == (1.0, 2.0)
    assert sorted(hot.unpack(packed.samples)) == sorted(given)
    broken = '{"t": [1.0, 2.0], "s": [["cpu_percent", "", [1.0]]]}'
    with pytest.raises(ValueError, match="1 values for 2 times"):
        hot.to_arrow([{"id": 5, "tenant_id": 1, "device_id": 1, "samples": broken}], arrow_schema())

"""REST API of metrics: one device's series, fleet-wide top devices."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, get
from litestar.params import FromPath, FromQuery, QueryParameter
from msgspec import Struct

from ninjait.identity.http import principal_of
from ninjait.identity.models import convert
from ninjait.monitoring import service


class Point(Struct):
    t: float
    min: float
    avg: float
    max: float


class Series(Struct, rename={"start": "from", "end": "to"}):
    device_id: int
    metric: str
    instance: str
    tier: str
    start: float
    end: float
    points: list[Point]


class TopDevice(Struct):
    device_id: int
    hostname: str
    avg: float
    max: float


class MetricName(Struct):
    name: str
    label: str


READ = {"permission": "devices.read"}


@get("/api/v1/devices/{device_id:int}/metrics", opt=READ, tags=["metrics"], sync_to_thread=True)
def device_metrics(request: Request[Any, Any, Any], device_id: FromPath[int], metric: FromQuery[str],
                   instance: FromQuery[str] = "",
                   from_: Annotated[float | None, QueryParameter(name="from")] = None,
                   to: FromQuery[float | None] = None, tier: FromQuery[str] = "",
                   step: FromQuery[int | None] = None) -> Series:
    """Points of one metric (min/avg/max per point); the tier follows the range: raw up to 2 days,
    5-minute up to 31 days, hourly beyond. `from`/`to` are Unix times; default: the last hour. `step`
    (seconds between points) picks the tier instead: under 300 raw, under 3600 5-minute, else hourly;
    `tier` (raw, 5m, 1h) names it outright."""
    if step is not None and not tier:
        tier = service.tier_for_step(step)
    result = service.series(request.app.state.runtime, principal_of(request), device_id, metric, instance,
                            from_, to, tier)
    return convert({**result, "start": result["from"], "end": result["to"]}, Series)  # type: ignore[return-value]


@get("/api/v1/metrics/top", opt=READ, tags=["metrics"], sync_to_thread=True)
def top(request: Request[Any, Any, Any], metric: FromQuery[str] = "cpu_percent", hours: FromQuery[int] = 24,
        limit: FromQuery[int] = 10) -> list[TopDevice]:
    """Devices with the highest average of a metric over the last hours (5-minute tier)."""
    rows = service.top_devices(request.app.state.runtime, principal_of(request), metric, hours, limit)
    return convert(rows, list[TopDevice])  # type: ignore[return-value]


@get("/api/v1/metrics", opt=READ, tags=["metrics"], sync_to_thread=False)
def catalogue() -> list[MetricName]:
    """The metric names the agents report."""
    return [MetricName(name=k, label=v) for k, v in service.METRICS.items()]


route_handlers = [device_metrics, top, catalogue]

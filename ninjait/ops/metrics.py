"""Prometheus metrics of the appliance, on their own registry."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "ninjait_http_requests", "HTTP requests by route template, method and status",
    ["route", "method", "status"], registry=REGISTRY,
)
REQUEST_LATENCY = Histogram(
    "ninjait_http_request_duration_seconds", "HTTP request latency by route template",
    ["route"], registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


# The labelled series of each route, looked up once: `labels()` takes a lock and builds a key on every call.
_REQUEST_SERIES: dict[tuple[str, str, str], tuple[Any, Any]] = {}


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def observe_request(route: str, method: str, status: str, seconds: float) -> None:
    """Count one HTTP request and its latency under its route template (made-up methods count as OTHER: a client
    must not be able to add series without end)."""
    if method not in _METHODS:
        method = "OTHER"
    series = _REQUEST_SERIES.get((route, method, status))
    if series is None:
        series = _REQUEST_SERIES[(route, method, status)] = (REQUESTS.labels(route, method, status),
                                                             REQUEST_LATENCY.labels(route))
    series[0].inc()
    series[1].observe(seconds)


class _Live(Collector):
    """Values read at scrape time from the running appliance."""

    def __init__(self) -> None:
        self.sources: dict[str, tuple[str, Callable[[], float]]] = {}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for name, (doc, read) in self.sources.items():
            try:
                value = float(read())
            except Exception:
                continue  # a failing source must not break the whole scrape
            yield GaugeMetricFamily(name, doc, value=value)


LIVE = _Live()
REGISTRY.register(LIVE)


def gauge(name: str, doc: str, read: Callable[[], float]) -> None:
    LIVE.sources[name] = (doc, read)

"""Operations endpoints: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

from litestar import Response, get
from litestar.datastructures import State
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ninjait.core import queue
from ninjait.core.runtime import Runtime
from ninjait.ops.metrics import REGISTRY

OPS = {"public": True}  # no login: probes and scrapers call these


@get("/healthz", opt=OPS, tags=["operations"], sync_to_thread=False)
def healthz() -> dict[str, str]:
    """The process is alive and serving."""
    return {"status": "ok"}


@get("/readyz", opt=OPS, tags=["operations"], sync_to_thread=True)
def readyz(state: State) -> Response[dict[str, object]]:
    """The database and the task queue answer."""
    runtime: Runtime = state.runtime
    checks: dict[str, str] = {}
    try:
        runtime.db.ping()
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {exc}"
    try:
        queue.queue_depth()
        checks["queue"] = "ok"
    except Exception as exc:
        checks["queue"] = f"error: {exc}"
    ready = all(v == "ok" for v in checks.values())
    return Response({"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503)


@get("/metrics", opt=OPS, tags=["operations"], sync_to_thread=True, media_type=CONTENT_TYPE_LATEST)
def metrics() -> Response[bytes]:
    """Prometheus text format."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


route_handlers = [healthz, readyz, metrics]

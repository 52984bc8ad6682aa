"""The agent endpoints under /agent/v1/: separate from the UI and the REST API, with their own auth."""

from __future__ import annotations

from typing import Any

import anyio
import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import File
from ninjait_agent import wire

from ninjait.agents import checkin_endpoint, gateway, releases, service
from ninjait.core.errors import Forbidden, Invalid, NotFound
from ninjait.identity.http import client_ip

# Agents authenticate with their own credentials, checked in the handlers.
AGENT = {"public": True, "agent": True}
JSON = "application/json"


def _rt(request: Request[Any, Any, Any]) -> Any:
    return request.app.state.runtime


@post("/agent/v1/enroll", opt=AGENT, tags=["agent"], request_max_body_size=64 * 1024, status_code=200)
async def enroll(request: Request[Any, Any, Any]) -> Response[bytes]:
    """Trade an enrollment token for an agent id, a secret and the command-signing key."""
    try:
        req = wire.ENROLL_DECODER.decode(await request.body())
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise Invalid(f"enrollment rejected: {exc}") from None
    reply = await anyio.to_thread.run_sync(service.enroll, _rt(request), req, client_ip(request))
    return Response(wire.ENCODER.encode(reply), media_type=JSON)


# Served by checkin_endpoint.CheckInEndpoint in front of the framework; this route documents it in the
# OpenAPI schema and serves it the same way where the app runs without that layer.
@post(checkin_endpoint.PATH, opt=AGENT, tags=["agent"], request_max_body_size=checkin_endpoint.MAX_REQUEST_BODY,
      status_code=200)
async def checkin(request: Request[Any, Any, Any]) -> Response[bytes]:
    """One batch (sequence-numbered, idempotent) in; pending signed commands and the next interval out."""
    body = await gateway.check_in(_rt(request), request.headers.get("authorization", ""), request.body,
                                  request.headers.get("content-encoding", "").lower())
    return Response(body, media_type=JSON)


@post("/agent/v1/rotate", opt=AGENT, tags=["agent"], request_max_body_size=1024, status_code=200)
async def rotate(request: Request[Any, Any, Any]) -> Response[bytes]:
    """The agent replaces its own secret (when the server asked it to)."""
    rt = _rt(request)
    agent = await gateway.authenticate(rt, request.headers.get("authorization", ""), cached=False)
    secret = await anyio.to_thread.run_sync(service.rotate_secret, rt, agent)
    return Response(wire.ENCODER.encode(wire.RotateReply(secret=secret)), media_type=JSON)


@get("/agent/v1/updates/{platform:str}/{version:str}", opt=AGENT, tags=["agent"])
async def download_update(request: Request[Any, Any, Any], platform: FromPath[str], version: FromPath[str]) -> File:
    """An agent build (see `ninjait agent-release publish`); the agent checks its signed SHA-256."""
    rt = _rt(request)
    agent = await gateway.authenticate(rt, request.headers.get("authorization", ""), cached=False)
    if agent.status == "pending":
        raise Forbidden("this agent is waiting for approval by an administrator")
    release = await anyio.to_thread.run_sync(releases.get, rt.settings.data_dir, platform, version)
    if release is None:
        raise NotFound(f"no agent build {version!r} for {platform!r}")
    return File(path=release.path, filename=releases.FILE, media_type="application/octet-stream",
                content_disposition_type="attachment")


@get("/agent/v1/ping", opt=AGENT, tags=["agent"], sync_to_thread=False)
def ping() -> dict[str, Any]:
    """Reachability check for the installer; no credentials."""
    return {"status": "ok", "protocol": wire.PROTOCOL}


route_handlers = [enroll, checkin, rotate, download_update, ping]

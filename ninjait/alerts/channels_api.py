"""REST API of notification channels: the kinds plugins provide, CRUD, send a test, the delivery log."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT
import msgspec

from ninjait.alerts import channels
from ninjait.alerts.models import (
    ChannelKind, Delivery, DeliveryOutcome, NotificationChannel, NotificationChannelIn, NotificationChannelUpdate,
)
from ninjait.identity.http import actor_of, principal_of
from ninjait.identity.models import convert

Req = Request[Any, Any, Any]
READ, WRITE = {"permission": "alerts.read"}, {"permission": "alerts.write"}


def rt(request: Req) -> Any:
    return request.app.state.runtime


@get("/api/v1/notification-channel-kinds", opt=READ, tags=["notifications"], sync_to_thread=True)
def channel_kinds(request: Req) -> list[ChannelKind]:
    """The channel kinds the loaded plugins provide, with the settings each needs (secrets are `kind: secret`)."""
    found = [{"kind": ch.kind, "label": ch.label, "fields": [
        {"name": f.name, "label": f.label, "kind": f.kind, "required": f.required, "help": f.help, "default": f.default}
        for f in ch.fields]} for ch in sorted(channels.catalogue(rt(request)).values(), key=lambda c: c.label)]
    return convert(found, list[ChannelKind])  # type: ignore[return-value]


class ChannelController(Controller):
    path = "/api/v1/notification-channels"
    tags = ["notifications"]

    @get("/", opt=READ, sync_to_thread=True)
    def index(self, request: Req) -> list[NotificationChannel]:
        """Secrets are never returned: `secrets_set` says whether they are stored."""
        return convert(channels.list_channels(rt(request), principal_of(request)), list[NotificationChannel])  # type: ignore[return-value]

    @post("/", opt=WRITE, sync_to_thread=True)
    def create(self, request: Req, data: JSONBody[NotificationChannelIn]) -> NotificationChannel:
        row = channels.create_channel(rt(request), principal_of(request), actor_of(request), msgspec.to_builtins(data))
        return convert(row, NotificationChannel)  # type: ignore[return-value]

    @get("/{channel_id:int}", opt=READ, sync_to_thread=True)
    def show(self, request: Req, channel_id: FromPath[int]) -> NotificationChannel:
        return convert(channels.get_channel(rt(request), principal_of(request), channel_id), NotificationChannel)  # type: ignore[return-value]

    @put("/{channel_id:int}", opt=WRITE, sync_to_thread=True)
    def update(self, request: Req, channel_id: FromPath[int], data: JSONBody[NotificationChannelUpdate]) -> NotificationChannel:
        changes = {k: v for k, v in msgspec.to_builtins(data).items() if v is not None}
        row = channels.update_channel(rt(request), principal_of(request), actor_of(request), channel_id, changes)
        return convert(row, NotificationChannel)  # type: ignore[return-value]

    @delete("/{channel_id:int}", opt=WRITE, sync_to_thread=True, status_code=HTTP_204_NO_CONTENT)
    def remove(self, request: Req, channel_id: FromPath[int]) -> None:
        channels.delete_channel(rt(request), principal_of(request), actor_of(request), channel_id)

    @post("/{channel_id:int}/test", opt=WRITE, sync_to_thread=True, status_code=200)
    def test(self, request: Req, channel_id: FromPath[int]) -> DeliveryOutcome:
        """Send a test message now; the answer (and the delivery log) says whether it went out."""
        outcome = channels.send_test(rt(request), principal_of(request), actor_of(request), channel_id)
        return convert(outcome, DeliveryOutcome)  # type: ignore[return-value]

    @get("/{channel_id:int}/deliveries", opt=READ, sync_to_thread=True)
    def deliveries(self, request: Req, channel_id: FromPath[int], limit: FromQuery[int] = 100) -> list[Delivery]:
        """Newest first: every message to this channel, its status (queued, sent, failed), attempts, response."""
        rows = channels.deliveries(rt(request), principal_of(request), channel_id, limit)
        return convert(rows, list[Delivery])  # type: ignore[return-value]


route_handlers = [channel_kinds, ChannelController]

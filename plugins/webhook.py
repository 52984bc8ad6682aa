"""Built-in channel: generic webhook. JSON body; X-NinjaIT-Timestamp and X-NinjaIT-Signature
(sha256=HMAC-SHA256 of "<timestamp>.<body>" with the channel's secret) so receivers can check origin
and refuse replays."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

from ninjait.integrations.plugins import Context, Field, Message, post, signature


class WebhookChannel:
    kind = "webhook"
    label = "Webhook (signed JSON)"
    fields = (Field("url", "URL", "url"), Field("secret", "Signing secret", "secret",
                                                help="Receivers verify X-NinjaIT-Signature with it"))

    def notify(self, config: Mapping[str, str], message: Message, ctx: Context) -> int | None:
        body = json.dumps({"type": f"alert.{message.event}", "alert": message.as_dict()}, sort_keys=True).encode()
        stamp = str(int(time.time()))
        return post(ctx, config["url"], content=body, headers={
            "Content-Type": "application/json", "X-NinjaIT-Timestamp": stamp,
            "X-NinjaIT-Signature": signature(config["secret"], stamp, body)})


def ninjait_channels() -> list[WebhookChannel]:
    return [WebhookChannel()]

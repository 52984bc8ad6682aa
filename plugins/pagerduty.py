"""Built-in channel: PagerDuty Events API v2 (trigger, and resolve with the same dedup_key)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from ninjait.integrations.plugins import Context, Field, Message, post

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}


class PagerDutyChannel:
    kind = "pagerduty"
    label = "PagerDuty"
    fields = (Field("routing_key", "Integration (routing) key", "secret"),
              Field("events_url", "Events API URL", "url", required=False, default=EVENTS_URL,
                    help="Leave as is unless PagerDuty tells you otherwise (EU: events.eu.pagerduty.com)"))

    def notify(self, config: Mapping[str, str], message: Message, ctx: Context) -> int | None:
        action = "resolve" if message.event == "resolved" else "trigger"
        body = {"routing_key": config["routing_key"], "event_action": action,
                "dedup_key": message.fingerprint or f"ninjait-test-{int(message.at)}"}
        if action == "trigger":
            body["payload"] = {
                "summary": message.headline[:1024], "severity": SEVERITY.get(message.severity, "info"),
                "source": message.device or message.organization or "ninjait",
                "timestamp": dt.datetime.fromtimestamp(message.at, dt.UTC).isoformat(),
                "component": message.organization or None, "custom_details": {"text": message.text}}
            body["links"] = [{"href": message.url, "text": "Open in NinjaIT"}]
        return post(ctx, config.get("events_url") or EVENTS_URL, json=body)


def ninjait_channels() -> list[PagerDutyChannel]:
    return [PagerDutyChannel()]

"""Built-in channels: Slack, Microsoft Teams and Discord incoming webhooks (their documented bodies)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ninjait.integrations.plugins import Context, Field, Message, post

URL = (Field("url", "Incoming webhook URL", "url"),)
COLOURS = {"critical": "#d63939", "warning": "#f59f00", "info": "#4299e1"}


def _facts(message: Message) -> list[tuple[str, str]]:
    return [("Severity", message.severity), ("Device", message.device or "—"),
            ("Organization", message.organization or "—")]


class SlackChannel:
    """https://api.slack.com/messaging/webhooks: `text` is required; blocks render the rest."""
    kind = "slack"
    label = "Slack"
    fields = URL

    def notify(self, config: Mapping[str, str], message: Message, ctx: Context) -> int | None:
        fields = [{"type": "mrkdwn", "text": f"*{k}:* {v}"} for k, v in _facts(message)]
        body: dict[str, Any] = {"text": f"{message.headline}: {message.text}", "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*<{message.url}|{message.headline}>*\n{message.text}"}},
            {"type": "section", "fields": fields}]}
        return post(ctx, config["url"], json=body)


class TeamsChannel:
    """Teams incoming webhook (Workflows): a message with an Adaptive Card attachment."""
    kind = "teams"
    label = "Microsoft Teams"
    fields = URL

    def notify(self, config: Mapping[str, str], message: Message, ctx: Context) -> int | None:
        card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                "version": "1.4", "body": [
                    {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": True, "text": message.headline},
                    {"type": "TextBlock", "wrap": True, "text": message.text},
                    {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in _facts(message)]}],
                "actions": [{"type": "Action.OpenUrl", "title": "Open in NinjaIT", "url": message.url}]}
        body = {"type": "message", "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}
        return post(ctx, config["url"], json=body)


class DiscordChannel:
    """https://discord.com/developers/docs/resources/webhook#execute-webhook: `content` and `embeds`."""
    kind = "discord"
    label = "Discord"
    fields = URL

    def notify(self, config: Mapping[str, str], message: Message, ctx: Context) -> int | None:
        embed = {"title": message.headline[:256], "description": message.text[:4096], "url": message.url,
                 "color": int(COLOURS.get(message.severity, "#4299e1")[1:], 16),
                 "fields": [{"name": k, "value": v, "inline": True} for k, v in _facts(message)]}
        return post(ctx, config["url"], json={"content": message.headline[:2000], "embeds": [embed]})


def ninjait_channels() -> list[Any]:
    return [SlackChannel(), TeamsChannel(), DiscordChannel()]

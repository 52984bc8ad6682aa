"""Built-in channel: ntfy (https://docs.ntfy.sh/publish/): POST the text to <server>/<topic> with headers."""

from __future__ import annotations

from collections.abc import Mapping

from ninjait.integrations.plugins import Context, Field, Message, post

PRIORITY = {"critical": "urgent", "warning": "high", "info": "default"}


class NtfyChannel:
    kind = "ntfy"
    label = "ntfy"
    fields = (Field("server", "Server URL", "url", default="https://ntfy.sh"), Field("topic", "Topic"),
              Field("token", "Access token", "secret", required=False, help="For protected topics"))

    def notify(self, config: Mapping[str, str], message: Message, ctx: Context) -> int | None:
        headers = {"Title": message.headline.encode("ascii", "replace").decode(), "Priority": PRIORITY.get(
            message.severity, "default"), "Tags": "white_check_mark" if message.event == "resolved" else "warning",
            "Click": message.url}
        if config.get("token"):
            headers["Authorization"] = f"Bearer {config['token']}"
        url = f"{config['server'].rstrip('/')}/{config['topic']}"
        return post(ctx, url, content=message.text.encode(), headers=headers)


def ninjait_channels() -> list[NtfyChannel]:
    return [NtfyChannel()]

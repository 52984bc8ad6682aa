"""The main navigation. Domains fill it by registering the page that serves an entry."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class NavItem:
    key: str
    label: str
    path: str
    available: bool = False  # becomes True when a domain registers the page


NAV: list[NavItem] = [
    NavItem("devices", "Devices", "/devices"),
    NavItem("checks", "Checks", "/checks"),
    NavItem("alerts", "Alerts", "/alerts"),
    NavItem("automation", "Automation", "/automation"),
    NavItem("patching", "Patching", "/patching"),
    NavItem("tickets", "Tickets", "/tickets"),
    NavItem("billing", "Billing", "/billing"),
    NavItem("reports", "Reports", "/reports"),
    NavItem("settings", "Settings", "/settings"),
]


def provide(key: str, path: str | None = None) -> None:
    """A domain says: this navigation entry now has a page."""
    for item in NAV:
        if item.key == key:
            item.available = True
            if path:
                item.path = path
            return
    raise KeyError(f"no navigation entry {key!r}")

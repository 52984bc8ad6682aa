"""Raise alerts in a running appliance's database from the test process (as a second writer)."""

from __future__ import annotations

from types import SimpleNamespace

from ninjait.alerts import service
from ninjait.core.db import open_database
from ninjait.core.events import EventBus
from ninjait.settings import Settings
from tests.support.appliance import Appliance


def raise_alert(app: Appliance, tenant_id: int, device_id: int, organization_id: int, *, rule: str = "test.rule",
                severity: str = "warning", title: str = "Test alert", subject: str = "") -> int:
    db = open_database(Settings(data_dir=app.data_dir, database_url=app.env.get("NINJAIT_DATABASE_URL", "")))
    try:
        alert, _ = service.trigger(SimpleNamespace(db=db, bus=EventBus()), service.Condition(  # type: ignore[arg-type]
            tenant_id=tenant_id, rule=rule, subject=subject or f"device:{device_id}", source="event", severity=severity,
            title=title, organization_id=organization_id, device_id=device_id))
        return int(alert["id"])
    finally:
        db.close()

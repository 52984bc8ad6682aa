"""Alerts in a real browser: a device goes dark, its alert appears on the open alerts page without a
reload (Server-Sent Events), the header's counter follows, and the technician acknowledges it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from ninjait.core.db import open_database
from ninjait.settings import Settings
from tests.support.appliance import Appliance
from tests.support.fake_agents import enroll
from tests.support.identity import Browser, World


def test_a_new_alert_appears_live_and_is_acknowledged(signed_in_page: Callable[..., Page],
                                                     world_app: tuple[Appliance, World], output_dir: Path) -> None:
    app, world = world_app
    admin = Browser(app).login(world.people["b-organizationadmin"])
    token = admin.post("/api/v1/enrollment-tokens", json={"site_id": world.sites["b"]}).json()["token"]
    with app.client() as client:
        enroll(client, token, "nas-01").check_in(client)
    device = next(d for d in admin.get("/api/v1/devices").json() if d["hostname"] == "nas-01")
    admin.close()

    page = signed_in_page("b-organizationadmin", "/alerts")
    expect(page.get_by_test_id("no-alerts")).to_be_visible()
    expect(page.get_by_test_id("open-alerts")).to_have_text("")

    # The device last checked in an hour ago and is already overdue: the appliance's minute task marks it
    # offline and raises the alert in its own process; the page hears of it over its event stream.
    db = open_database(Settings(data_dir=app.data_dir, database_url=app.env.get("NINJAIT_DATABASE_URL", "")))
    try:
        db.write(lambda c: c.execute("UPDATE devices SET last_seen_at = ?, status = 'overdue' WHERE id = ?",
                                     (int(time.time()) - 3600, device["id"])))
    finally:
        db.close()
    row = page.get_by_test_id("alert-row").filter(has_text="nas-01 is offline")
    expect(row).to_be_visible(timeout=90_000)
    expect(page.get_by_test_id("open-alerts")).to_have_text("1")
    page.screenshot(path=output_dir / "alerts-live.png", full_page=True)

    row.get_by_role("link", name="nas-01 is offline").click()
    page.get_by_label("Note (optional)").fill("power cut at the branch, on it")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_test_id("alert-state")).to_have_text("acknowledged")
    expect(page.get_by_test_id("alert-timeline")).to_contain_text("power cut at the branch, on it")
    expect(page.get_by_test_id("open-alerts")).to_have_text("")

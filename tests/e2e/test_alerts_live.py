"""Alerts in a real browser: a device reports a CPU past its check's threshold, the alert appears on the open
alerts page without a reload (Server-Sent Events), the header's counter follows, and the technician
acknowledges it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.support.appliance import Appliance
from tests.support.fake_agents import enroll, sample
from tests.support.identity import Browser, World


def test_a_new_alert_appears_live_and_is_acknowledged(signed_in_page: Callable[..., Page],
                                                     world_app: tuple[Appliance, World], output_dir: Path) -> None:
    app, world = world_app
    admin = Browser(app).login(world.people["b-organizationadmin"])
    token = admin.post("/api/v1/enrollment-tokens", json={"site_id": world.sites["b"]}).json()["token"]
    with app.client() as client:
        agent = enroll(client, token, "nas-01")
        agent.check_in(client)
    made = admin.post("/api/v1/checks", json={"name": "CPU hot", "kind": "cpu", "scope_kind": "tenant",
                                              "params": {"threshold": 90, "minutes": 0}, "severity": "critical"})
    assert made.status_code == 201, made.text
    admin.close()

    page = signed_in_page("b-organizationadmin", "/alerts")
    expect(page.get_by_test_id("no-alerts")).to_be_visible()
    expect(page.get_by_test_id("open-alerts")).to_have_text("")

    # The check fails in the appliance's evaluator, the alert is raised in its process, and the page hears
    # of it over its event stream.
    with app.client() as client:
        agent.check_in(client, metrics=[sample(time.time(), 99.0)])
    row = page.get_by_test_id("alert-row").filter(has_text="CPU hot failed on nas-01")
    expect(row).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("open-alerts")).to_have_text("1")
    page.screenshot(path=output_dir / "alerts-live.png", full_page=True)

    row.get_by_role("link", name="CPU hot failed on nas-01").click()
    page.get_by_label("Note (optional)").fill("power cut at the branch, on it")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_test_id("alert-state")).to_have_text("acknowledged")
    expect(page.get_by_test_id("alert-timeline")).to_contain_text("power cut at the branch, on it")
    expect(page.get_by_test_id("open-alerts")).to_have_text("")

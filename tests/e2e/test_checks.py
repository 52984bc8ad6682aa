"""Checks in a real browser: the form with a refused field, the list, and the device page's checks card."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.support.appliance import Appliance
from tests.support.fake_agents import enroll, sample
from tests.support.identity import World


def test_a_technician_creates_a_check_and_sees_it_fail_on_the_device_page(
        signed_in_page: Callable[..., Page], world_app: tuple[Appliance, World],
        allow_console_error: Callable[[str], None], output_dir: Path) -> None:
    app, world = world_app
    allow_console_error(r"status of 400 .*/checks\)$")  # the form comes back with the refused field
    page = signed_in_page("b-organizationadmin", "/checks")
    page.get_by_label("Kind of check").select_option("cpu")
    page.get_by_role("button", name="New check").click()
    page.get_by_label("Name").fill("Busy CPU")
    page.get_by_label("CPU above (%)").fill("150")
    page.get_by_label("For at least (minutes)").fill("0")
    page.get_by_role("button", name="Create check").click()
    expect(page.get_by_test_id("field-error")).to_have_text("threshold must be a number from 0 to 100")
    expect(page.get_by_label("Name")).to_have_value("Busy CPU")  # what was typed stays
    page.get_by_label("CPU above (%)").fill("80")
    page.get_by_role("button", name="Create check").click()
    expect(page.get_by_test_id("checks")).to_contain_text("Busy CPU")
    expect(page.get_by_test_id("checks")).to_contain_text("CPU above 80 %")
    page.screenshot(path=output_dir / "checks.png", full_page=True)

    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content") or ""
    token = page.request.post("/api/v1/enrollment-tokens", data={"site_id": world.sites["b"]},
                              headers={"X-CSRF-Token": csrf}).json()["token"]
    with app.client() as client:
        agent = enroll(client, token, "busy-server")
        agent.check_in(client, metrics=[sample(time.time(), 97.0)])
    device = next(d for d in page.request.get("/api/v1/devices").json() if d["hostname"] == "busy-server")
    page.goto(f"/devices/{device['id']}")
    card = page.get_by_test_id("device-checks")
    expect(card).to_contain_text("Busy CPU")
    for _ in range(20):  # the evaluator runs every 2 s; the card is read when the page loads
        if card.get_by_test_id("check-state").inner_text() == "failing":
            break
        time.sleep(0.5)
        page.reload()
        card = page.get_by_test_id("device-checks")
    expect(card.get_by_test_id("check-state")).to_have_text("failing")
    expect(card).to_contain_text("cpu_percent is 97, above 80")
    page.screenshot(path=output_dir / "device-checks.png", full_page=True)
    card.get_by_role("link", name="History").click()
    expect(page.get_by_test_id("check-results")).to_contain_text("failing")

"""Devices in a real browser: the list's search, filter and sort, and a device page with its chart."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.appliance import Appliance
from tests.support.fake_agents import enroll, inventory, sample
from tests.support.identity import Browser, World


@pytest.fixture(scope="module")
def devices(world_app: tuple[Appliance, World]) -> dict[str, int]:
    """Five devices of tenant B with inventory and an hour of CPU samples."""
    app, world = world_app
    admin = Browser(app).login(world.people["b-organizationadmin"])
    token = admin.post("/api/v1/enrollment-tokens", json={"site_id": world.sites["b"], "max_uses": 10}).json()["token"]
    now = time.time()
    with app.client() as client:
        for i, (name, soft) in enumerate([("reception-pc", "libreoffice"), ("accounts-pc", "quickbooks"),
                                          ("server-01", "postgresql"), ("laptop-ceo", "libreoffice"),
                                          ("kiosk", "chromium")]):
            agent = enroll(client, token, name)
            for start in range(0, 3600, 600):  # one check-in carrying 20 samples every 10 minutes
                agent.check_in(client, inventory=inventory(name, software=(soft,), ip=f"192.0.2.{i + 10}"),
                               metrics=[sample(now - 3600 + start + k * 30, 10.0 + (k * 7 + i * 11) % 80)
                                        for k in range(20)])
    ids = {d["hostname"]: d["id"] for d in admin.get("/api/v1/devices").json()}
    admin.close()
    return ids


def test_it_searches_filters_and_sorts_the_device_list(signed_in_page: Callable[..., Page], devices: dict[str, int],
                                                       output_dir: Path) -> None:
    page = signed_in_page("b-organizationadmin", "/devices")
    table = page.get_by_test_id("devices")
    expect(page.get_by_test_id("device-count")).to_have_text("5 devices")
    page.get_by_label("Search").fill("libreoffice")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("device-count")).to_have_text("2 devices")
    expect(table.locator("tbody tr td:nth-child(2)")).to_have_text(["laptop-ceo", "reception-pc"])
    page.get_by_role("link", name="Host name").click()  # sort by host name, descending
    expect(table.locator("tbody tr td:nth-child(2)")).to_have_text(["reception-pc", "laptop-ceo"])
    page.get_by_label("Search").fill("192.0.2.12")
    page.get_by_role("button", name="Search").click()
    expect(table.locator("tbody tr td:nth-child(2)")).to_have_text(["server-01"])
    page.screenshot(path=output_dir / "devices.png", full_page=True)


def test_a_device_page_draws_its_cpu_chart(signed_in_page: Callable[..., Page], devices: dict[str, int],
                                          output_dir: Path) -> None:
    page = signed_in_page("b-organizationadmin", f"/devices/{devices['server-01']}")
    expect(page.get_by_role("heading", name="server-01")).to_be_visible()
    expect(page.get_by_test_id("device-status")).to_have_text("online")
    chart = page.locator("#metric-chart")
    expect(chart).to_have_attribute("data-tier", "raw")
    expect(chart.locator("canvas")).to_be_visible()
    assert 100 <= int(chart.get_attribute("data-points") or 0) <= 120  # the last hour, as the page sees it
    page.get_by_role("button", name="24h").click()
    expect(chart).to_have_attribute("data-points", "120")  # every sample of the fixture
    page.get_by_label("Metric").select_option("mem_percent")
    expect(chart.locator(".u-legend")).to_contain_text("avg")
    page.screenshot(path=output_dir / "device.png", full_page=True)
    assert re.search(r"\d", page.get_by_test_id("cpu-now").inner_text())


def test_a_device_page_shows_software_and_activity_tabs(signed_in_page: Callable[..., Page], devices: dict[str, int],
                                                       output_dir: Path) -> None:
    page = signed_in_page("b-organizationadmin", f"/devices/{devices['server-01']}")
    page.get_by_test_id("tab-software").click()
    software = page.get_by_test_id("software")
    expect(software.locator("tbody tr td:first-child")).to_have_text(["postgresql"])
    page.get_by_test_id("software-filter").fill("no-such-program")  # htmx asks the server as one types
    expect(page.get_by_test_id("software")).to_contain_text("Nothing installed matches")
    page.get_by_test_id("software-filter").fill("postg")
    expect(page.get_by_test_id("software").locator("tbody tr td:first-child")).to_have_text(["postgresql"])
    page.get_by_test_id("tab-activity").click()
    expect(page.get_by_test_id("activity").get_by_text("First inventory received")).to_be_visible()
    page.get_by_test_id("tab-disks").click()
    expect(page.locator("#tab-disks")).to_contain_text("No disks reported.")
    page.screenshot(path=output_dir / "device-activity.png", full_page=True)

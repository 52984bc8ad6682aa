"""Organising devices in a real browser: tag devices from the list's action bar, filter by tag, make a
dynamic group with a live preview, filter by the group, and keep the list as a saved view."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support.appliance import Appliance
from tests.support.fake_agents import enroll, inventory
from tests.support.identity import Browser, World


@pytest.fixture(scope="module")
def fleet(world_app: tuple[Appliance, World]) -> dict[str, int]:
    """Four devices of tenant B: two Windows, two Linux."""
    app, world = world_app
    admin = Browser(app).login(world.people["b-organizationadmin"])
    token = admin.post("/api/v1/enrollment-tokens", json={"site_id": world.sites["b"], "max_uses": 10}).json()["token"]
    with app.client() as client:
        for name, os_name in (("dc-01", "Windows Server"), ("dc-02", "Windows Server"), ("web-01", "Debian GNU/Linux"),
                              ("desk-07", "Windows")):
            assert enroll(client, token, name).check_in(client, inventory=inventory(name, os_name=os_name)).status_code \
                == 200
    ids = {d["hostname"]: d["id"] for d in admin.get("/api/v1/devices").json()}
    admin.close()
    return ids


def hostnames(page: Page) -> list[str]:
    return page.get_by_test_id("devices").locator("tbody tr td:nth-child(2)").all_inner_texts()


def test_it_tags_filters_groups_and_saves_a_view(signed_in_page: Callable[..., Page], fleet: dict[str, int],
                                                 output_dir: Path) -> None:
    page = signed_in_page("b-organizationadmin", "/devices")
    expect(page.get_by_test_id("device-count")).to_have_text("4 devices")
    # Tick two devices and tag them from the action bar (htmx answers in place).
    page.get_by_label("Tick dc-01").check()
    page.get_by_label("Tick web-01").check()
    page.get_by_label("Bulk action").select_option("add_tag")
    page.get_by_label("Tag for the ticked devices").fill("Servers")
    page.get_by_role("button", name="Apply to ticked").click()
    expect(page.get_by_test_id("bulk-outcome")).to_contain_text("2 devices done")
    # Filter by the tag.
    page.goto("/devices")
    page.get_by_label("Tag", exact=True).select_option("servers")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("device-count")).to_have_text("2 devices")
    assert hostnames(page) == ["dc-01", "web-01"]
    # A dynamic group: Windows servers carrying the tag; the preview counts before saving.
    page.goto("/settings/device-groups")
    page.get_by_label("Name").fill("Tagged Windows")
    page.get_by_label("Kind").select_option("dynamic")
    page.get_by_label("Rules (JSON, dynamic groups)").fill(json.dumps({"all": [
        {"field": "os", "op": "contains", "value": "windows"}, {"field": "tag", "op": "is", "value": "servers"}]}))
    expect(page.get_by_test_id("preview")).to_contain_text("1 device match now: dc-01")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_test_id("groups")).to_contain_text("Tagged Windows")
    # Filter the list by the group, then keep it as a saved view.
    page.goto("/devices")
    page.get_by_label("Group", exact=True).select_option(label="Tagged Windows (1)")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("device-count")).to_have_text("1 device")
    assert hostnames(page) == ["dc-01"]
    page.get_by_label("Save this list as a view").fill("Windows servers")
    page.get_by_role("button", name="Save view").click()
    page.goto("/devices")
    expect(page.get_by_test_id("device-count")).to_have_text("4 devices")
    page.get_by_test_id("saved-views").get_by_role("link", name="Windows servers").click()
    expect(page.get_by_test_id("device-count")).to_have_text("1 device")
    page.screenshot(path=output_dir / "devices-by-group.png", full_page=True)


def test_it_edits_tags_and_asset_fields_on_the_device_page(signed_in_page: Callable[..., Page],
                                                          fleet: dict[str, int]) -> None:
    page = signed_in_page("b-organizationadmin", f"/devices/{fleet['desk-07']}")
    page.get_by_test_id("device-details").get_by_text("Edit").click()
    page.get_by_label("Tags (comma-separated)").fill("finance, laptops")
    page.get_by_label("Owner").fill("Dana")
    page.get_by_label("Warranty end").fill("2027-06-30")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_test_id("device-tags")).to_have_text("financelaptops")
    expect(page.get_by_test_id("device-details")).to_contain_text("Dana")
    expect(page.get_by_test_id("device-details")).to_contain_text("2027-06-30")

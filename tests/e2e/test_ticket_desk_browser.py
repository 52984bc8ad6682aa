"""The service desk in a real browser: a ticket opened elsewhere appears in the open list without a reload
(Server-Sent Events), the board moves it to another status, and the settings pages work with the keyboard."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.support.appliance import Appliance
from tests.support.identity import Browser, World


def test_the_list_follows_new_tickets_and_the_board_moves_them(signed_in_page: Callable[..., Page],
                                                              world_app: tuple[Appliance, World],
                                                              output_dir: Path) -> None:
    app, world = world_app
    page = signed_in_page("b-technician", "/tickets")
    expect(page.get_by_test_id("ticket-count")).to_be_visible()
    expect(page.locator('[sse-connect="/tickets/stream"][data-live="connected"]')).to_be_attached()

    colleague = Browser(app).login(world.people["b-organizationadmin"])
    try:
        made = colleague.post("/api/v1/tickets", json={"subject": "Wi-Fi drops in the warehouse",
                                                       "organization_id": world.orgs["b"], "priority": "P2"})
        assert made.status_code == 201, made.text
        hidden = colleague.post("/api/v1/tickets", json={"subject": "Should stay out of view",
                                                         "organization_id": world.orgs["b"], "priority": "P3"}).json()
    finally:
        colleague.close()
    row = page.get_by_test_id("ticket-row").filter(has_text="Wi-Fi drops in the warehouse")
    expect(row).to_be_visible(timeout=15_000)
    page.screenshot(path=output_dir / "tickets-live.png", full_page=True)

    page.get_by_test_id("board-link").click()
    card = page.get_by_test_id("board-card").filter(has_text="Wi-Fi drops in the warehouse")
    expect(card).to_be_visible()
    card.get_by_label(f"Move {made.json()['number']} to").select_option(label="Waiting on vendor")
    card.get_by_role("button", name="Move").click()
    column = page.locator('[data-status="Waiting on vendor"]')
    expect(column.get_by_test_id("board-card").filter(has_text="Wi-Fi drops in the warehouse")).to_be_visible()
    expect(page.locator('[data-status="New"]')).to_contain_text(hidden["subject"])
    page.screenshot(path=output_dir / "tickets-board.png", full_page=True)


def test_an_admin_adds_a_status_and_an_sla_policy_in_the_pages(signed_in_page: Callable[..., Page],
                                                               output_dir: Path) -> None:
    page = signed_in_page("b-organizationadmin", "/settings/service-desk")
    page.get_by_label("New status").fill("Scheduled visit")
    page.get_by_label("Type", exact=True).select_option("pending")
    page.get_by_role("button", name="Add").click()
    expect(page.locator("input[value='Scheduled visit']")).to_be_visible()

    page.goto(page.url.split("/settings/")[0] + "/settings/sla")
    page.get_by_label("New calendar").fill("Office hours")
    page.get_by_label("Time zone").fill("Europe/London")
    page.get_by_role("button", name="Add calendar").click()
    expect(page.get_by_test_id("calendar-edit")).to_be_visible()
    expect(page.get_by_label("Monday")).to_have_value("09:00-17:00")
    page.goto(page.url.split("/settings/")[0] + "/settings/sla")
    page.get_by_label("New policy").fill("Standard")
    page.get_by_label("P1 first response").fill("30m")
    page.get_by_label("P1 resolution").fill("4h")
    page.get_by_role("button", name="Add policy").click()
    expect(page.get_by_test_id("policy-row")).to_contain_text("30m")
    expect(page.get_by_test_id("policy-row")).to_contain_text("4h")
    page.screenshot(path=output_dir / "sla-settings.png", full_page=True)


def test_a_technician_inserts_a_knowledge_base_article_into_a_reply(signed_in_page: Callable[..., Page],
                                                                    world_app: tuple[Appliance, World]) -> None:
    app, world = world_app
    staff = Browser(app).login(world.people["b-organizationadmin"])
    try:
        staff.post("/api/v1/kb/articles", json={"title": "Map a network drive",
                                                "body": "Open Explorer, choose *Map network drive*, enter the path."})
        ticket = staff.post("/api/v1/tickets", json={"subject": "Cannot map the network drive",
                                                     "organization_id": world.orgs["b"]}).json()
    finally:
        staff.close()
    page = signed_in_page("b-technician", f"/tickets/{ticket['id']}")
    results = page.get_by_test_id("kb-results")
    expect(results).to_contain_text("Map a network drive")  # suggested from the subject
    results.get_by_role("button", name="Insert into reply").click()
    expect(page.get_by_label("Reply")).to_have_value(re.compile(r"Map a network drive\s+Open Explorer"))
    page.get_by_role("searchbox", name="Search articles").fill("explorer path")
    expect(results).to_contain_text("Map a network drive")
    results.get_by_role("button", name="Link").click()
    expect(page.get_by_test_id("ticket-articles")).to_contain_text("Map a network drive")

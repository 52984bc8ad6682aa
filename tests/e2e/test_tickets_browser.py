"""A ticket in a real browser: a technician opens one with the form, replies, logs time, and closes it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.support.appliance import Appliance
from tests.support.identity import World


def test_open_reply_and_close_a_ticket(signed_in_page: Callable[..., Page], world_app: tuple[Appliance, World],
                                       output_dir: Path) -> None:
    page = signed_in_page("a-technician", "/tickets")
    expect(page.get_by_test_id("no-tickets")).to_be_visible()
    page.get_by_test_id("new-ticket").click()
    page.get_by_label("Subject").fill("Scanner does not send e-mail")
    page.get_by_label("Organization").select_option(label="Customer A")
    page.get_by_label("Priority").select_option("P2")
    page.get_by_label("Description").fill("Since the mail password changed.")
    page.get_by_role("button", name="Open ticket").click()
    expect(page.get_by_test_id("ticket-status")).to_have_text("New")

    page.get_by_label("Reply").fill("Updated the scanner's SMTP password.")
    page.get_by_role("button", name="Add").click()
    expect(page.get_by_test_id("comment")).to_contain_text("Updated the scanner's SMTP password.")

    page.get_by_label("Minutes").fill("25")
    page.get_by_label("Note").fill("remote session")
    page.get_by_role("button", name="Log time").click()
    expect(page.get_by_test_id("time-total")).to_contain_text("25 min, 25 billable")
    expect(page.get_by_test_id("timeline-time")).to_contain_text("25 min remote · remote session")

    page.get_by_label("Status").select_option(label="Closed")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("ticket-status")).to_have_text("Closed")
    expect(page.get_by_test_id("ticket-timeline")).to_contain_text("New → Closed")
    page.screenshot(path=output_dir / "ticket-closed.png", full_page=True)

    page.goto(page.url.split("/tickets/")[0] + "/tickets?view=all")
    expect(page.get_by_test_id("ticket-row").filter(has_text="Scanner does not send e-mail")).to_contain_text("Closed")

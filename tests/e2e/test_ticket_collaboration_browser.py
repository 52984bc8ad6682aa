"""Ticket collaboration in a real browser: attach a file, link and merge two tickets, find one by a word of a
comment."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.support.appliance import Appliance
from tests.support.identity import World


def _open(page: Page, subject: str) -> str:
    page.goto(page.url.split("/tickets")[0] + "/tickets/new")
    page.get_by_label("Subject").fill(subject)
    page.get_by_label("Organization").select_option(label="Customer A")
    page.get_by_role("button", name="Open ticket").click()
    expect(page.get_by_test_id("ticket-status")).to_have_text("New")
    return page.title().split(" ")[0]  # the number, e.g. T-1001


def test_attach_link_merge_and_search(signed_in_page: Callable[..., Page], world_app: tuple[Appliance, World],
                                      output_dir: Path) -> None:
    page = signed_in_page("a-technician", "/tickets")
    survivor = _open(page, "Outlook asks for the password")
    _open(page, "Mail password prompt again")
    page.get_by_label("Reply").fill("Cleared the credential manager entry")
    page.get_by_role("button", name="Add").click()
    notes = output_dir / "notes.txt"
    notes.write_text("steps taken\n")
    page.get_by_label("File to attach").set_input_files(str(notes))
    page.get_by_role("button", name="Attach", exact=True).click()
    expect(page.get_by_test_id("attachment")).to_contain_text("notes.txt")

    page.get_by_label("Ticket number", exact=True).fill(survivor)
    page.get_by_label("It is this ticket's").select_option("related")
    page.get_by_role("button", name="Link", exact=True).click()
    expect(page.get_by_test_id("link")).to_contain_text(survivor)

    page.get_by_label("Merge into ticket number").fill(survivor)
    page.get_by_role("button", name="Merge", exact=True).click()
    expect(page).to_have_title(re.compile(f"^{survivor} Outlook asks for the password"))
    expect(page.get_by_test_id("attachment")).to_contain_text("notes.txt")
    expect(page.get_by_test_id("ticket-timeline")).to_contain_text("Cleared the credential manager entry")
    page.screenshot(path=output_dir / "merged.png", full_page=True)

    page.goto(page.url.split("/tickets")[0] + "/tickets")
    page.get_by_test_id("ticket-search").fill("credential manag")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("ticket-row")).to_have_count(1)
    expect(page.get_by_test_id("snippet")).to_contain_text("credential")

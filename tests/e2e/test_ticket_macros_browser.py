"""A macro in a real browser: an admin sets up a canned response and a macro on the desk set-up page, then on a
ticket inserts the canned response into the reply box and applies the macro in one click."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.support.appliance import Appliance
from tests.support.identity import World


def test_insert_a_canned_response_and_apply_a_macro(signed_in_page: Callable[..., Page],
                                                    world_app: tuple[Appliance, World], output_dir: Path) -> None:
    page = signed_in_page("b-organizationadmin", "/tickets/desk")
    canned = page.get_by_test_id("canned-form")
    canned.get_by_label("Title").fill("Waiting for you")
    canned.get_by_label("Text").fill("Hello, {{ ticket.number }} waits for your answer.")
    canned.get_by_role("button", name="Add canned response").click()
    expect(page.get_by_test_id("canned")).to_contain_text("Waiting for you")

    macro = page.get_by_test_id("macro-create")
    macro.get_by_label("Macro name").fill("Wait for customer")
    macro.get_by_label("Set status").select_option(label="Waiting on customer")
    macro.get_by_label("Set priority").select_option("P2")
    macro.get_by_label("Add a").select_option("note")
    macro.get_by_label("Or its own text").fill("Asked the customer on {{ ticket.number }}.")
    macro.get_by_role("button", name="Add macro").click()
    expect(page.get_by_test_id("macro")).to_contain_text("Wait for customer")

    page.goto(page.url.split("/tickets/")[0] + "/tickets/new")
    page.get_by_label("Subject").fill("Printer offline")
    page.get_by_label("Organization").select_option(label="Customer B")
    page.get_by_role("button", name="Open ticket").click()
    expect(page.get_by_test_id("ticket-status")).to_have_text("New")
    number = page.title().split(" ")[0]

    page.get_by_role("button", name="Insert canned response").click()
    expect(page.get_by_test_id("reply-body")).to_have_value(f"Hello, {number} waits for your answer.")

    page.get_by_test_id("macro-form").get_by_role("button", name="Apply macro").click()
    expect(page.get_by_test_id("ticket-status")).to_have_text("Waiting on customer")
    expect(page.get_by_test_id("comment")).to_contain_text(f"Asked the customer on {number}.")
    expect(page.get_by_test_id("ticket-timeline")).to_contain_text("P3 → P2")
    page.screenshot(path=output_dir / "macro-applied.png", full_page=True)

"""Settings → Users in a real browser: an Organization Admin creates a Technician limited to one
organization, who then sees only that organization."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.support.identity import Person


def test_it_creates_a_technician_limited_to_one_organization(signed_in_page: Callable[..., Page],
                                                             output_dir: Path) -> None:
    page = signed_in_page("a-organizationadmin")
    page.get_by_role("link", name="Settings", exact=True).click()
    expect(page.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
    page.get_by_role("link", name=re.compile(r"^Users\b")).click()
    expect(page).to_have_url(re.compile(r"/settings/users$"))
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()

    newcomer = Person("new.tech@msp-a.test", password="copper kettle singing 7 bridges")
    page.get_by_label("E-mail address").fill(newcomer.email)
    page.get_by_label("Name", exact=True).fill("New Tech")
    page.get_by_label("Initial password").fill(newcomer.password)
    page.get_by_label("Technician", exact=True).check()
    page.get_by_label("Customer A", exact=True).check()
    page.screenshot(path=output_dir / "1-users-form.png", full_page=True)
    page.get_by_role("button", name="Create user").click()

    expect(page).to_have_url(re.compile(r"/settings/users\?msg=user-created$"))
    expect(page.get_by_role("status")).to_have_text("User created.")
    row = page.get_by_test_id("users").locator("tbody tr").filter(has_text=newcomer.email)
    expect(row.locator("td")).to_have_text([newcomer.email, "New Tech", "Technician (Customer A)", "off", "active"])
    page.screenshot(path=output_dir / "2-users-list.png", full_page=True)

    # The new user, in a browser of their own: tenant A asks no second factor, one organization is theirs.
    theirs = signed_in_page(newcomer, "/settings/organizations")
    expect(theirs.get_by_test_id("user-menu")).to_have_text("New Tech")
    expect(theirs.get_by_test_id("organizations").locator("tbody tr td:first-child")).to_have_text(["Customer A"])
    theirs.screenshot(path=output_dir / "3-new-user-organizations.png", full_page=True)

"""The web shell in a real browser, signed in: themes, navigation, error page, narrow screens.

No console errors is checked for every page by the conftest. Every page here signs in
first (tenant B's Organization Admin, no second factor): the home page needs it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e

NAV_LABELS = ["Devices", "Checks", "Alerts", "Automation", "Patching", "Tickets", "Billing", "Reports", "Settings"]
TRANSPARENT = "rgba(0, 0, 0, 0)"
TOP_ROW = {"brand": ".navbar-brand", "user": "[data-testid=user-menu]", "toggle": "#theme-toggle"}


def body_background(page: Page) -> str:
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


def expect_shell(page: Page) -> None:
    """The layout every signed-in page shares: brand, the full navigation, the user menu, the theme toggle,
    the footer."""
    expect(page.locator(".navbar-brand")).to_have_text("NinjaIT")
    expect(page.locator("#main-nav .nav-link")).to_have_text(NAV_LABELS)
    expect(page.get_by_test_id("user-menu")).to_have_text("Organization Admin")
    expect(page.locator("#theme-toggle")).to_be_visible()
    expect(page.locator("footer")).to_contain_text("NinjaIT")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_auto_theme_follows_the_os(signed_in_page: Callable[..., Page], scheme: str) -> None:
    page = signed_in_page(color_scheme=scheme)
    response = page.goto("/")
    assert response is not None and response.status == 200
    html = page.locator("html")
    expect(html).to_have_attribute("data-theme-choice", "auto")
    expect(html).to_have_attribute("data-bs-theme", scheme)
    expect(page.locator("#theme-toggle")).to_have_text("Auto")


def test_home_renders_in_both_themes(signed_in_page: Callable[..., Page], output_dir: Path) -> None:
    backgrounds = {}
    for scheme in ("light", "dark"):
        page = signed_in_page(color_scheme=scheme)
        expect(page).to_have_title("Dashboard · NinjaIT")
        expect(page.locator("h1.page-title")).to_have_text("Dashboard")
        expect_shell(page)
        expect(page.locator("[data-testid=db-backend]")).not_to_be_empty()
        # The vendored scripts really ran under the CSP (script-src 'self').
        assert page.evaluate("typeof window.htmx") == "object"
        assert page.evaluate("typeof window.tabler") == "object"
        heights = {box["height"] for box in page.locator(".row-cards > div > .card").evaluate_all(
            "cards => cards.map(card => card.getBoundingClientRect().toJSON())")}
        assert len(heights) == 1, f"the status cards of one row differ in height: {heights}"
        backgrounds[scheme] = body_background(page)
        shot = output_dir / f"{scheme}.png"
        page.screenshot(path=shot, full_page=True)
        assert shot.exists() and shot.stat().st_size > 0
    # Tabler's stylesheet applied: a painted body, different in each theme.
    assert TRANSPARENT not in backgrounds.values(), backgrounds
    assert backgrounds["light"] != backgrounds["dark"], backgrounds


def test_theme_toggle_cycles_and_persists(signed_in_page: Callable[..., Page]) -> None:
    page = signed_in_page(color_scheme="light")
    html, toggle = page.locator("html"), page.locator("#theme-toggle")
    expect(toggle).to_have_text("Auto")
    light_background = body_background(page)

    steps = [("light", "Light", "light"), ("dark", "Dark", "dark"), ("auto", "Auto", "light")]
    for choice, label, theme in steps:
        toggle.click()
        expect(toggle).to_have_text(label)
        expect(html).to_have_attribute("data-theme-choice", choice)
        expect(html).to_have_attribute("data-bs-theme", theme)
        assert page.evaluate("localStorage.getItem('ninjait-theme')") == choice

    # Pick dark again; it survives a reload (localStorage), against a light OS.
    toggle.click()
    toggle.click()
    expect(html).to_have_attribute("data-bs-theme", "dark")
    page.reload()
    expect(html).to_have_attribute("data-theme-choice", "dark")
    expect(html).to_have_attribute("data-bs-theme", "dark")
    expect(toggle).to_have_text("Dark")
    assert body_background(page) != light_background


def test_auto_theme_switches_when_the_os_does(signed_in_page: Callable[..., Page]) -> None:
    page = signed_in_page(color_scheme="light")
    html = page.locator("html")
    expect(html).to_have_attribute("data-bs-theme", "light")
    page.emulate_media(color_scheme="dark")
    expect(html).to_have_attribute("data-bs-theme", "dark")


def test_not_found_page_uses_the_layout(signed_in_page: Callable[..., Page],
                                        allow_console_error: Callable[[str], None], output_dir: Path) -> None:
    page = signed_in_page()
    # Chromium logs the 404 of the document itself as a console error; that one is expected.
    allow_console_error(r"Failed to load resource: the server responded with a status of 404 .*/no-such-page\)$")
    response = page.goto("/no-such-page")
    assert response is not None and response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    expect(page).to_have_title("404 Page not found · NinjaIT")
    expect(page.locator("h1.page-title")).to_have_text("Page not found")
    expect(page.locator(".empty-header")).to_have_text("404")
    expect_shell(page)
    page.screenshot(path=output_dir / "not-found.png", full_page=True)
    page.get_by_role("link", name="Back to the dashboard").click()
    expect(page).to_have_title("Dashboard · NinjaIT")


def test_navbar_collapses_on_a_phone(signed_in_page: Callable[..., Page], output_dir: Path) -> None:
    page = signed_in_page(viewport={"width": 375, "height": 812}, color_scheme="light")
    toggler = page.locator(".navbar-toggler")
    expect(toggler).to_be_visible()
    expect(page.locator("#main-nav")).to_be_hidden()
    expect(page.locator("#theme-toggle")).to_be_visible()
    # Nothing sticks out sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=output_dir / "narrow.png", full_page=True)
    top_row = {name: page.locator(sel).bounding_box() for name, sel in TOP_ROW.items()}
    # One row, left to right: a long user name is cut short rather than pushing the toggle to a second line.
    middles = {name: box["y"] + box["height"] / 2 for name, box in top_row.items()}
    assert max(middles.values()) - min(middles.values()) < 4, top_row
    assert top_row["brand"]["x"] < top_row["user"]["x"] < top_row["toggle"]["x"], top_row

    toggler.click()  # Tabler's (Bootstrap's) collapse opens the menu
    expect(toggler).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#main-nav")).to_have_class(re.compile(r"\bshow\b"))  # the slide-down has finished
    expect(page.get_by_text("Settings", exact=True)).to_be_visible()
    page.screenshot(path=output_dir / "narrow-open.png", full_page=True)
    # Opening the menu leaves the top row alone: brand, user menu and theme toggle stay put, the menu opens below.
    assert {name: page.locator(sel).bounding_box() for name, sel in TOP_ROW.items()} == top_row
    assert page.locator("#main-nav").bounding_box()["y"] >= top_row["toggle"]["y"] + top_row["toggle"]["height"]

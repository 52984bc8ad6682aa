"""Signing in and out in a real browser: password + TOTP, the forced first enrolment, a wrong password,
a forgotten password reset through the mailed link.

Screenshots of every step land in test-output/e2e/<test>/.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from ninjait.core import runtime as rt_mod
from ninjait.identity import authn
from ninjait.identity.http import SESSION_COOKIE
from ninjait.settings import Settings
from tests.support.appliance import Appliance
from tests.support.identity import PASSWORD, World, fresh_code
from tests.support.smtp import Mailbox

LOGIN_URL = re.compile(r"/login\?next=%2F$")


def fill_login(page: Page, email: str, password: str) -> None:
    page.get_by_label("E-mail address").fill(email)
    page.locator("#password").fill(password)


def session_cookies(page: Page) -> list[dict]:
    return [c for c in page.context.cookies() if c["name"] == SESSION_COOKIE]


def new_super_admin_signs_in(new_page: Callable[..., Page], app: Appliance, email: str, name: str) -> Page:
    """A Super Admin made as `ninjait user create --super-admin` makes one (straight into the running
    appliance's storage, no MFA yet) signs in with the password: they land on the MFA set-up."""
    runtime = rt_mod.start(Settings(data_dir=app.data_dir, database_url=app.env.get("NINJAIT_DATABASE_URL", "")))
    try:
        authn.create_super_admin(runtime, email, PASSWORD, name, "MSP C", "msp-c")
    finally:
        rt_mod.stop()
    page = new_page()
    page.goto("/login")
    fill_login(page, email, PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(re.compile(r"/account/mfa/setup\?required=1$"))
    return page


def test_it_signs_in_with_a_totp_code_and_out_again(new_page: Callable[..., Page], world: World,
                                                   output_dir: Path) -> None:
    root = world.people["root"]
    page = new_page()
    page.goto("/")
    expect(page).to_have_url(LOGIN_URL)  # the dashboard needs a signed-in user
    expect(page.get_by_role("heading", name="Sign in to NinjaIT")).to_be_visible()
    fill_login(page, root.email, root.password)
    page.screenshot(path=output_dir / "1-login.png", full_page=True)
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page).to_have_url(re.compile(r"/login/mfa\?next=%2F$"))
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    expect(page.get_by_test_id("user-menu")).to_have_count(0)  # the password alone signs nobody in
    page.get_by_label("Code").fill(fresh_code(root.totp_secret or ""))
    page.screenshot(path=output_dir / "2-mfa.png", full_page=True)
    page.get_by_role("button", name="Verify").click()

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page).to_have_title("Dashboard · NinjaIT")
    menu = page.get_by_test_id("user-menu")
    expect(menu).to_have_text("Root")
    menu.click()
    expect(page.locator(".dropdown-menu.show .dropdown-header")).to_have_text(root.email)
    page.screenshot(path=output_dir / "3-dashboard-menu.png", full_page=True)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    assert session_cookies(page) == []
    page.goto("/")
    expect(page).to_have_url(LOGIN_URL)
    page.screenshot(path=output_dir / "4-signed-out.png", full_page=True)


def test_it_makes_a_new_super_admin_set_up_mfa_first(new_page: Callable[..., Page], appliance: Appliance,
                                                     output_dir: Path) -> None:
    page = new_super_admin_signs_in(new_page, appliance, "first@msp-c.test", "First Admin")
    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    expect(page.get_by_text("Your account needs a second factor")).to_be_visible()
    qr = page.get_by_test_id("totp-qr").locator("svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None and 150 <= box["width"] <= 260 and abs(box["width"] - box["height"]) < 2, box
    secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    page.screenshot(path=output_dir / "1-enrol.png", full_page=True)
    # Until the second factor is set up, nothing else opens.
    assert page.request.get("/settings", max_redirects=0).status == 303

    page.get_by_label("Code from the app").fill(fresh_code(secret))
    page.get_by_role("button", name="Turn on two-factor authentication").click()

    codes = page.get_by_test_id("backup-codes").locator("li")
    expect(codes).to_have_count(10)
    texts = codes.all_inner_texts()
    assert len(set(texts)) == 10 and all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", t) for t in texts), texts
    page.screenshot(path=output_dir / "2-backup-codes.png", full_page=True)
    page.get_by_role("link", name="I have stored them — continue").click()

    expect(page).to_have_title("Dashboard · NinjaIT")
    expect(page.get_by_test_id("user-menu")).to_have_text("First Admin")
    page.screenshot(path=output_dir / "3-dashboard.png", full_page=True)


def test_it_refuses_a_wrong_password(new_page: Callable[..., Page], world: World,
                                     allow_console_error: Callable[[str], None], output_dir: Path) -> None:
    # Chromium logs the 401 of the page itself as a console error; that one is expected.
    allow_console_error(r"Failed to load resource: the server responded with a status of 401 .*/login\)$")
    person = world.people["a-technician"]
    page = new_page()
    page.goto("/login")
    fill_login(page, person.email, "not the password at all")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/login")) as answer:
        page.get_by_role("button", name="Sign in", exact=True).click()
    assert answer.value.status == 401

    expect(page.get_by_test_id("error")).to_have_text("wrong e-mail address or password")
    expect(page.get_by_label("E-mail address")).to_have_value(person.email)  # kept, to fix a typo
    expect(page.locator("#password")).to_have_value("")
    page.screenshot(path=output_dir / "wrong-password.png", full_page=True)
    assert session_cookies(page) == []
    page.goto("/")
    expect(page).to_have_url(LOGIN_URL)


def test_it_lets_a_forced_enrolment_sign_out(new_page: Callable[..., Page], appliance: Appliance) -> None:
    page = new_super_admin_signs_in(new_page, appliance, "second@msp-c.test", "Second Admin")
    page.get_by_role("button", name="Cancel and sign out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    assert session_cookies(page) == []


def test_it_resets_a_forgotten_password_from_the_mailed_link(new_page: Callable[..., Page], world: World,
                                                             mailbox: Mailbox, output_dir: Path,
                                                             allow_console_error: Callable[[str], None]) -> None:
    # The refused weak password answers 400; Chromium logs that page's status as a console error.
    allow_console_error(r"Failed to load resource: the server responded with a status of 400 .*/reset-password\)$")
    person = world.people["b-technician"]
    page = new_page()
    page.goto("/login")
    page.get_by_role("link", name="Forgot it?").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    page.get_by_label("E-mail address").fill(person.email)
    page.get_by_role("button", name="Send a reset link").click()
    expect(page.get_by_test_id("reset-sent")).to_contain_text("a reset link is on its way")
    page.screenshot(path=output_dir / "1-link-sent.png", full_page=True)

    body = mailbox.wait_for(lambda m: m["To"] == person.email).get_content()
    link = re.search(r"https://\S+/reset-password\?token=[\w-]+", body)
    assert link, body
    page.goto(link.group(0))  # as mailed: https://localhost:<port>/...
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    page.get_by_label("New password").fill("technician technician")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_test_id("error")).to_contain_text("password is too weak")
    page.screenshot(path=output_dir / "2-weak-password.png", full_page=True)

    new_password = "saffron glacier 88 whistling kites"
    page.get_by_label("New password").fill(new_password)
    page.get_by_role("button", name="Change password").click()
    expect(page).to_have_url(re.compile(r"/login\?msg=password-reset$"))
    expect(page.get_by_role("status")).to_have_text("Your password was changed. Sign in with the new one.")
    page.screenshot(path=output_dir / "3-changed.png", full_page=True)
    fill_login(page, person.email, new_password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_title("Dashboard · NinjaIT")

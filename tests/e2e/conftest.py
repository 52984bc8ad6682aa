"""Browser tests: the real appliance driven by Debian's Chromium through Playwright.

Every page made here (the `page` fixture or `new_page(...)`) records console errors
and uncaught page errors; the test fails at teardown if there were any, so each e2e
test also checks "no console errors". A test that expects a particular error says so
with `allow_console_error(regex)`.

Chromium is the system one (/usr/bin/chromium); `playwright install` is never needed.

Each test module gets one appliance seeded with the world of tests/support/identity.py
(tenants A and B, staff of every role, password PASSWORD; tenant B does not require MFA).
`sign_in(page, person)` goes through the real login form; `signed_in_page(...)` makes a
new page and does that first.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Error, Page, expect, sync_playwright

from tests.support.appliance import ROOT, Appliance
from tests.support.identity import Person, World, fresh_code, start_world
from tests.support.smtp import Mailbox

CHROMIUM = Path("/usr/bin/chromium")
# The machine has no network: keep Chromium from reaching out (updates, sync, QUIC probes).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUTPUT_ROOT = ROOT / "test-output" / "e2e"
# Tenant B's Organization Admin: every navigation entry, and no second factor to type.
DEFAULT_PERSON = "b-organizationadmin"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Everything under tests/e2e/ is an e2e test (a conftest's pytestmark would not reach the modules).
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)


_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # Remembered so the page fixture can screenshot a failing test's pages before closing them.
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (Debian's chromium package)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def output_dir(request: pytest.FixtureRequest) -> Path:
    """test-output/e2e/<test name>/, emptied at the start of the test (screenshots go here)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", request.node.name).strip("_")
    folder = OUTPUT_ROOT / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


class _Problems:
    """Console errors and uncaught exceptions seen by the pages of one test."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.allowed: list[re.Pattern[str]] = []

    def watch(self, page: Page, label: str) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                where = message.location.get("url", "")
                self.seen.append(f"[{label}] console error: {message.text} ({where})")

        def on_page_error(error: Error) -> None:
            self.seen.append(f"[{label}] page error: {error.message}")

        page.on("console", on_console)
        page.on("pageerror", on_page_error)

    def unexpected(self) -> list[str]:
        return [line for line in self.seen if not any(p.search(line) for p in self.allowed)]


@pytest.fixture
def _problems() -> _Problems:
    return _Problems()


@pytest.fixture
def allow_console_error(_problems: _Problems) -> Callable[[str], None]:
    """allow_console_error(regex): this test expects a console error matching regex."""
    return lambda pattern: _problems.allowed.append(re.compile(pattern))


@pytest.fixture
def new_page(browser: Browser, appliance: Appliance, _problems: _Problems, output_dir: Path,
             request: pytest.FixtureRequest) -> Iterator[Callable[..., Page]]:
    """new_page(**context_options) -> a Page in a fresh context (own localStorage), base_url = the appliance.

    Options are Playwright's new_context ones, e.g. color_scheme="dark", viewport={...}.
    """
    contexts: list[BrowserContext] = []
    pages: list[Page] = []

    def make(**options: Any) -> Page:
        options.setdefault("ignore_https_errors", True)  # the appliance's self-signed certificate
        options.setdefault("base_url", appliance.url)
        context = browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        _problems.watch(page, f"page {len(pages) + 1}" + (f" {options['color_scheme']}" if "color_scheme" in options else ""))
        pages.append(page)
        return page

    yield make

    failed = any(r.failed for r in request.node.stash.get(_REPORTS, {}).values())
    for number, page in enumerate(pages, 1):
        if failed and not page.is_closed():
            try:
                page.screenshot(path=output_dir / f"failure-page{number}.png", full_page=True)
            except Error:
                pass
    for context in contexts:
        context.close()
    problems = _problems.unexpected()
    if problems:
        pytest.fail("the browser reported errors:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    """A page in a default (light, 1280x720) context on the running appliance."""
    return new_page()


# --- a seeded appliance and signing in ------------------------------------------------------

@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    """The SMTP server the module's appliance sends its mail to."""
    with Mailbox() as box:
        yield box


@pytest.fixture(scope="module")
def world_app(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest,
              mailbox: Mailbox) -> Iterator[tuple[Appliance, World]]:
    """One appliance per test module with the two seeded tenants (A and B), mailing to `mailbox`."""
    from tests.conftest import BACKEND

    database_url = request.getfixturevalue("pg_server").new_database() if BACKEND == "postgresql" else ""
    app, world = start_world(tmp_path_factory.mktemp("world") / "data", database_url, mailbox.settings_env())
    yield app, world
    app.stop()


@pytest.fixture
def appliance(world_app: tuple[Appliance, World]) -> Appliance:
    """Pages open on the module's seeded appliance (instead of the empty one of tests/conftest.py)."""
    return world_app[0]


@pytest.fixture
def world(world_app: tuple[Appliance, World]) -> World:
    return world_app[1]


def sign_in(page: Page, person: Person, next_path: str = "/") -> None:
    """Sign in through the login form, and the code page when the person has TOTP; waits for `next_path`."""
    page.goto(f"/login?next={quote(next_path, safe='')}")
    page.get_by_label("E-mail address").fill(person.email)
    page.locator("#password").fill(person.password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    if person.totp_secret:
        expect(page).to_have_url(re.compile(r"/login/mfa\b"))
        page.get_by_label("Code").fill(fresh_code(person.totp_secret))
        page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(re.escape(next_path) + "$"))


@pytest.fixture
def signed_in_page(new_page: Callable[..., Page], world: World) -> Callable[..., Page]:
    """signed_in_page(who=DEFAULT_PERSON, next_path="/", **context_options) -> a new Page (own context),
    signed in as `who` (a key of world.people, or a Person) and showing `next_path`."""
    def make(who: str | Person = DEFAULT_PERSON, next_path: str = "/", **options: Any) -> Page:
        page = new_page(**options)
        sign_in(page, world.people[who] if isinstance(who, str) else who, next_path)
        return page

    return make

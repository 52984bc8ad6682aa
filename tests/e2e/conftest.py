"""Browser tests: the real appliance driven by Debian's Chromium through Playwright.

Every page made here (the `page` fixture or `new_page(...)`) records console errors
and uncaught page errors; the test fails at teardown if there were any, so each e2e
test also checks "no console errors". A test that expects a particular error says so
with `allow_console_error(regex)`.

Chromium is the system one (/usr/bin/chromium); `playwright install` is never needed.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Error, Page, sync_playwright

from tests.support.appliance import ROOT, Appliance

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

"""Fixtures of the browser tests: one real `suz serve` process and Debian's headless chromium for
the package, and fresh browser contexts for each test.

Both end with the package's last test: Playwright's synchronous API runs an asyncio loop in the
main thread while it is open, and the tests after these (asyncio.run) need that thread free.

One server serves every browser test, on SQLite only: the tests exercise the pages, the live
channel and presence, which do not depend on the store (the API and end-to-end tests run on both
stores); a second backend would double the runtime for nothing the pages could show. Each test
files its own requests, so the tests do not depend on each other or on their order.

Without chromium the tests skip locally, saying why; in CI (CI=true) they fail instead.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.browser.site import (
    CHROMIUM,
    LIVE,
    DeskSite,
    People,
    launch,
    open_desk,
    save_pages,
)
from tests.conftest import IN_CI


@pytest.fixture(scope="package")
def desk_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskSite]:
    with open_desk(tmp_path_factory.mktemp("browser")) as site:
        yield site


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = (f"chromium is not installed at {CHROMIUM}: `./scripts/test` installs Debian's "
                   "`chromium` package (or set SUZ_CHROMIUM to a chromium binary)")  # fmt: skip
        if IN_CI:
            pytest.fail(f"The browser tests must run in CI: {message}")
        pytest.skip(message)
    expect.set_options(timeout=LIVE)  # every expectation may wait that long on a loaded machine
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def people(
    browser: Browser, desk_site: DeskSite, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[People]:
    """Browser contexts for one test. A test passes only if its pages had no JavaScript or htmx
    errors; a failed test leaves each page's screenshot and HTML."""
    crowd = People(browser, desk_site)
    yield crowd
    failed = getattr(request.node, "failed_call", False)
    if failed:
        save_pages(crowd.contexts, tmp_path)
        print(desk_site.server.output()[-5000:])
    crowd.close()
    assert failed or not crowd.errors, f"JavaScript errors: {crowd.errors}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call" and (report.failed or hasattr(report, "wasxfail")):
        item.failed_call = True  # type: ignore[attr-defined]
    return report

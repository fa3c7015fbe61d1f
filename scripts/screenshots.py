"""Saves screenshots of the main pages to docs/screenshots/ (the README shows them).

    python -m scripts.screenshots [--out DIR] [--lang ru|en]

Loads the demo desk into a temporary store, serves it on a free port and photographs each page
in Debian's headless chromium (driven by Playwright, as the browser tests do), signed in as the
demo person each page is for. Run it by hand when the pages change; the tests never rewrite the
pictures.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from domain.demo import demo_password

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("SUZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]  # fmt: skip
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
LOCALES = {"ru": "ru-RU", "en": "en-US"}


def _suz(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "suz.cli", *args], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def demo_desk(data: Path) -> Iterator[str]:
    """The demo desk on a temporary SQLite store, served on a free port; its base URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUZ_")}
    env |= {"SUZ_DATA_DIR": str(data), "SUZ_MODE": "demo", "PYTHONUNBUFFERED": "1"}
    _suz(env, "migrate")
    _suz(env, "demo", "--small")  # the pictures show the few stories of today
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with (data / "serve.log").open("wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "suz.cli", "serve", "--port",
                                   str(port)], env=env, cwd=ROOT, stdout=log,
                                  stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit((data / "serve.log").read_text(errors="replace"))
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(15)


class Camera:
    """Opens pages as a demo person (or nobody) and saves their pictures."""

    def __init__(self, browser: Browser, url: str, out: Path, locale: str) -> None:
        self.browser, self.url, self.out, self.locale = browser, url, out, locale

    def page(self, login: str | None = None) -> Page:
        context = self.browser.new_context(base_url=self.url, locale=self.locale,
                                           viewport=VIEWPORT)  # fmt: skip
        context.set_default_timeout(15_000)
        page = context.new_page()
        if login:
            page.goto("/login")
            page.locator("#login").fill(login)
            page.locator("#password").fill(demo_password(login))
            page.locator("form[action='/login'] button[type=submit]").click()
            page.wait_for_url(lambda u: "/login" not in u)
        return page

    def shoot(
        self,
        name: str,
        login: str | None,
        path: str,
        prepare: Callable[[Page], None] | None = None,
        full: bool = False,
    ) -> None:
        page = self.page(login)
        response = page.goto(path)
        if response is None or response.status >= 400:
            print(f"  {name}: skipped ({path} answered {response and response.status})")
            page.context.close()
            return
        if prepare is not None:
            prepare(page)
        page.wait_for_load_state("networkidle")
        target = self.out / f"{name}.png"
        page.screenshot(path=str(target), full_page=full)
        page.context.close()
        print(f"  {target.relative_to(ROOT) if target.is_relative_to(ROOT) else target}")


def _open_row(subject: str) -> Callable[[Page], None]:
    def open_it(page: Page) -> None:
        page.get_by_role("link", name=subject).first.click()
        expect(page.locator("#timeline")).to_be_visible()

    return open_it


def _open_history(subject: str) -> Callable[[Page], None]:
    def open_it(page: Page) -> None:
        _open_row(subject)(page)
        page.locator("#history-link").click()
        expect(page.locator("input[type=range]")).to_be_visible()

    return open_it


def _fill_new_request(page: Page) -> None:
    page.get_by_role("radio", name=re.compile("Реестр контрактов|Contracts register")).check()
    expect(page.locator("#category-fields input").first).to_be_visible()
    page.locator("#category-fields input").first.fill("2770708389323000012")
    page.locator("#subject").fill("Ошибка подписи при публикации контракта")
    page.locator("#description").fill("При подписании сведений о контракте возникает ошибка.")
    expect(page.locator("#suggestions li").first).to_be_visible()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--lang", choices=sorted(LOCALES), default="ru")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        demo_desk(Path(tmp)) as url,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        camera = Camera(browser, url, args.out, LOCALES[args.lang])
        print(f"suz screenshots of {url}:")
        camera.shoot("login", None, "/login")
        camera.shoot("new-request", None, "/new", _fill_new_request, full=True)
        camera.shoot("desk", "agent1", "/desk")
        camera.shoot("ticket", "agent1", "/desk", _open_row("Не формируется отчёт об исполнении"))
        camera.shoot("cabinet", "ivanova", "/my")
        camera.shoot("request", "ivanova", "/my",
                     _open_row("Контракт не отправляется на публикацию"))  # fmt: skip
        camera.shoot("knowledge-base", "method", "/kb")
        camera.shoot("activity", "curator", "/activity")
        camera.shoot("incidents", "dev", "/incidents")
        camera.shoot("sla", "admin", "/admin/sla", full=True)
        camera.shoot("routing", "admin", "/admin/routing")
        camera.shoot("analytics", "curator", "/analytics", full=True)
        camera.shoot("quality", "quality", "/quality", full=True)
        camera.shoot(
            "history",
            "auditor",
            "/desk?queue=line:2",
            _open_history("Ошибка при регистрации организации"),
            full=True,
        )
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the browser tests drive: a real `suz serve` process over a store with the World's cast,
Debian's chromium launched by Playwright, and signed-in browser contexts.

Playwright's own browser download is never used: `./scripts/test` installs Debian's `chromium`.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Playwright,
    ViewportSize,
    expect,
)

from domain.article import Audience, Content, Kind
from domain.desk import Desk
from domain.settings import Settings
from tests.e2e.server import Agent, Server, serve, server_env
from tests.web.desk_site import CONTRACT, LOGINS, PASSWORD, migrate
from tests.world import World

CHROMIUM = Path(os.environ.get("SUZ_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LIVE = 10_000  # ms: a live update or a presence change shows within this (it takes < 2 s)
VIEWPORT: ViewportSize = {"width": 1280, "height": 860}
RU, EN = "ru-RU", "en-US"  # the browser's locale: its Accept-Language


def launch(playwright: Playwright) -> Browser:
    """Debian's headless chromium (flags that work as root on a closed network)."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )


# -- the desk ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Knowledge:
    """Published knowledge-base entries the World lacks: two templates and a public article."""

    ask: str  # an information-request template: signed_on and amount, and one question
    answer: str  # an answer template
    article: str  # a public article about signature errors

    ASK_TITLE = "Уточнить дату и сумму контракта"
    ASK_FIELDS = ("signed_on", "amount")
    ASK_QUESTION = "В каком браузере вы подписываете контракт?"
    ANSWER_TITLE = "Ответ: ошибка подписи"
    ARTICLE_TITLE = "Ошибка подписи при публикации контракта"


def _publish(desk: Desk, world: World, kind: Kind, content: Content) -> str:
    article = desk.draft_article(world.methodologist, kind, content).id
    desk.submit_article(world.methodologist, article)
    desk.review_article(world.admin, article, True)  # a second editor reviews
    desk.publish_article(world.methodologist, article)
    return str(article)


def publish_knowledge(settings: Settings, world: World) -> Knowledge:
    desk = Desk(settings.store_env())
    try:
        ask = _publish(desk, world, Kind.INFO_REQUEST_TEMPLATE, Content(
            Knowledge.ASK_TITLE, "Ask for the contract's date and amount",
            "{requester_name}, уточните, пожалуйста, по заявке №{ticket_number} дату подписания "
            "и сумму контракта {field:contract_number}.",
            "{requester_name}, please tell us the date and amount of contract "
            "{field:contract_number} (request №{ticket_number}).",
            fields=Knowledge.ASK_FIELDS, questions=(Knowledge.ASK_QUESTION,),
        ))  # fmt: skip
        answer = _publish(desk, world, Kind.ANSWER_TEMPLATE, Content(
            Knowledge.ANSWER_TITLE, "Answer: signature error",
            "{requester_name}, переустановите сертификат и подпишите контракт "
            "{field:contract_number} снова.",
            "{requester_name}, reinstall the certificate and sign contract "
            "{field:contract_number} again.",
        ))  # fmt: skip
        article = _publish(desk, world, Kind.ARTICLE, Content(
            Knowledge.ARTICLE_TITLE, "Signature error when publishing a contract",
            "Если при публикации контракта возникает ошибка подписи, проверьте срок действия "
            "сертификата и переустановите его в личном кабинете.",
            "If signing fails when a contract is published, check that the certificate is "
            "valid and reinstall it in your account.",
            Audience.PUBLIC, category_ids=(world.contracts,), tags=("подпись", "контракт"),
        ))  # fmt: skip
    finally:
        desk.close()
    return Knowledge(ask, answer, article)


@dataclass
class DeskSite:
    """The running desk: its server, the World's ids and the published knowledge."""

    server: Server
    world: World
    knowledge: Knowledge

    @property
    def url(self) -> str:
        return self.server.url

    def api(self, who: str) -> Agent:
        """A signed-in API session (cookie and CSRF token) of one of the World's cast."""
        return Agent.sign_in(self.url, who, origin=self.url)

    def file(self, subject: str, who: str = "requester") -> dict[str, Any]:
        """Files a request in the contracts category through the API."""
        body = {"category": str(self.world.contracts), "subject": subject,
                "description": "При публикации контракта ошибка подписи.",
                "fields": {"contract_number": CONTRACT}}  # fmt: skip
        with self.api(who).client() as client:
            r = client.post("/api/v1/tickets", json=body)
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()
        return data


@contextmanager
def open_desk(root: Path) -> Iterator[DeskSite]:
    """A migrated SQLite store under `root` with the World's cast (passwords), the published
    knowledge, served by a real `suz serve` process."""
    settings = Settings(data_dir=root / "data", database_url=None)
    world = migrate(settings)
    knowledge = publish_knowledge(settings, world)
    logs = root / "logs"
    logs.mkdir(exist_ok=True)
    env = server_env(settings)
    # Without SUZ_ORIGINS, `suz serve` allows its own address (http://127.0.0.1:<port>): the
    # origin the browser really uses, so its forms and websockets pass the Origin checks.
    del env["SUZ_ORIGINS"]
    with serve(env, logs) as server:
        yield DeskSite(server, world, knowledge)


# -- people in browsers --------------------------------------------------------------------------
@dataclass
class People:
    """The browser contexts of one test (each with its own cookies), closed after it. Uncaught
    JavaScript errors of their pages and htmx's errors are collected in `errors`."""

    browser: Browser
    site: DeskSite
    contexts: list[BrowserContext] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def context(self, locale: str = RU) -> BrowserContext:
        ctx = self.browser.new_context(base_url=self.site.url, locale=locale, viewport=VIEWPORT)
        ctx.set_default_timeout(LIVE)
        ctx.on("page", self._watch)
        self.contexts.append(ctx)
        return ctx

    def _watch(self, page: Page) -> None:
        page.on("pageerror", lambda e: self.errors.append(f"{page.url}: {e}"))
        page.on("console", lambda m: self._console(page, m))

    def _console(self, page: Page, message: ConsoleMessage) -> None:
        # htmx reports what it could not do (a missing target, a bad swap) only here
        if message.type == "error" and message.text.startswith("htmx:"):
            self.errors.append(f"{page.url}: {message.text}")

    def anonymous(self, path: str = "/", locale: str = RU) -> Page:
        page = self.context(locale).new_page()
        page.goto(path)
        return page

    def sign_in(self, who: str, path: str | None = None, locale: str = RU,
                page: Page | None = None) -> Page:  # fmt: skip
        """A page of a new context (or `page`) signed in as one of the World's cast through the
        sign-in form, then on `path` (or the person's home page)."""
        return sign_in_through_the_form(page or self.context(locale).new_page(), LOGINS[who],
                                        PASSWORD, path)  # fmt: skip

    def close(self) -> None:
        for ctx in self.contexts:
            ctx.close()
        self.contexts.clear()


def sign_in_through_the_form(page: Page, login: str, password: str, path: str | None) -> Page:
    """`page` signed in through the sign-in form, then on `path` (or the person's home page)."""
    page.goto("/login" + (f"?next={quote(path)}" if path else ""))
    page.locator("#login").fill(login)
    page.locator("#password").fill(password)
    page.locator("form[action='/login'] button[type=submit]").click()
    expect(page).not_to_have_url(re.compile(r"/login"))
    return page


def save_pages(contexts: list[BrowserContext], folder: Path) -> None:
    """Each open page's screenshot and HTML under `folder` (what a failed test leaves)."""
    for n, ctx in enumerate(contexts):
        for m, page in enumerate(ctx.pages):
            try:
                page.screenshot(path=str(folder / f"page-{n}-{m}.png"), full_page=True)
                (folder / f"page-{n}-{m}.html").write_text(page.content())
            except Exception:  # a page that crashed has nothing more to show
                continue
    print(f"The pages of the failed test are saved under {folder}", file=sys.stderr)


# -- what pages show -----------------------------------------------------------------------------
def live_texts(page: Page) -> dict[str, str]:
    """The page's own translations of the live strings (viewing, typing...)."""
    data: dict[str, str] = json.loads(page.locator("#suz-i18n").text_content() or "{}")
    return data


def entry(page: Page, event: str, containing: str | None = None) -> Locator:
    """The agents' timeline entries of one event kind (optionally with a text)."""
    found = page.locator(f"#timeline li.entry[data-event='{event}']")
    return found.filter(has_text=containing) if containing else found


def chat(page: Page, event: str, containing: str | None = None) -> Locator:
    """The requester's chat entries of one event kind (optionally with a text)."""
    found = page.locator(f"#timeline li.entry.ev-{event}")
    return found.filter(has_text=containing) if containing else found

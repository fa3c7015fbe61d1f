"""Accessibility in a real browser (issue 18): the main pages of every role pass axe-core without
a "serious" or "critical" violation, in Russian (the users' language) and English; and an agent
does his day's work on a request with the keyboard alone.

axe-core is vendored under static/vendor/ (see its README.md there) and injected by these tests
only: no page links it. It is injected by URL, from the desk's own origin, so the pages are
checked under their real Content-Security-Policy (`script-src 'self'` refuses an inline script).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.site import EN, RU, DeskSite, People
from tests.web.desk_site import LOGINS, PASSWORD

AXE = Path(__file__).resolve().parents[2] / "static" / "vendor" / "axe-4.14.1.min.js"
BLOCKING = ("serious", "critical")  # the impacts a page may not have


def axe_check(page: Page) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """axe-core's violations on the page as it now stands, and what it could not decide (every
    rule axe runs by default: WCAG 2.0-2.2 A and AA and its best practices)."""
    page.wait_for_load_state("networkidle")  # fragments loaded by htmx on load are in place
    # axe skips what is hidden: the filter panel, the side panel's forms... are checked open
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true })")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(url=f"/static/vendor/{AXE.name}")
    found: dict[str, list[dict[str, Any]]] = page.evaluate(
        "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
        " return {violations: r.violations, incomplete: r.incomplete} }"
    )
    return found["violations"], found["incomplete"]


def described(where: str, violations: list[dict[str, Any]]) -> list[str]:
    """One line per offending element: the page, the rule, its impact, the element's selector,
    what axe says to fix and the rule's help page."""
    lines = []
    for v in violations:
        for node in v["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"{where}: {v['id']} ({v['impact']}) at `{target}`: {v['help']}. "
                         f"{summary} {v['helpUrl']}")  # fmt: skip
    return lines


@dataclass
class Findings:
    """What axe found on the pages of one test: the blocking lines, and element counts by rule."""

    blocking: list[str] = field(default_factory=list)
    lesser: list[str] = field(default_factory=list)  # "moderate" and "minor": printed only
    counts: Counter[str] = field(default_factory=Counter)
    review: Counter[str] = field(default_factory=Counter)

    def check(self, page: Page, where: str) -> None:
        violations, incomplete = axe_check(page)
        for v in violations:
            self.counts[f"{v['id']} ({v['impact']})"] += len(v["nodes"])
        for v in incomplete:
            self.review[f"{v['id']} ({v['impact']})"] += len(v["nodes"])
        self.blocking += described(where, [v for v in violations if v["impact"] in BLOCKING])
        self.lesser += described(where, [v for v in violations if v["impact"] not in BLOCKING])

    def report(self, locale: str) -> None:
        print(f"axe ({locale}): violations, elements by rule: {dict(self.counts)}")
        print(f"axe ({locale}): left for a person to review: {dict(self.review)}")
        print("\n".join(self.lesser))
        lines = "\n".join(self.blocking)
        assert not self.blocking, f"axe found serious or critical violations:\n{lines}"


def _open_incident(site: DeskSite) -> str:
    """An open incident whose word no other test's request has: the server is shared, and an
    incident links (and tells) every new request it matches."""
    body = {"title": "Сбой подписи контрактов", "description": "Мы знаем о сбое и исправляем его.",
            "criteria": {"category_id": str(site.world.contracts),
                         "words": ["проверка-доступности-axe"]}}  # fmt: skip
    with site.api("developer").client() as client:
        r = client.post("/api/v1/incidents", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _pages(site: DeskSite, ticket: str) -> list[tuple[str | None, str]]:
    """(who, path) of the main pages of every role; None is an anonymous visitor."""
    w = site.world
    incident = _open_incident(site)
    return [
        (None, "/login"),
        (None, "/new"),
        ("requester", "/my"),
        ("requester", "/new"),
        ("requester", f"/r/{ticket}"),
        ("requester", f"/help/{site.knowledge.article}"),
        ("agent", "/desk"),
        ("agent", "/desk?queue=filter"),
        ("agent", "/desk?status=active&line=1&priority=normal&sort=oldest"),
        ("agent", f"/t/{ticket}"),
        ("agent", "/search?q=%D0%BF%D0%BE%D0%B4%D0%BF%D0%B8%D1%81%D0%B8"),
        ("agent", "/kb"),
        ("agent", f"/kb/{site.knowledge.article}"),
        ("agent", "/quality/mine"),
        ("agent", "/activity"),
        ("agent", "/calls/new"),
        ("agent", "/notifications"),
        ("agent", f"/t/{ticket}/history"),
        ("methodologist", "/kb/new"),
        ("methodologist", "/releases"),
        ("quality", "/quality"),
        ("curator", "/analytics"),
        ("developer", "/incidents"),
        ("developer", f"/incidents/{incident}"),
        ("auditor", "/audit"),
        ("admin", "/admin/accounts"),
        ("admin", "/admin/groups"),
        ("admin", "/admin/categories"),
        ("admin", f"/admin/categories/{w.contracts}"),
        ("admin", "/admin/routing"),
        ("admin", "/admin/sla"),
        ("admin", "/admin/triggers"),
        ("admin", "/admin/organisations"),
    ]


@pytest.mark.parametrize("locale", [RU, EN])
def test_the_main_pages_of_every_role_pass_axe(
    people: People, desk_site: DeskSite, locale: str
) -> None:
    ticket = str(desk_site.file("Ошибка подписи при публикации контракта")["id"])
    signed: dict[str | None, Page] = {}
    found = Findings()
    for who, path in _pages(desk_site, ticket):
        if who not in signed:
            signed[who] = (people.anonymous("/login", locale) if who is None
                           else people.sign_in(who, locale=locale))  # fmt: skip
        page = signed[who]
        answer = page.goto(path)
        assert answer is not None and answer.ok, f"{who} {path}: {answer and answer.status}"
        expect(page.locator("html")).to_have_attribute("lang", locale[:2])
        found.check(page, f"{who or 'anonymous'} {path}")

    # the states a page reaches in use: a form refused with its errors, fields a choice brought,
    # a request taken with each of the composer's tabs, ticked rows, a resolved request
    public = signed[None]
    public.goto("/new")
    public.locator("#new-request button[type=submit]").click()
    expect(public.locator("#new-request [role=alert]").first).to_be_visible()
    found.check(public, "anonymous /new, refused empty")
    public.locator(f"input[name=category][value='{desk_site.world.contracts}']").check(force=True)
    expect(public.locator("#category-fields input").first).to_be_attached()
    found.check(public, "anonymous /new, a category chosen")

    agent = signed["agent"]
    agent.goto(f"/t/{ticket}")
    agent.locator("#take").click()
    expect(agent.locator("#side-assignee")).to_contain_text("Agent1")
    for tab in agent.locator("#composer [role=tab]").all():
        name = tab.get_attribute("id")
        tab.click()
        expect(tab).to_have_attribute("aria-selected", "true")
        found.check(agent, f"agent /t/{ticket}, taken, {name}")
    agent.locator("#tab-reply").click()
    agent.locator("#panel-reply button[type=submit]").click()  # empty: refused, said why
    expect(agent.locator("#error-reply")).to_be_visible()
    found.check(agent, f"agent /t/{ticket}, an empty reply refused")
    agent.locator("#reply-body").fill("Проверяем, ответим сегодня.")  # the requester's bell rings
    agent.locator("#panel-reply button[type=submit]").click()
    expect(agent.locator("#timeline")).to_contain_text("Проверяем, ответим сегодня.")
    agent.goto("/desk")
    agent.locator("#list input[name=pick]").first.check()
    found.check(agent, "agent /desk, a row ticked")
    agent.goto(f"/t/{ticket}")
    agent.locator("#tab-resolve").click()
    agent.locator("#resolution").fill("Переустановите сертификат.")
    agent.locator("#panel-resolve button[type=submit]").click()
    expect(agent.locator("#composer")).to_have_attribute("data-phase", "resolved")
    found.check(agent, f"agent /t/{ticket}, resolved")
    requester = signed["requester"]
    requester.goto(f"/r/{ticket}")
    expect(requester.locator("#bell .bell-count:not(.none)")).to_be_visible()  # its colours too
    found.check(requester, f"requester /r/{ticket}, resolved: the rating, unread notifications")
    found.report(locale)


def test_axe_is_loaded_and_reports_what_it_finds(people: People) -> None:
    """The check can fail: a field without a name and an image without a text, added to a page,
    are found as critical."""
    page = people.anonymous("/login")
    page.evaluate("""() => document.querySelector('main').insertAdjacentHTML('beforeend',
        '<input id="nameless"><img src="/static/favicon.svg">')""")
    violations, _ = axe_check(page)
    found = {(v["id"], v["impact"]) for v in violations}
    assert {("label", "critical"), ("image-alt", "critical")} <= found, found


# -- the keyboard alone --------------------------------------------------------------------------
FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body || e === document.documentElement) { return null; }
  const ring = (x) => { const s = getComputedStyle(x);
    return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2)
      || s.boxShadow !== 'none'; };
  const label = e.closest('label');  // a visually hidden radio shows its focus on its label
  // a date field's calendar button: the focus is inside the browser's own control, which rings it
  const picker = /^(date|datetime-local|time|month|week)$/.test(e.type) && !e.matches(':focus');
  const box = (label || e).getBoundingClientRect();
  const cls = typeof e.className === 'string' && e.className ? '.' + e.className.split(' ')[0] : '';
  const text = (e.innerText || e.value || e.getAttribute('aria-label') || '').trim();
  return {what: e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + cls
                + ' "' + text.slice(0, 40) + '"',
          main: e.id === 'main',
          ring: picker || (e.matches(':focus-visible') && (ring(e) || (!!label && ring(label)))),
          shown: box.width > 0 && box.height > 0 && box.right > 0 && box.bottom > 0};
}"""


def _focus_seen(page: Page) -> dict[str, Any] | None:
    """What has the focus (None: the page itself), checked to be seen: on the screen and ringed."""
    now: dict[str, Any] | None = page.evaluate(FOCUSED)
    if now is not None and not now["main"]:
        assert now["shown"], f"the focus is on something not on the screen: {now['what']}"
        assert now["ring"], f"the focus is not visible on {now['what']}"
    return now


def tab_to(page: Page, selector: str, back: bool = False, limit: int = 120) -> None:
    """Presses Tab (Shift+Tab if `back`) until the element `selector` has the focus; every element
    passed on the way shows that it has it."""
    target = page.locator(selector)
    expect(target).to_be_visible()
    passed: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        now = _focus_seen(page)
        passed.append(now["what"] if now else "(the page)")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)",
                         selector):  # fmt: skip
            return
    raise AssertionError(f"Tab never reached {selector}; it went through: {passed}")


def _cycle(page: Page, limit: int = 400) -> list[str]:
    """Tabs from the top of the page until the focus leaves the page; what it went through."""
    passed: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = _focus_seen(page)
        if now is None:
            return passed
        passed.append(now["what"])
    raise AssertionError(f"the focus never leaves the page (a trap?): {passed[-20:]}")


def test_an_agent_works_a_request_with_the_keyboard_alone(
    people: People, desk_site: DeskSite
) -> None:
    """Sign in, find the request through the desk's filter, open it, take it, answer, resolve:
    Tab, Shift+Tab, Enter, Space and the arrows only, the focus always seen and never trapped."""
    subject = "Клавиатура: не открывается карточка контракта"
    ticket = desk_site.file(subject)["id"]
    page = people.context(RU).new_page()
    keys = page.keyboard
    page.goto("/login")
    expect(page.locator("#login")).to_be_focused()  # autofocus: the first thing to type
    keys.type(LOGINS["agent"])
    keys.press("Tab")
    keys.type(PASSWORD)
    keys.press("Enter")
    expect(page).to_have_url(re.compile(r"/desk"))

    # the first Tab shows the skip link; it moves the focus past the top bar
    keys.press("Tab")
    skip = page.locator("a.skip")
    expect(skip).to_be_focused()
    _focus_seen(page)
    keys.press("Enter")
    expect(page.locator("main#main")).to_be_focused()

    # the desk's filter: new and unassigned requests
    tab_to(page, "a[data-queue='filter']")
    keys.press("Enter")
    expect(page).to_have_url(re.compile(r"queue=filter"))
    tab_to(page, "#filter-form input[name=status][value=new]")
    keys.press("Space")
    expect(page.locator("#filter-form input[name=status][value=new]")).to_be_checked()
    tab_to(page, "#f-assignee")
    keys.press("ArrowDown")  # "me"
    keys.press("ArrowDown")  # "nobody"
    expect(page.locator("#f-assignee")).to_have_values(["none"])
    tab_to(page, "#filter-apply")
    keys.press("Enter")
    expect(page).to_have_url(re.compile(r"status=new.*assignee=none"))

    # the request, from the list
    tab_to(page, f"#list tr[data-ticket='{ticket}'] a.subject")
    keys.press("Enter")
    expect(page).to_have_url(re.compile(f"/t/{ticket}$"))
    cycle = _cycle(page)  # the whole page, top to bottom, then out: no trap
    assert any("#take" in w for w in cycle) and any("#reply-body" in w for w in cycle), cycle

    # each action replaces the request's part that had the focus: the focus goes on with the
    # work (taken: the reply; sent: the reply again), never back to the top of the page
    tab_to(page, "#take")
    keys.press("Enter")
    expect(page.locator("#side-assignee")).to_contain_text("Agent1")
    expect(page.locator("#reply-body")).to_be_focused()
    keys.type("Здравствуйте! Проверяем, ответим сегодня.")
    tab_to(page, "#panel-reply button[type=submit]")
    keys.press("Enter")
    expect(page.locator("#timeline")).to_contain_text("Проверяем, ответим сегодня.")
    expect(page.locator("#reply-body")).to_be_focused()

    # the composer's tabs: one Tab stop, the arrows choose; a mention list closes on Escape
    tab_to(page, "#composer [role=tab][aria-selected=true]", back=True)
    keys.press("ArrowRight")
    expect(page.locator("#tab-note")).to_be_focused()
    expect(page.locator("#panel-note")).to_be_visible()
    keys.press("Tab")
    expect(page.locator("#note-body")).to_be_focused()
    keys.type("@lin", delay=20)
    expect(page.locator("#note-mentions")).to_be_visible()
    keys.press("Escape")
    expect(page.locator("#note-mentions")).to_be_hidden()
    expect(page.locator("#note-body")).to_be_focused()
    keys.press("Shift+Tab")  # back to the tabs: the selected one is their one stop
    expect(page.locator("#tab-note")).to_be_focused()
    for _ in range(4):  # information, transfer, escalate, resolve
        keys.press("ArrowRight")
    expect(page.locator("#tab-resolve")).to_be_focused()
    expect(page.locator("#tab-resolve")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#panel-resolve")).to_be_visible()
    keys.press("Tab")
    expect(page.locator("#resolution")).to_be_focused()
    keys.type("Карточка открывается после обновления справочника.")
    keys.press("Tab")
    expect(page.locator("#panel-resolve button[type=submit]")).to_be_focused()
    _focus_seen(page)
    keys.press("Enter")
    expect(page.locator("#composer")).to_have_attribute("data-phase", "resolved")
    _focus_seen(page)
    assert page.evaluate("() => document.activeElement !== document.body"), "the focus was lost"

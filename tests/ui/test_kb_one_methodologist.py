"""The knowledge loop for a real team (issue 18), through the pages as a browser drives them, on
SQLite and PostgreSQL: a desk with one methodologist lets him publish unreviewed once an
administrator says so, and the article's history says it; a knowledge gap is internal work (no
requester, no SLA clock, the methodologists' own queue on the desk, out of the line queues); an
article drafted for a gap starts public; suggestions on the public form rank every category."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import httpx
import pytest

from domain.article import Audience, Content, Kind
from domain.settings import Settings
from domain.sla_setup import DEFAULT_CALENDARS, Policy
from projections.sla import deadlines
from tests.web.desk_site import LEAKS, ORIGIN, Person, Site, open_site

pytestmark = LEAKS
FORM = {
    "title_ru": "Ошибка подписи при публикации контракта",
    "title_en": "Signature error when publishing a contract",
    "body_ru": "Обновите сертификат и повторите публикацию.",
    "body_en": "Renew the certificate and publish again.",
    "audience": "public",
}


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def person(site: Site, who: str) -> Person:
    """A signed-in browser reading the pages in Russian."""
    p = site.sign_in(who)
    p.client.cookies.set("suz_lang", "ru")
    return p


def post(p: Person, path: str, data: dict[str, Any] | None = None) -> httpx.Response:
    headers = {"X-CSRF-Token": p.csrf, "Origin": ORIGIN, "HX-Request": "true"}
    r: httpx.Response = p.client.post(path, data=data or {}, headers=headers)
    return r


def done(r: httpx.Response) -> str:
    assert r.status_code == 204, r.text
    target: str = r.headers["HX-Redirect"]
    return target


def stage(p: Person, article_id: str) -> str:
    r = p.get(f"/api/v1/kb/articles/{article_id}")
    assert r.status_code == 200, r.text
    return str(r.json()["stage"])


def test_a_lone_methodologist_publishes_unreviewed_once_the_administrator_allows_it(
    site: Site,
) -> None:
    method, admin = person(site, "methodologist"), person(site, "admin")
    target = done(post(method, "/kb/new", {**FORM, "kind": "article"}))
    article_id = re.match(r"/kb/([0-9a-f-]{36})", target).group(1)  # type: ignore[union-attr]

    # Today's rule: a second reviewer. The author is offered no way around it.
    settings = method.get("/kb/settings")
    assert settings.status_code == 200
    assert (
        'data-rule="second_reviewer"' in settings.text and "Нужен второй рецензент" in settings.text
    )
    assert 'name="review"' not in settings.text  # only an administrator changes it
    assert f'action="/kb/{article_id}/self-publish"' not in method.get(f"/kb/{article_id}").text
    assert post(method, f"/kb/{article_id}/self-publish").status_code == 403
    assert stage(method, article_id) == "draft"

    # Only an administrator sets the rule; a stale page or a rule not offered changes nothing.
    assert (
        post(method, "/kb/settings", {"review": "self_publish", "version": "0"}).status_code == 403
    )
    stale = post(admin, "/kb/settings", {"review": "self_publish", "version": "3"})
    assert stale.status_code == 409 and "уже изменил правило рецензирования" in stale.text
    wrong = post(admin, "/kb/settings", {"review": "anyone", "version": "0"})
    assert wrong.status_code == 422 and "Выберите, как рецензируются статьи" in wrong.text
    assert 'data-rule="second_reviewer"' in admin.get("/kb/settings").text
    page = admin.get("/kb/settings")
    assert 'name="review" value="self_publish"' in page.text and "Не менялась" in page.text
    assert 'name="version" value="0"' in page.text  # the stored version: the first save holds

    target = done(post(admin, "/kb/settings", {"review": "self_publish", "version": "0"}))
    shown = admin.get(target)
    assert 'data-rule="self_publish"' in shown.text
    assert "Методист может публиковать без второго рецензента" in shown.text
    assert "<strong>Admin</strong>" in shown.text  # who changed it, in its history

    # Now the author publishes his own draft; the history says no second reviewer saw it.
    own = method.get(f"/kb/{article_id}")
    assert f'action="/kb/{article_id}/self-publish"' in own.text
    assert "Опубликовать без рецензии" in own.text
    target = done(post(method, f"/kb/{article_id}/self-publish"))
    assert stage(method, article_id) == "published"
    history = method.get(target).text
    assert (
        "опубликовал(а) редакцию 1 без второго рецензента (самостоятельная публикация)" in history
    )
    assert "step-self_published" in history
    assert post(method, f"/kb/{article_id}/self-publish").status_code in (409, 422)  # once
    api = method.post(f"/api/v1/kb/articles/{article_id}/self-publish", {})
    assert api.status_code in (409, 422), api.text


def test_a_knowledge_gap_is_internal_work_in_its_own_queue(site: Site) -> None:
    requester, agent = person(site, "requester"), person(site, "agent")
    method = person(site, "methodologist")
    policy = Policy(uuid4(), "Контракты 24x7", 60, 240, category_id=site.world.contracts,
                    calendar="24x7")  # fmt: skip
    site.services.desk.set_sla(site.world.admin, DEFAULT_CALENDARS, (policy,), 5)
    ticket = site.file(requester)
    r = agent.post("/api/v1/kb/gaps", {"subject": "Нет статьи о расторжении",
                                        "description": "Спрашивают каждый день",
                                        "tickets": [ticket["id"]]})  # fmt: skip
    assert r.status_code == 201, r.text
    gap = r.json()

    desk = method.get(f"/desk?queue=gaps&after={gap['position']}")
    assert desk.status_code == 200
    assert 'data-queue="gaps"' in desk.text and "Пробелы в базе знаний" in desk.text
    assert 'data-count="gaps">1<' in desk.text
    assert "Нет статьи о расторжении" in desk.text
    line1 = agent.get("/desk?queue=line:1")
    assert 'data-queue="gaps"' not in line1.text  # the methodologists' queue, not the agents'
    assert "Контракт не публикуется" in line1.text and "Нет статьи о расторжении" not in line1.text

    page = method.get(f"/t/{gap['id']}")
    assert page.status_code == 200
    assert 'id="internal-work"' in page.text and "Внутренняя работа" in page.text
    assert "Agent1" in page.text  # raised by
    assert 'id="sla"' not in page.text
    assert 'id="sla"' in method.get(f"/t/{ticket['id']}").text  # a request has its clock
    with site.services.projections.db.read() as tx:
        clocks = deadlines(tx, [gap["id"], ticket["id"]])
    assert gap["id"] not in clocks and ticket["id"] in clocks

    editor = method.get(f"/kb/new?gap={gap['id']}")
    assert re.search(r'value="public"\s+checked', editor.text), "a gap's answer starts public"
    assert not re.search(r'value="internal"\s+checked', editor.text)
    assert not re.search(r'value="public"\s+checked', method.get("/kb/new").text)
    content = {"title_ru": "Расторжение контракта", "body_ru": "Приложите соглашение."}
    drafted = method.post("/api/v1/kb/articles", {"content": content, "gap": gap["id"]})
    assert drafted.status_code == 201, drafted.text
    shown = method.get(f"/api/v1/kb/articles/{drafted.json()['id']}").json()
    assert shown["content"]["audience"] == "public"
    plain = method.post("/api/v1/kb/articles", {"content": content}).json()
    assert method.get(f"/api/v1/kb/articles/{plain['id']}").json()["content"]["audience"] == (
        "internal")  # fmt: skip


def test_suggestions_rank_every_category_on_the_form_and_the_ticket_page(site: Site) -> None:
    desk, world = site.services.desk, site.world
    other = desk.define_category(world.admin, "Планирование", "Planning").id
    public = Content("Ошибка подписи контракта", "Contract signature error",
                     "Обновите сертификат.", "Renew the certificate.", Audience.PUBLIC,
                     (other,))  # fmt: skip
    internal = Content("Ошибка подписи контракта: консоль", "Contract signature error: console",
                       "Для второй линии.", "For line 2.", Audience.INTERNAL,
                       (world.contracts,))  # fmt: skip
    ids = []
    for content in (public, internal):
        a = desk.draft_article(world.methodologist, Kind.ARTICLE, content).id
        desk.submit_article(world.methodologist, a)
        desk.review_article(world.admin, a, True)
        w = desk.publish_article(world.methodologist, a)
        ids.append(str(a))
    visitor = site.new_client()
    found = visitor.get(f"/new/suggestions?subject=подписи+контрактов&category={world.contracts}"
                        f"&after={w.position}", headers={"HX-Request": "true"})  # fmt: skip
    assert found.status_code == 200
    assert f'href="/help/{ids[0]}"' in found.text  # another category's article: boosted, not
    assert ids[1] not in found.text  # filtered; the chosen category's internal one: never
    api = visitor.get(
        "/api/v1/kb/suggestions",
        params={"q": "подпись контракта", "category": str(world.contracts)},
    ).json()
    assert [a["id"] for a in api] == [ids[0]]
    # the agent's page of a request in the contracts category: its own category's article
    # first, the other category's too
    filed = world.file("Ошибка подписи контракта")  # the words of both titles
    page = person(site, "agent").get(f"/t/{filed.id}?after={filed.position}").text
    assert f'href="/kb/{ids[1]}"' in page and f'href="/kb/{ids[0]}"' in page
    assert page.index(f'href="/kb/{ids[1]}"') < page.index(f'href="/kb/{ids[0]}"')
    offered = person(site, "agent").get(f"/api/v1/tickets/{filed.id}/suggestions").json()
    assert [a["id"] for a in offered][:2] == [ids[1], ids[0]]

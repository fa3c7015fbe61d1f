"""Release readiness through the app: a methodologist plans a release, line 1 adds a question, a
methodologist links its article, an analyst watches a trigger; the page and the API show the
questions, their articles' stages, the triggers, the reports and the live figures once a
matching request is filed; a bad form says what to fix and writes nothing; requesters and
visitors are told nothing exists (404, 403 for the API's list), and see no release's name."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import UUID

import httpx
import pytest

from domain.article import Audience, Content, Kind
from domain.incidents import Criteria
from domain.release import Scope
from domain.settings import Settings
from domain.setup import releases as sr
from processes.incidents import IncidentProcess
from tests.web.api_description import Answers
from tests.web.desk_site import LEAKS, LOGINS, ORIGIN, PASSWORD, Site, open_site

pytestmark = LEAKS
TODAY = datetime.now(UTC).date()
NAME = "ЕИС 14.2 «Контракты»"


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


class Browser:
    """A person using the UI: signs in through the form; the CSRF token from a page of ours."""

    def __init__(self, site: Site, who: str) -> None:
        self.client = site.new_client()
        self.client.headers["Accept-Language"] = "en"
        r = self.client.post("/login", data={"login": LOGINS[who], "password": PASSWORD},
                             headers={"Origin": ORIGIN}, follow_redirects=False)  # fmt: skip
        assert r.status_code == 303, r.text
        page = self.client.get("/releases").text  # a refusal carries the token too
        found = re.search(r'"X-CSRF-Token": "([^"]+)"', page)
        assert found, "the page carries the CSRF token"
        self.csrf = found.group(1)

    def get(self, path: str) -> httpx.Response:
        r: httpx.Response = self.client.get(path, follow_redirects=False)
        return r


def post(who: Browser, path: str, form: dict[str, str | list[str]]) -> httpx.Response:
    data = {**form, "csrf_token": who.csrf}
    r: httpx.Response = who.client.post(
        path, data=data, headers={"Origin": ORIGIN}, follow_redirects=False
    )
    return r


def released(site: Site) -> int:
    """How many Release events the log holds."""
    desk = site.world.desk
    stored = desk.recorder.select_notifications(start=1, limit=100_000)
    return sum(1 for n in stored if n.topic.startswith("domain.release:Release."))


def plan(site: Site, who: Browser) -> str:
    w = site.world
    r = post(who, "/releases", {"name": NAME, "day": (TODAY - timedelta(days=1)).isoformat(),
                                "components": "Реестр контрактов, ЛК заказчика",
                                "categories": [str(w.contracts)], "words": "14.2",
                                "watch_days": "10"})  # fmt: skip
    assert r.status_code == 303, r.text
    found = re.fullmatch(r"/releases/([0-9a-f-]{36})", r.headers["location"])
    assert found, r.headers["location"]
    return found.group(1)


def test_a_release_is_prepared_together_and_shows_its_live_figures(site: Site) -> None:
    w = site.world
    method, agent, admin = (
        Browser(site, "methodologist"),
        Browser(site, "agent"),
        Browser(site, "admin"),
    )
    content = Content("Подпись после 14.2", "", "Обновите плагин.", "", Audience.PUBLIC)
    article = w.desk.draft_article(w.methodologist, Kind.ARTICLE, content).id
    release = plan(site, method)
    page = method.get(f"/releases/{release}").text
    assert NAME in page and "Реестр контрактов, ЛК заказчика" in page
    assert "/analytics?from=" in page and f"key={w.contracts}" in page, "the reports' links"

    # line 1 adds a question; the methodologist links its article (a draft: its stage shows)
    r = post(
        agent,
        f"/releases/{release}/questions",
        {"text": "Почему не подписывается контракт?", "keywords": "подпис, ЭП"},
    )
    assert r.status_code == 303, r.text
    question = w.desk.repository.get(UUID(release)).questions[0].id
    assert (
        post(
            method, f"/releases/{release}/questions/{question}/article", {"article": str(article)}
        ).status_code
        == 303
    )
    page = method.get(f"/releases/{release}").text
    assert "Почему не подписывается контракт?" in page and f'href="/kb/{article}"' in page
    assert "badge stage-draft" in page

    # an analyst's trigger (here the administrator's): a trigger rule like any other
    r = post(admin, f"/releases/{release}/watches", {"name": "Подпись", "words": "подпис",
                                                     "threshold": "5", "window": "30"})  # fmt: skip
    assert r.status_code == 303, r.text
    assert [x.name for x in w.desk.triggers().rules] == [f"{NAME}: Подпись"]
    assert f"{NAME}: Подпись" in method.get(f"/releases/{release}").text

    # the live count moves when a matching request is filed
    live = method.get(f"/releases/{release}/live").text
    assert re.search(r'class="release-total">0<', live), live
    filed = w.desk.file_ticket(w.requester, w.contracts, "Не подписывается контракт",
                               "Ошибка ЭП", {"contract_number": "1234567890123456789"})  # fmt: skip
    live = method.get(f"/releases/{release}/live?after={filed.position}").text
    assert re.search(r'class="release-total">1<', live), live
    assert f'href="/t/{filed.id}"' in live
    resolved = w.desk.resolve(w.agent, filed.id, "Обновили плагин.")  # on line 1
    live = method.get(f"/releases/{release}/live?after={resolved.position}").text
    assert "meets the aim of 90 %" in live and "(100%)" in live, live
    ru = method.client.get(f"/releases/{release}", headers={"Accept-Language": "ru"}).text
    assert "Вероятные вопросы" in ru and "цель 90 % достигнута" in ru

    # the API says the same, in the documented shape
    check = Answers()
    listed = check(method.get("/api/v1/releases"), "get", "/api/v1/releases", 200)
    assert [(x["name"], x["requests"]) for x in listed["releases"]] == [(NAME, 1)]
    one = check(method.get(f"/api/v1/releases/{release}"), "get",
                "/api/v1/releases/{release_id}", 200)  # fmt: skip
    assert one["questions"][0]["asked"] == 1 and one["questions"][0]["article"]["stage"] == "draft"
    assert one["live"]["total"]["requests"] == 1 and one["watches"][0]["name"].endswith("Подпись")


def test_a_wrong_form_says_what_to_fix_and_writes_nothing(site: Site) -> None:
    method, agent = Browser(site, "methodologist"), Browser(site, "agent")
    r = post(method, "/releases", {"name": "", "day": "2026-13-40", "words": "x"})
    assert r.status_code == 422 and "YYYY-MM-DD" in r.text
    r = post(method, "/releases", {"name": "ЕИС 15", "day": TODAY.isoformat()})
    assert r.status_code == 422 and "Say which categories or words" in r.text
    assert 'value="ЕИС 15"' in r.text, "what was typed is kept"
    r = post(agent, "/releases", {"name": "ЕИС 15", "day": TODAY.isoformat(), "words": "15"})
    assert r.status_code == 403
    release = plan(site, method)
    before = released(site)
    r = post(method, f"/releases/{release}/questions", {"text": "Вопрос?", "keywords": " , "})
    assert r.status_code == 422 and "at least one keyword" in r.text
    r = post(
        Browser(site, "engineer"),
        f"/releases/{release}/questions",
        {"text": "Вопрос?", "keywords": "х"},
    )  # line 2 does not prepare them
    assert r.status_code == 403
    r = post(method, f"/releases/{release}/watches", {"name": "Подпись", "words": "подпис"})
    assert r.status_code == 403, "a trigger is the analysts' and administrators'"
    r = post(method, f"/releases/{release}/edit", {"name": "ЕИС 16", "day": TODAY.isoformat(),
                                                   "words": "16", "version": "99"})  # fmt: skip
    assert r.status_code == 409
    assert released(site) == before


def test_requesters_and_visitors_are_told_nothing_exists(site: Site) -> None:
    method = Browser(site, "methodologist")
    release = plan(site, method)
    before = released(site)
    requester = Browser(site, "requester")
    for path in ("/releases", f"/releases/{release}", f"/releases/{release}/live",
                 "/releases/not-a-uuid"):  # fmt: skip
        r = requester.get(path)
        assert r.status_code == 404 and "14.2" not in r.text, path
    r = post(requester, f"/releases/{release}/questions", {"text": "Вопрос?", "keywords": "х"})
    assert r.status_code == 404 and "14.2" not in r.text
    r = post(requester, "/releases", {"name": "Моё", "day": TODAY.isoformat(), "words": "х"})
    assert r.status_code == 404
    assert "/releases" not in requester.get("/my").text, "no link in the header"
    assert 'href="/releases"' in method.get("/kb").text, "the staff's header links it"
    assert released(site) == before
    check = Answers()
    check(requester.client.get("/api/v1/releases"), "get", "/api/v1/releases", 403)
    r = requester.client.get(f"/api/v1/releases/{release}")
    check(r, "get", "/api/v1/releases/{release_id}", 404)
    assert "14.2" not in r.text
    nobody = site.new_client()
    assert nobody.get("/releases", follow_redirects=False).status_code == 303  # to sign in
    check(nobody.get("/api/v1/releases"), "get", "/api/v1/releases", 401)
    check(nobody.get(f"/api/v1/releases/{release}"), "get", "/api/v1/releases/{release_id}", 401)


def test_a_fired_trigger_is_named_on_the_release_page_and_shares_read_as_the_language_writes_them(
    site: Site,
) -> None:
    """The live section lists each firing of a watched trigger under the rule's name; the line-1
    share is a locale's percentage ("100 %" in Russian, "100%" in English, never "100.0 %")."""
    w = site.world
    release = w.desk.handle(w.admin, sr.PlanRelease(
        Scope("ЕИС 14.6", TODAY - timedelta(days=1), (), (w.contracts,)))).id  # fmt: skip
    w.desk.handle(w.admin, sr.AddReleaseWatch(release, "Подпись", Criteria(words=("подпис",)),
                                              2, 60, (w.line2,)))  # fmt: skip
    for i in range(2):
        filed = w.file(subject=f"Не подписывается контракт {i}")
    resolved = w.desk.resolve(w.agent, filed.id, "Обновили плагин.")
    services = site.services
    process = IncidentProcess(services.desk, services.projections.db)
    analyst = Browser(site, "curator")  # an overseer
    path = f"/releases/{release}/live?after={resolved.position}"
    for _ in range(50):  # the firing, once the trigger's view has counted both requests
        live = analyst.get(path).text
        if "release-firings" in live:
            break
        process.tick()
        time.sleep(0.1)
    firings = live.split('<ul class="release-firings">', 1)[1].split("</ul>", 1)[0]
    assert '<strong class="rule">ЕИС 14.6: Подпись</strong>' in firings, firings
    assert "(100%)" in live and "100.0" not in live  # of the one resolved, on line 1
    ru = analyst.client.get(path, headers={"Accept-Language": "ru"}).text
    assert "(100\xa0%)" in ru and "ЕИС 14.6: Подпись" in ru

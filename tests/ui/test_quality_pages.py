"""CSI and quality pages: the rating link, low-rating follow-ups, reviews and their roll-ups, an
agent's own scores, and who may review."""

from __future__ import annotations

import time
from collections.abc import Iterator
from uuid import UUID

import pytest

from domain.access import Actor
from domain.settings import Settings
from tests.ui.test_desk_and_ticket_pages import Browser
from tests.web.desk_site import LEAKS, ORIGIN, Site, open_site

pytestmark = LEAKS
ALL_YES = {
    "score-correct": "2",
    "score-complete": "2",
    "score-polite": "2",
    "score-template": "2",
    "score-sla": "2",
}


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def post(who: Browser, path: str, form: dict[str, str]) -> int:
    r = who.client.post(path, data={**form, "csrf_token": who.csrf}, headers={"Origin": ORIGIN})
    return int(r.status_code)


def resolved(site: Site, by: Actor, rating: int | None = None) -> UUID:
    w = site.world
    ticket = w.file().id
    if by is w.engineer:
        w.desk.escalate(w.agent, ticket, w.line2, "нужен второй уровень")
    written = w.desk.resolve(by, ticket, "Переподпишите контракт.")
    if rating is not None:
        written = w.desk.rate(w.requester, ticket, rating, "не помогло")
    assert site.services.projections.wait_for(written.position, 10)
    return ticket


def version(site: Site, ticket: UUID) -> int:
    return site.world.desk.ticket(site.world.admin, ticket).version


def number(site: Site, ticket: UUID) -> str:
    return f"№ {site.world.desk.ticket(site.world.admin, ticket).number}<"


def test_the_resolution_links_to_the_rating_form(site: Site) -> None:
    ticket = resolved(site, site.world.agent)
    page = Browser(site, "requester").get(f"/r/{ticket}").text
    assert '<form class="rating stack panel" id="rate"' in page
    assert f'href="/r/{ticket}#rate">Rate the answer</a>' in page
    site.world.desk.rate(site.world.requester, ticket, 5)
    assert "Rate the answer" not in Browser(site, "requester").get(f"/r/{ticket}").text


def test_a_low_rating_asks_the_group_to_follow_up_once(site: Site) -> None:
    low = resolved(site, site.world.agent, 1)
    agent, engineer = Browser(site, "agent"), Browser(site, "engineer")
    deadline = time.monotonic() + 10
    while number(site, low) not in (page := agent.get("/quality/mine").text):
        assert time.monotonic() < deadline, "the follow-up process raised nothing"
        time.sleep(0.1)
    assert page.count(number(site, low)) == 1 and "не помогло" in page
    assert number(site, low) in Browser(site, "quality").get("/quality").text
    assert number(site, low) not in engineer.get("/quality/mine").text, "another group's"
    rated = max(
        e.originator_version for e in site.world.desk.events.get(low) if type(e).__name__ == "Rated"
    )
    path = f"/quality/follow-up/{low}/{rated}"
    assert post(engineer, path, {"note": "звонил"}) == 403
    assert post(Browser(site, "curator"), path, {"note": "звонил"}) == 403
    assert post(agent, path, {"note": ""}) == 422
    assert post(agent, path, {"note": "Позвонили, объяснили."}) == 200
    assert number(site, low) not in agent.get("/quality/mine").text
    raised = [e for e in site.world.desk.events.get(low) if type(e).__name__ == "FollowUpRaised"]
    assert len(raised) == 1


def test_reviews_roll_up_and_agents_see_only_their_own(site: Site) -> None:
    a1, a2 = resolved(site, site.world.agent, 2), resolved(site, site.world.agent)
    e1 = resolved(site, site.world.engineer)
    reviewer = Browser(site, "quality")
    sample = reviewer.get("/quality").text
    assert sample.index(f"review-{a1}") < min(
        sample.index(f"review-{a2}"), sample.index(f"review-{e1}")
    ), "low-rated first"
    # weights 3, 2, 1, 1, 1 (16 points): 10/16 and 15/16 for agent1, 16/16 for engineer2
    assert (
        post(
            reviewer,
            f"/quality/review/{a1}",
            {**ALL_YES, "score-correct": "0", "comment": "неверно"},
        )
        == 200
    )
    assert post(reviewer, f"/quality/review/{a2}", {**ALL_YES, "score-polite": "1"}) == 200
    assert post(reviewer, f"/quality/review/{e1}", ALL_YES) == 200
    page = reviewer.get("/quality").text
    assert '<th scope="row">Agent1</th><td>78.1</td><td>2</td>' in page
    assert '<th scope="row">Engineer2</th><td>100.0</td><td>1</td>' in page
    assert '<th scope="row">line1</th><td>78.1</td><td>2</td>' in page
    assert f"review-{a1}" not in page, "reviewed requests leave the sample"
    mine = Browser(site, "agent").get("/quality/mine").text
    assert "Your score: 78.1% over 2 reviews." in mine
    assert number(site, a1) in mine and number(site, a2) in mine and "неверно" in mine
    assert number(site, e1) not in mine, "never another agent's review"
    theirs = Browser(site, "engineer").get("/quality/mine").text
    assert number(site, e1) in theirs and number(site, a1) not in theirs
    assert Browser(site, "curator").get("/quality").status_code == 200


def test_requesters_and_auditors_cannot_review_and_bad_input_changes_nothing(
    site: Site,
) -> None:
    ticket = resolved(site, site.world.agent)
    before = version(site, ticket)
    for who in ("requester", "auditor", "curator", "agent"):
        assert post(Browser(site, who), f"/quality/review/{ticket}", ALL_YES) == 403, who
    for who in ("requester", "auditor"):
        assert Browser(site, who).get("/quality").status_code == 403
    assert Browser(site, "requester").get("/quality/mine").status_code == 403
    reviewer = Browser(site, "quality")
    assert post(reviewer, f"/quality/review/{ticket}", {**ALL_YES, "score-sla": "3"}) == 422
    assert post(reviewer, f"/quality/review/{ticket}", {"score-correct": "2"}) == 422
    assert post(reviewer, "/quality/review/not-a-ticket", ALL_YES) == 422
    assert version(site, ticket) == before
    assert (
        post(
            reviewer,
            "/quality/checklist",
            {"version": "0", "key-0": "correct", "name-0": "Correct", "weight-0": "99"},
        )
        == 422
    )
    assert (
        post(
            Browser(site, "curator"),
            "/quality/checklist",
            {"version": "0", "key-0": "x", "name-0": "X", "weight-0": "1"},
        )
        == 403
    )
    assert site.world.desk.quality_checklist().items[0].key == "correct"
    assert (
        post(
            reviewer,
            "/quality/checklist",
            {"version": "0", "key-0": "correct", "name-0": "Верный ответ", "weight-0": "1"},
        )
        == 200
    )
    assert [i.name for i in site.world.desk.quality_checklist().items] == ["Верный ответ"]

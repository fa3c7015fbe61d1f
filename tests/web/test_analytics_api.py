"""The overseers' figures through the API: the same figures the analytics page's and the quality
page's queries compute for the same parameters, the same roles, refusals that name the parameter
at fault (after the caller is authorised), and answers that fit the OpenAPI document."""

from __future__ import annotations

import re
import typing
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest

from domain.settings import Settings
from domain.ticket import Channel
from projections import analytics_queries as aq
from projections import quality
from tests.web.api_description import Answers, call
from tests.web.desk_site import LEAKS, Site, open_site
from web.api_schema import analytics as schema
from web.ui import i18n
from web.ui.analytics_pages import labels

pytestmark = LEAKS
PATH, QUALITY = "/api/v1/analytics", "/api/v1/analytics/quality"
ALL_YES = {"correct": 2, "complete": 2, "polite": 2, "template": 2, "sla": 2}


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def desk_of_three(site: Site) -> tuple[str, int]:
    """Three requests: one answered, resolved and rated 4; one resolved, reopened and resolved
    again, rated 2; one answered and left open. Gives the period's query and the last position."""
    w = site.world
    first = w.file(subject="Аналитика: первая")
    w.desk.reply(w.agent, first.id, "Смотрим")
    w.desk.resolve(w.agent, first.id, "Готово")
    w.desk.rate(w.requester, first.id, 4)
    second = w.file(subject="Аналитика: вторая")
    w.desk.resolve(w.agent, second.id, "Готово")
    w.desk.reopen(w.requester, second.id, "Не помогло")
    w.desk.resolve(w.agent, second.id, "Теперь готово")
    w.desk.rate(w.requester, second.id, 2)
    third = w.file(subject="Аналитика: третья")
    position = w.desk.reply(w.agent, third.id, "Смотрим").position
    today = datetime.now(UTC).date()
    return f"from={today - timedelta(days=1)}&to={today + timedelta(days=1)}", position


def number(value: Fraction | None) -> float | None:
    return None if value is None else float(value)


def same_figures(got: dict[str, Any], want: aq.Figures, label: str) -> None:
    """The API's row holds the page's query's figures, field by field."""
    assert got["key"] == want.key and got["label"] == label
    for name, stats in (
        ("first_response", want.first_response),
        ("resolution", want.resolution),
        ("handling", want.handling),
    ):
        assert got[name] == {
            "count": stats.count,
            "mean": number(stats.mean),
            "median": number(stats.median),
            "p90": number(stats.p90),
        }, name
    counts = {
        "filed": want.filed,
        "resolved": want.resolved,
        "line1_resolved": want.line1,
        "reopened": want.reopened,
        "ever_resolved": want.ever_resolved,
        "info_requests": want.info_requests,
        "within_sla": want.within_sla,
        "rated": want.rated,
        "earlier_ratings": want.earlier_ratings,
        "replaced_ratings": want.replaced_ratings,
    }
    shares = {"line1_share": want.line1_share, "reopen_rate": want.reopen_rate,
              "info_per_request": want.info_per_request,
              "sla_compliance": want.sla_compliance, "csi": want.csi,
              "response_rate": want.response_rate,
              "earlier_csi": want.earlier_csi}  # fmt: skip
    assert {k: got[k] for k in counts} == counts
    assert {k: got[k] for k in shares} == {k: number(v) for k, v in shares.items()}
    assert got["ratings"] == [want.ratings[s] for s in range(1, 6)]


def test_the_api_answers_the_pages_figures_for_every_dimension(site: Site) -> None:
    period, position = desk_of_three(site)
    check, curator = Answers(), site.sign_in("curator")
    for by in aq.DIMENSIONS:
        got = check(call(curator, "GET", f"{PATH}?{period}&by={by}&after={position}"), "get",
                    PATH, 200)  # fmt: skip
        assert got["by"] == by and got["position"] >= position
        with site.services.projections.db.read() as tx:
            start, end = aq.period(got["from"], got["to"])
            want = aq.report(tx, start, end, by)
            i18n.use(i18n.choose(None, None))  # the API's language for a caller who names none
            names = labels(tx, by, [r.key for r in want.rows])
        assert [r["key"] for r in got["rows"]] == [r.key for r in want.rows], by
        for row, figures in zip(got["rows"], want.rows, strict=True):
            same_figures(row, figures, names[figures.key])
        same_figures(got["total"], want.total, "")
        assert got["backlog"] == [{"age": a, "count": n} for a, n in want.backlog]
    # and the figures are the ones the desk's story gives, not merely equal to a query's
    total = got["total"]
    assert total["filed"] == 3 and total["resolved"] == 2 and total["rated"] == 2
    assert total["csi"] == 3.0 and total["ratings"] == [0, 1, 0, 1, 0]
    assert total["reopened"] == 1 and total["ever_resolved"] == 2 and total["reopen_rate"] == 0.5
    assert total["first_response"]["count"] == 3 and total["response_rate"] == 1.0
    assert sum(b["count"] for b in got["backlog"]) == 1
    earlier = (total["earlier_ratings"], total["earlier_csi"], total["replaced_ratings"])
    assert earlier == (0, None, 0)


def test_channels_keep_their_keys_and_are_labelled_as_the_page_names_them(site: Site) -> None:
    """By channel the rows keep the channel's key ("email", "phone") for programs and carry the
    label a person reads, in the caller's language, as every page names the channel."""
    w = site.world
    values = {"contract_number": "1234567890123456789"}
    for channel, subject in ((Channel.EMAIL, "По почте"), (Channel.PHONE, "По телефону")):
        w.desk.file_ticket(w.requester, w.contracts, subject, "Ошибка подписи", values, channel)
    position = w.file(subject="Из кабинета").position
    today = datetime.now(UTC).date()
    query = f"{PATH}?from={today}&to={today}&by=channel&after={position}"
    curator = site.sign_in("curator")
    for language, want in (
        ("ru", {"email": "Электронная почта", "phone": "Телефон", "cabinet": "Личный кабинет"}),
        ("en", {"email": "E-mail", "phone": "Phone", "cabinet": "Cabinet"}),
    ):
        r = curator.client.get(query, headers={"Accept-Language": language})
        assert r.status_code == 200, r.text
        got = {row["key"]: row["label"] for row in r.json()["rows"]}
        assert got == want, language


def _page_cells(html: str) -> dict[str, list[str]]:
    """The analytics page's figures table: each row's label and its cells' text."""
    table = html.split('<table class="list figures">', 1)[1].split("</table>", 1)[0]
    rows = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        label = re.search(r'<th scope="row">(.*?)</th>', tr, re.S)
        if label:
            cells = re.findall(r'<td class="num">(.*?)</td>', tr, re.S)
            rows[label.group(1).strip()] = [re.sub(r"<[^>]+>", "", c).strip() for c in cells]
    return rows


def test_line_1_leaves_out_escalations_and_mass_incidents_alike_in_the_api_and_on_the_page(
    site: Site,
) -> None:
    """Four resolved requests: one by line 1 alone, one escalated to line 2 and resolved by an
    engineer, one resolved by a mass incident's answer, one rated, reopened and rated again.
    The API and the page both say line 1 resolved 2 of 4 (50%), per line and in total, and
    both report the earlier rating the reopening withdrew."""
    w = site.world
    own = w.file(subject="Линия 1")
    w.desk.resolve(w.agent, own.id, "Готово")
    up = w.file(subject="Инженерам")
    w.desk.escalate(w.agent, up.id, w.line2, "Нужен инженер")
    w.desk.resolve(w.engineer, up.id, "Исправлено")
    mass = w.file(subject="Сбой")
    incident = w.desk.open_incident(w.developer, "Сбой ЭЦП", "Знаем, чиним.").id
    w.desk.link_to_incident(w.agent, incident, (mass.id,))
    w.desk.resolve_incident(w.developer, incident, "Сбой устранён.")
    again = w.file(subject="Переоткрыт")
    w.desk.resolve(w.agent, again.id, "Готово")
    w.desk.rate(w.requester, again.id, 2)
    w.desk.reopen(w.requester, again.id, "Не помогло")
    w.desk.resolve(w.agent, again.id, "Теперь готово")
    position = w.desk.rate(w.requester, again.id, 4).position
    today = datetime.now(UTC).date()
    query = f"from={today}&to={today}&by=line&after={position}"
    curator = site.sign_in("curator")
    got = Answers()(call(curator, "GET", f"{PATH}?{query}"), "get", PATH, 200)
    by_line = {r["key"]: r for r in got["rows"]}
    assert (got["total"]["resolved"], got["total"]["line1_resolved"]) == (4, 2)
    assert got["total"]["line1_share"] == 0.5
    assert (by_line["1"]["resolved"], by_line["1"]["line1_resolved"]) == (3, 2)
    assert (by_line["2"]["resolved"], by_line["2"]["line1_resolved"]) == (1, 0)
    total = got["total"]
    assert (total["csi"], total["earlier_ratings"], total["earlier_csi"]) == (4.0, 1, 2.0)
    assert total["replaced_ratings"] == 1
    page = curator.client.get(f"/analytics?{query}", headers={"Accept-Language": "en"})
    assert page.status_code == 200, page.text
    cells = _page_cells(page.text)
    line1_column = 11  # filed, 9 durations, resolved, then line 1 %
    assert cells["All"][line1_column] == "50.0" == f"{got['total']['line1_share'] * 100:.1f}"
    assert cells["Line 1"][line1_column] == "66.7"
    assert cells["Line 2"][line1_column] == "0.0"
    assert [cells[k][10] for k in ("Line 1", "Line 2", "All")] == ["3", "1", "4"]
    assert "Earlier ratings withdrawn by a reopening (not in CSI): 1." in page.text
    assert "Their mean: 2.00; replaced by a later rating: 1." in page.text
    ru = curator.client.get(f"/analytics?{query}", headers={"Accept-Language": "ru"})
    cells = _page_cells(ru.text)  # the same figures, with the Russian decimal comma
    assert [cells[k][line1_column] for k in ("1-я линия", "2-я линия", "Всего")] == [
        "66,7", "0,0", "50,0"]  # fmt: skip


def test_the_defaults_are_the_pages_this_month_by_day(site: Site) -> None:
    got = Answers()(call(site.sign_in("admin"), "GET", PATH), "get", PATH, 200)
    today = datetime.now(UTC).date()
    assert (got["from"], got["to"], got["by"]) == (
        today.replace(day=1).isoformat(),
        today.isoformat(),
        "day",
    )


def test_the_pages_roles_read_it_others_are_refused_before_a_parameter_is_read(
    site: Site,
) -> None:
    check = Answers()
    for who in ("curator", "auditor", "quality", "methodologist", "admin"):
        check(call(site.sign_in(who), "GET", PATH), "get", PATH, 200)
    for who in ("requester", "agent", "engineer", "developer"):
        person = site.sign_in(who)
        refused = check(call(person, "GET", f"{PATH}?from=nonsense&by=nope"), "get", PATH, 403)
        assert refused["error"]["code"] == "forbidden", who
        assert "rows" not in refused
    russian = site.sign_in("agent").client.get(PATH, headers={"Accept-Language": "ru"})
    assert check(russian, "get", PATH, 403)["detail"].startswith("Аналитика доступна")
    nobody = site.new_client()
    refused = check(call(nobody, "GET", f"{PATH}?by=nope"), "get", PATH, 401)
    assert refused["status"] == 401


def test_bad_parameters_answer_422_naming_the_parameter(site: Site) -> None:
    check, analyst = Answers(), site.sign_in("curator")
    cases = {
        "from=2026-13-01&to=2026-12-31": ["from"],
        "from=2026-01-01&to=yesterday": ["to"],
        "from=2026-03-01&to=2026-02-01": ["from", "to"],
        "from=2000-01-01&to=2026-01-01": ["from", "to"],
        "from=2026-01-01&to=2026-01-31&by=nope": ["by"],
        "by=" + "x" * 5000: ["by"],
    }
    for query, fields in cases.items():
        r = call(analyst, "GET", f"{PATH}?{query}")
        assert r.headers["content-type"].startswith("application/problem+json"), query
        refused = check(r, "get", PATH, 422)
        assert refused["error"]["fields"] == fields, query
        assert refused["error"]["code"] == "invalid_input"


def test_the_quality_rollups_are_the_quality_pages(site: Site) -> None:
    w = site.world
    ticket = w.file(subject="Качество")
    w.desk.resolve(w.agent, ticket.id, "Готово")
    position = w.desk.review_quality(w.quality, ticket.id, ALL_YES).position
    check = Answers()
    got = check(call(site.sign_in("quality"), "GET", f"{QUALITY}?after={position}"), "get",
                QUALITY, 200)  # fmt: skip
    with site.services.projections.db.read() as tx:
        agents, groups = quality.rollups(tx, "resolver_id"), quality.rollups(tx, "group_id")
    for shown, want in ((got["agents"], agents), (got["groups"], groups)):
        assert [(r["key"], r["points"], r["max_points"], r["reviews"], r["share"])
                for r in shown] == [(r.key, r.points, r.max_points, r.count, float(r.share))
                                    for r in want]  # fmt: skip
    assert [(r["key"], r["reviews"], r["share"]) for r in got["agents"]] == [
        (str(w.agent.id), 1, 1.0)
    ]
    assert got["agents"][0]["label"] not in ("", "—", str(w.agent.id))
    for who in ("curator", "admin"):
        check(call(site.sign_in(who), "GET", QUALITY), "get", QUALITY, 200)
    for who in ("agent", "auditor", "methodologist", "requester"):
        check(call(site.sign_in(who), "GET", QUALITY), "get", QUALITY, 403)
    check(call(site.new_client(), "GET", QUALITY), "get", QUALITY, 401)


def test_the_documented_dimensions_and_ages_are_the_queries() -> None:
    assert typing.get_args(schema.Dimension) == aq.DIMENSIONS
    age = typing.get_type_hints(schema.BacklogBucket)["age"]
    assert typing.get_args(age) == tuple(a for a, _ in aq.AGE_BUCKETS)

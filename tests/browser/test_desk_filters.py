"""An agent's desk at scale, in a real browser (issue 18): he filters the list, saves the filter
as a view, sees its count in the sidebar follow a change made elsewhere, ticks two requests and
assigns them to himself in one go."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.site import LIVE, DeskSite, People


def _moved_to_line_2_low(site: DeskSite, subject: str) -> dict[str, Any]:
    """A request filed, made low priority and escalated to line 2 through the API."""
    filed = site.file(subject)
    with site.api("agent").client() as client:
        version = filed["version"]
        line2 = {"group": str(site.world.line2), "reason": "Нужен инженер"}
        for path, body in (("priority", {"priority": "low"}), ("escalations", line2)):
            r = client.post(f"/api/v1/tickets/{filed['id']}/{path}", json=body,
                            headers={"If-Match": f'"{version}"'})  # fmt: skip
            assert r.status_code in (200, 201), r.text
            version = r.json()["version"]
    return filed


def test_an_agent_filters_saves_a_view_sees_its_count_and_assigns_two_in_bulk(
    people: People, desk_site: DeskSite
) -> None:
    first = _moved_to_line_2_low(desk_site, "Не формируется печатная форма")
    second = _moved_to_line_2_low(desk_site, "Не формируется извещение")
    agent = people.sign_in("agent")
    agent.locator("a[data-queue='filter']").click()
    filters = agent.locator("#filter-form")
    filters.locator("input[name=status][value=active]").check()
    filters.locator("input[name=line][value='2']").check()
    filters.locator("input[name=priority][value=low]").check()
    agent.locator("#filter-apply").click()
    expect(agent).to_have_url(re.compile(r"status=active&line=2&priority=low"))
    rows = agent.locator("#list tbody tr")
    for filed in (first, second):
        expect(agent.locator(f"#list tr[data-ticket='{filed['id']}']")).to_be_visible()

    agent.locator("#view-name").fill("Вторая линия, низкий приоритет")
    agent.locator("#view-save").click()
    expect(agent).to_have_url(re.compile(r"/desk\?view="))
    view = agent.locator("#queues a", has_text="Вторая линия, низкий приоритет")
    count = view.locator(".count")
    shown = rows.count()
    expect(count).to_have_text(str(shown))

    third = _moved_to_line_2_low(desk_site, "Не подписывается протокол")  # elsewhere: live
    expect(count).to_have_text(str(shown + 1), timeout=LIVE)
    expect(agent.locator(f"#list tr[data-ticket='{third['id']}']")).to_be_visible(timeout=LIVE)

    for filed in (first, second):
        agent.locator(f"#list tr[data-ticket='{filed['id']}'] input[name=pick]").check()
    agent.locator("#bulk-action").select_option("assign")
    agent.locator("#bulk-assignee").select_option("me")
    agent.locator("#bulk-apply").click()
    expect(agent.locator("#bulk-outcomes tr.done")).to_have_count(2)
    expect(agent.locator("#bulk-outcomes tr.refused")).to_have_count(0)
    expect(agent.locator("#bulk-summary")).to_contain_text("2")
    agent.locator("#bulk-back").click()
    for filed in (first, second):
        expect(agent.locator(f"#list tr[data-ticket='{filed['id']}']")).to_contain_text("Agent1")
    expect(agent.locator(f"#list tr[data-ticket='{third['id']}']")).not_to_contain_text("Agent1")

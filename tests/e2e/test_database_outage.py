"""PostgreSQL goes away under a running desk and comes back: callers are told 503 with
Retry-After (JSON for the API, the error page for a browser), never a 500, and the desk recovers
by itself, without a restart. The outage is a TCP proxy the test cuts, not the shared server."""

from __future__ import annotations

import time

import pytest

from tests.e2e.outage_site import proxy, site  # noqa: F401
from tests.e2e.tcp_proxy import Proxy
from tests.web.desk_site import LEAKS, Site

pytestmark = [LEAKS, pytest.mark.postgres]
MESSAGE_RU = "Сервис ненадолго недоступен (хранилище). Повторите попытку чуть позже."


def test_an_outage_answers_503_with_retry_after_and_the_desk_recovers_by_itself(
    site: Site,  # noqa: F811
    proxy: Proxy,  # noqa: F811
) -> None:
    requester = site.sign_in("requester")
    filed = site.file(requester)
    before = requester.get(f"/api/v1/tickets/{filed['id']}?after={filed['position']}")
    assert before.status_code == 200, before.text

    proxy.cut()  # every pooled connection dies; new ones are refused
    api = requester.get(f"/api/v1/tickets/{filed['id']}")
    assert api.status_code == 503, api.text
    assert api.headers["retry-after"] == "5"
    # RFC 9457 problem details around it (tests/web/test_problem_details.py)
    assert api.json()["error"] == {"code": "unavailable", "message": MESSAGE_RU, "fields": []}
    browser = requester.client.get("/", headers={"accept": "text/html"})
    assert browser.status_code == 503
    assert browser.headers["content-type"].startswith("text/html")
    assert browser.headers["retry-after"] == "5"
    assert MESSAGE_RU in browser.text

    proxy.restore()  # the database is back: the same process serves again
    answers = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer = requester.get(f"/api/v1/tickets/{filed['id']}")
        answers.append(answer.status_code)
        if answer.status_code == 200:
            break
        time.sleep(0.5)
    assert answers[-1] == 200 and set(answers) <= {200, 503}, answers
    again = site.file(requester)  # a write goes through the event store's pool again
    seen = requester.get(f"/api/v1/tickets/{again['id']}?after={again['position']}")
    assert seen.status_code == 200, seen.text

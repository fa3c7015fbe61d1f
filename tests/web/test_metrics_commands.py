"""/metrics counts the commands the desk handled, by kind and outcome (the web edge wraps the
process's Desk.handle: web/metrics.py), and, on PostgreSQL, the pools' connections."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import pytest

from domain.settings import Settings
from tests.web.desk_site import LEAKS, Site, open_site

pytestmark = LEAKS
TOKEN = "commands-metrics-token"


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(replace(settings, metrics_token=TOKEN), monkeypatch) as s:
        yield s


def count(text: str, kind: str, outcome: str) -> int:
    found = re.search(rf'^suz_commands_total{{kind="{kind}",outcome="{outcome}"}} (\d+)\.0$',
                      text, re.MULTILINE)  # fmt: skip
    return int(found.group(1)) if found else 0


def test_commands_by_kind_and_outcome(site: Site, settings: Settings) -> None:
    requester, agent = site.sign_in("requester"), site.sign_in("agent")
    filed = site.file(requester)
    ticket, version = filed["id"], filed["version"]
    assert agent.command(ticket, "notes", version, body="первая").status_code == 200
    assert agent.command(ticket, "notes", version + 1, body="вторая").status_code == 200
    stale = agent.command(ticket, "notes", version + 50, body="из будущего")
    assert stale.status_code == 409, stale.text
    text = site.new_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    assert count(text, "AddNote", "ok") == 2, text
    assert count(text, "AddNote", "conflict") == 1, text
    if settings.uses_postgres:  # the pools are sampled after requests and at each scrape
        assert re.search(r'^suz_db_pool_connections\{pool="views",state="idle"\} \d+\.0$', text,
                         re.MULTILINE), text  # fmt: skip
        assert 'suz_db_pool_connections{pool="events",state="in_use"}' in text
    else:
        assert "suz_db_pool_connections{" not in text  # SQLite: no pool

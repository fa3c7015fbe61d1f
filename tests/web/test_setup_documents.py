"""Every set-up document (routing rules, the SLA set-up, trigger rules) keeps one contract
(web/setup_document.py): the staff read it with its version as the ETag; a replacement sent
with If-Match of an older version is refused with 409 naming the current one and changes
nothing; a requester may not read it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from domain.settings import Settings
from tests.web.desk_site import LEAKS, Site, open_site

pytestmark = LEAKS

# each document's path and a whole, valid replacement
DOCUMENTS: dict[str, dict[str, Any]] = {
    "/api/v1/routing/rules": {"rules": []},
    "/api/v1/sla": {
        "calendars": [{"key": "24x7", "name": "Всегда", "always": True}],
        "policies": [],
        "auto_close_days": 3,
    },
    "/api/v1/incidents/triggers": {"rules": []},
}


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


@pytest.mark.parametrize("path", list(DOCUMENTS))
def test_a_set_up_document_is_replaced_only_against_the_version_its_editor_saw(
    site: Site, path: str
) -> None:
    admin, agent = site.sign_in("admin"), site.sign_in("agent")
    first = agent.get(path)
    assert first.status_code == 200, first.text
    seen = first.json()["version"]
    assert first.headers["etag"] == f'"{seen}"'

    saved = admin.client.put(path, json=DOCUMENTS[path], headers=admin.headers(seen))
    assert saved.status_code == 200, saved.text
    now = saved.json()["version"]  # 2 from a document never saved: started, then changed
    assert now > seen and saved.headers["etag"] == f'"{now}"'

    stale = admin.client.put(path, json=DOCUMENTS[path], headers=admin.headers(seen))
    assert stale.status_code == 409
    assert stale.headers["content-type"] == "application/problem+json"
    assert stale.json()["error"]["current_version"] == now
    after = agent.get(path)
    assert (after.json()["version"], after.headers["etag"]) == (now, f'"{now}"')

    requester = site.sign_in("requester")
    assert requester.get(path).status_code == 403

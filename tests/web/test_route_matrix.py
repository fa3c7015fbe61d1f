"""Every operation of the API document, tried by an auditor (read-only), by a requester and by
nobody: none may change the desk except through the few routes that are theirs to use."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from domain.settings import Settings
from tests.web.desk_site import LEAKS, ORIGIN, Person, Site, open_site
from web.openapi import document

pytestmark = LEAKS
OWN_ACCOUNT = {  # what any signed-in person may do to his own account
    ("post", "/api/v1/session"),
    ("delete", "/api/v1/session"),
    ("post", "/api/v1/me/password"),
    ("post", "/api/v1/me/tokens"),
    ("delete", "/api/v1/me/tokens/{token_id}"),
    ("post", "/api/v1/kb/articles/{article_id}/{action}"),  # "helped" is anyone's to say
}
REQUESTER_MAY = OWN_ACCOUNT | {
    ("post", "/api/v1/tickets"),
    ("post", "/api/v1/tickets/{ticket_id}/attachments"),
    ("post", "/api/v1/tickets/{ticket_id}/messages"),
    ("post", "/api/v1/tickets/{ticket_id}/information"),
    ("post", "/api/v1/tickets/{ticket_id}/reopening"),
    ("post", "/api/v1/tickets/{ticket_id}/rating"),
}


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def value(name: str, schema: dict[str, Any], ids: dict[str, str]) -> Any:
    if name in ids:
        return ids[name]
    if schema.get("type") == "integer":
        return ids["version"]
    if schema.get("type") == "array":
        return []
    if schema.get("type") == "object":
        return {}
    if "enum" in schema:
        return schema["enum"][0]
    return "10 characters or more"


def calls(ids: dict[str, str]) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(method, template, url, body) for every state-changing operation, filled in."""
    for template, methods in document()["paths"].items():
        for method, operation in methods.items():
            if method == "get":
                continue
            url = template
            for p in operation["parameters"]:
                if p["in"] == "path":
                    url = url.replace(
                        "{" + p["name"] + "}", str(value(p["name"], p["schema"], ids))
                    )
            schema = (
                operation.get("requestBody", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {})
            )
            body = {k: value(k, v, ids) for k, v in schema.get("properties", {}).items()}
            yield method, template, url, body


def send(person: Person | None, site: Site, method: str, url: str, body: dict[str, Any]) -> int:
    client = person.client if person else site.new_client()
    headers = person.headers() if person else {"Origin": ORIGIN}
    status: int = client.request(method.upper(), url, json=body, headers=headers).status_code
    return status


def test_no_state_changes_by_those_who_may_not(site: Site) -> None:
    requester, auditor = site.sign_in("requester"), site.sign_in("auditor")
    filed = site.file(site.sign_in("colleague"))  # not the requester's own: he may only read it
    w = site.world
    ids = {
        "ticket_id": filed["id"],
        "version": filed["version"],
        "group": str(w.line2),
        "group_id": str(w.line2),
        "account_id": str(w.agent.id),
        "other": filed["id"],
        "category": str(w.contracts),
        "category_id": str(w.contracts),
        "article_id": "00000000-0000-4000-8000-000000000000",
        "token_id": "00000000-0000-4000-8000-000000000001",
        "organisation": str(w.org),
        "assignee": str(w.agent.id),
    }
    allowed: list[tuple[str, str, str, int]] = []
    for method, template, url, body in calls(ids):
        for who, person, may in (
            ("auditor", auditor, OWN_ACCOUNT),
            ("colleague's ticket: requester", requester, REQUESTER_MAY),
            (
                "anonymous",
                None,
                {
                    ("post", "/api/v1/session"),
                    ("post", "/api/v1/tickets"),
                    ("delete", "/api/v1/session"),
                },
            ),
        ):
            if person is not None and (method, template) == ("delete", "/api/v1/session"):
                continue  # signing out here would turn the rest of the checks into anonymous ones
            status = send(person, site, method, url, body)
            assert status < 500, (who, method, url, status)
            if 200 <= status < 300 and (method, template) not in may:
                allowed.append((who, method, url, status))
    assert allowed == []
    assert requester.get("/api/v1/me").status_code == 200  # still signed in: checks were real
    assert auditor.get("/api/v1/me").status_code == 200
    after = requester.ticket(filed["id"])
    assert [e["event"] for e in after["timeline"]] == ["Filed"]

"""Every refusal answers RFC 9457 problem details (`application/problem+json`: type, title,
status, detail, instance) and keeps the earlier `error` member inside, so older clients still
read `error.code`, `error.fields` and a conflict's `error.current_version`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.settings import Settings
from tests.e2e.test_disk_full import fill, tiny_disk, upload
from tests.web.desk_site import LEAKS, Site, open_site

pytestmark = LEAKS
__all__ = ["tiny_disk"]  # the fixture, used by name below


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def problem(r: httpx.Response) -> dict[str, Any]:
    assert r.headers["content-type"] == "application/problem+json", r.text
    body: dict[str, Any] = r.json()
    return body


def test_a_missing_ticket_is_a_not_found_problem(site: Site) -> None:
    agent = site.sign_in("agent")
    agent.client.headers["Accept-Language"] = "en"
    path = f"/api/v1/tickets/{uuid.uuid4()}"

    r = agent.get(path)

    assert r.status_code == 404
    body = problem(r)
    assert {k: body[k] for k in ("type", "status", "instance")} == {
        "type": "tag:suz,2026:problem:not_found",
        "status": 404,
        "instance": path,
    }
    assert body["title"] and body["detail"] == body["error"]["message"]  # English asked
    assert body["error"]["code"] == "not_found"


def test_a_stale_version_is_a_conflict_problem_with_the_current_version(site: Site) -> None:
    requester, agent = site.sign_in("requester"), site.sign_in("agent")
    agent.client.headers["Accept-Language"] = "en"
    filed = site.file(requester)
    replied = agent.command(filed["id"], "replies", filed["version"], body="Первый ответ.").json()

    stale = agent.command(filed["id"], "replies", filed["version"], body="Второй ответ.")

    assert stale.status_code == 409
    body = problem(stale)
    assert (body["type"], body["status"]) == ("tag:suz,2026:problem:conflict", 409)
    assert body["instance"] == f"/api/v1/tickets/{filed['id']}/replies"
    assert body["error"]["current_version"] == replied["version"]
    assert body["detail"] == body["error"]["message"]  # English asked
    russian = agent.client.post(
        f"/api/v1/tickets/{filed['id']}/replies", json={"body": "Третий ответ."},
        headers={**agent.headers(filed["version"]), "Accept-Language": "ru"},
    )  # fmt: skip
    said = problem(russian)
    assert (said["title"], said["error"]["code"]) == ("Конфликт", "conflict")
    seen = filed["version"]
    said_first = f"Пока вы работали, здесь произошли изменения: вы видели версию {seen}, "
    assert said["detail"].startswith(said_first), said
    assert said["error"]["message"] == body["error"]["message"]  # as the domain said it


def test_a_filing_without_a_required_field_is_an_invalid_input_problem_naming_it(
    site: Site,
) -> None:
    requester = site.sign_in("requester")
    head = site.services.desk.recorder.max_notification_id()

    r = requester.post("/api/v1/tickets", {**site.filing(), "fields": {}})

    assert r.status_code == 422
    body = problem(r)
    assert (body["status"], body["instance"]) == (422, "/api/v1/tickets")
    assert body["type"] == f"tag:suz,2026:problem:{body['error']['code']}"
    assert body["error"]["fields"] == ["contract_number"]
    assert site.services.desk.recorder.max_notification_id() == head  # nothing written


def test_a_query_string_never_appears_in_the_instance(site: Site) -> None:
    visitor = site.new_client()
    path = f"/api/v1/tickets/{uuid.uuid4()}"

    r = visitor.get(f"{path}?key=secret-link-key")

    assert problem(r)["instance"] == path


def test_a_full_disk_is_an_unavailable_problem_with_retry_after(
    tiny_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tiny_disk / "data", database_url=None)
    with open_site(settings, monkeypatch) as site:
        requester = site.sign_in("requester")
        requester.client.headers["Accept-Language"] = "en"
        filed = site.file(requester)
        fill(tiny_disk)

        full = upload(requester, filed["id"], filed["version"])

        assert full.status_code == 503
        assert full.headers["retry-after"].isdigit()
        body = problem(full)
        assert (body["type"], body["status"]) == ("tag:suz,2026:problem:unavailable", 503)
        assert body["instance"] == f"/api/v1/tickets/{filed['id']}/attachments"
        assert body["detail"] == body["error"]["message"] and body["error"]["fields"] == []

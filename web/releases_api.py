"""GET /api/v1/releases and /api/v1/releases/{id}: release readiness as JSON (web/api_schema/
releases.py), read with the pages' own loader (web/ui/release_pages.py `load_one`), so nothing
is computed a second way. The caller is authorised before anything is read: the staff only;
a requester is refused the list (403) and told no release exists (404)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.access import may_read_releases
from domain.errors import Forbidden, NotFound
from projections import releases as view
from web.api_schema import releases as schema
from web.auth import authenticate, services, signed_in
from web.http import json, wait_for_views
from web.ui import i18n, release_pages
from web.ui.i18n import lazy

STAFF_ONLY = lazy("Releases are for the desk's staff.")


def _language(request: Request) -> None:
    i18n.use(i18n.choose(request.cookies.get(i18n.COOKIE),
                         request.headers.get("accept-language")))  # fmt: skip


def summary(r: view.ReleaseRow) -> schema.ReleaseSummary:
    s = r.scope
    return schema.ReleaseSummary(id=UUID(r.id), name=s.name, day=s.day, last_day=s.last_day,
                                 components=list(s.components), category_ids=list(s.categories),
                                 words=list(s.words), version=r.version,
                                 questions=len(r.questions), requests=r.requests)  # fmt: skip


def _topic(t: view.Topic) -> schema.Topic:
    share = t.line1_share
    return schema.Topic(category_id=UUID(t.key) if t.key else None, requests=t.requests,
                        resolved=t.resolved, line1_resolved=t.line1,
                        line1_share=None if share is None else float(share))  # fmt: skip


def one(data: dict[str, Any], position: int) -> schema.Release:
    r: view.ReleaseRow = data["r"]
    live: view.Live = data["live"]
    articles = data["articles"]
    questions = []
    for q in r.questions:
        a = articles.get(str(q.article_id)) if q.article_id else None
        f = live.questions.get(str(q.id))
        state = None if a is None else schema.ArticleState(
            id=UUID(a.id), title=a.title_ru or a.title_en, stage=a.stage,
            published_revision=a.published_revision)  # fmt: skip
        questions.append(schema.ReleaseQuestion(
            id=q.id, text=q.text, keywords=list(q.keywords), article=state,
            asked=f.asked if f else 0, answered=f.answered if f else 0,
            helped=f.helped if f else 0))  # fmt: skip
    watches = [schema.ReleaseWatch(rule_id=UUID(w), name=rule.name if rule else "",
                                   threshold=rule.threshold if rule else None,
                                   window_minutes=rule.window_minutes if rule else None,
                                   fired=live.fired.get(w, 0))
               for w, rule in data["watched"]]  # fmt: skip
    return schema.Release(
        release=summary(r),
        questions=questions,
        watches=watches,
        reports=[schema.Report(label=label, href=href) for label, href in data["reports"]],
        live=schema.ReleaseLive(
            total=_topic(live.total), topics=[_topic(t) for t in live.topics],
            line1_aim=live.aim / 100,
            firings=[schema.Firing(rule_id=UUID(f.rule_id), at=datetime.fromisoformat(f.at),
                                   count=f.count, incident_id=UUID(f.incident_id))
                     for f in live.firings],
            latest=[UUID(t) for t in live.latest]),
        position=position,
    )  # fmt: skip


async def list_releases(request: Request) -> Response:
    _language(request)
    actor = signed_in(await authenticate(request))
    if not may_read_releases(actor):
        raise Forbidden(i18n.gettext(STAFF_ONLY))
    await wait_for_views(request)
    svc = services(request)

    def load() -> schema.Releases:
        position = svc.projections.positions.reached("releases")
        with svc.projections.db.read() as tx:
            rows = view.releases(tx)
        return schema.Releases(releases=[summary(r) for r in rows], position=position)

    return json(msgspec.to_builtins(await run_in_threadpool(load)))


async def get_release(request: Request) -> Response:
    _language(request)
    actor = signed_in(await authenticate(request))
    if not may_read_releases(actor):
        raise NotFound(i18n.gettext(release_pages.NO_RELEASE))
    rid = release_pages.release_id(request)
    await wait_for_views(request)
    position = services(request).projections.positions.reached("releases")
    data = await run_in_threadpool(release_pages.load_one, request, rid)
    return json(msgspec.to_builtins(one(data, position)))


routes = [
    Route("/api/v1/releases", list_releases),
    Route("/api/v1/releases/{release_id}", get_release),
]

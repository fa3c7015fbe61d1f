"""CSI follow-ups and quality review pages.

`/quality` (quality reviewers, curators, administrators): today's sample of resolved requests not
yet reviewed (low-rated first, then a random sample fixed for the day), a review form per request
(reviewers only), the roll-ups per agent and group, open follow-ups of low ratings, and the
checklist (edited by reviewers). `/quality/mine` (agents): their own reviews and score only, and
the follow-ups of their groups' low ratings, which they close with a note.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.errors import DeskError, InvalidInput
from domain.quality import ChecklistItem
from domain.results import Written
from projections import catalog, quality
from web.auth import services
from web.ui.guard import Viewer, need, ui
from web.ui.i18n import lazy
from web.ui.lookups import account_names, group_names
from web.ui.refusals import translated
from web.ui.render import page

# the default checklist's names, for extraction (the page shows `_(name)`)
DEFAULT_NAMES = (
    lazy("Correct answer"),
    lazy("Complete"),
    lazy("Polite"),
    lazy("Template used properly"),
    lazy("Within SLA"),
)
READERS = ("quality", "curator", "admin")


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _ticket_id(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise InvalidInput("No such request.", ["ticket"]) from None


def _load(request: Request) -> dict[str, Any]:
    svc = services(request)
    with svc.projections.db.read() as tx:
        sample = quality.sample(tx, datetime.now(UTC).date())
        agents = quality.rollups(tx, "resolver_id")
        groups = quality.rollups(tx, "group_id")
        recent = quality.reviews(tx, limit=30)
        follow = quality.follow_ups(tx)
        people = account_names(
            tx,
            [
                *(a.key for a in agents),
                *(c.resolver_id for c in sample),
                *(r.resolver_id for r in recent),
                *(r.reviewer_id for r in recent),
            ],
        )
        teams = group_names(
            tx,
            [
                *(g.key for g in groups),
                *(c.group_id for c in sample),
                *(f.group_id for f in follow),
            ],
        )
    checklist = svc.desk.quality_checklist()
    return {
        "sample": sample,
        "agents": agents,
        "groups": groups,
        "recent": recent,
        "follow_ups": follow,
        "people": people,
        "teams": teams,
        "checklist": checklist,
        "version": checklist.saved_version,
    }


async def _page(
    request: Request, status: int = 200, error: str | None = None, form_error: str | None = None
) -> Response:
    data = await run_in_threadpool(_load, request)
    return page(
        request,
        "quality/page.html",
        status,
        nav="quality",
        error=error,
        form_error=form_error,
        **data,
    )


async def _caught_up(request: Request, written: Written) -> None:
    projections = services(request).projections
    await run_in_threadpool(projections.wait_for, written.position, 5.0, ["quality"])


@ui
async def quality_page(request: Request, viewer: Viewer) -> Response:
    need(viewer, *READERS)
    return await _page(request)


def scores_from(form: FormData, keys: list[str]) -> dict[str, int]:
    scores: dict[str, int] = {}
    for key in keys:
        value = _text(form, f"score-{key}")
        if value not in ("0", "1", "2"):
            raise InvalidInput("Each item scores 0, 1 or 2.", ["scores"])
        scores[key] = int(value)
    return scores


@ui
async def review(request: Request, viewer: Viewer) -> Response:
    need(viewer, "quality")
    form = await request.form()
    desk = services(request).desk
    try:
        ticket = _ticket_id(str(request.path_params["ticket_id"]))
        keys = [i.key for i in (await run_in_threadpool(desk.quality_checklist)).items]
        scores = scores_from(form, keys)
        written = await run_in_threadpool(
            desk.review_quality, viewer.actor, ticket, scores, _text(form, "comment")
        )
    except InvalidInput as e:
        return await _page(request, 422, error=translated(e.message))
    await _caught_up(request, written)
    return await _page(request)


def items_from(form: FormData) -> tuple[ChecklistItem, ...]:
    rows = sorted(
        {
            int(k.split("-", 1)[1])
            for k in form
            if k.startswith("key-") and k.split("-", 1)[1].isdigit()
        }
    )
    items = []
    for i in rows:
        key, name, weight = (
            _text(form, f"key-{i}"),
            _text(form, f"name-{i}"),
            _text(form, f"weight-{i}"),
        )
        if not key and not name:
            continue
        if _text(form, f"delete-{i}"):
            continue
        if not weight.isdigit():
            raise InvalidInput("A weight is a whole number from 1 to 10.", ["weight"])
        items.append(ChecklistItem(key, name, int(weight)))
    return tuple(items)


@ui
async def save_checklist(request: Request, viewer: Viewer) -> Response:
    need(viewer, "quality")
    form = await request.form()
    version = _text(form, "version")
    try:
        items = items_from(form)
        written = await run_in_threadpool(
            services(request).desk.set_quality_checklist,
            viewer.actor,
            items,
            int(version) if version.isdigit() else -1,
        )
    except DeskError as e:
        status = 409 if e.code == "conflict" else 422
        return await _page(request, status, form_error=translated(e.message))
    await _caught_up(request, written)
    return await _page(request)


def _mine(request: Request, viewer: Viewer) -> dict[str, Any]:
    me = str(viewer.actor.id)
    groups = sorted(str(g) for g in viewer.actor.group_ids)
    with services(request).projections.db.read() as tx:
        own = quality.reviews(tx, me)
        total = quality.agent_rollup(tx, me)
        follow = quality.follow_ups(tx, catalog.follow_up_groups(tx, me, groups))
        teams = group_names(tx, [f.group_id for f in follow])
    checklist = services(request).desk.quality_checklist()
    return {
        "reviews": own,
        "total": total,
        "follow_ups": follow,
        "teams": teams,
        "checklist": checklist,
    }


async def _mine_page(
    request: Request, viewer: Viewer, status: int = 200, error: str | None = None
) -> Response:
    data = await run_in_threadpool(_mine, request, viewer)
    return page(request, "quality/mine.html", status, nav="quality", error=error, **data)


@ui
async def mine_page(request: Request, viewer: Viewer) -> Response:
    need(viewer, "agent")
    return await _mine_page(request, viewer)


@ui
async def finish_follow_up(request: Request, viewer: Viewer) -> Response:
    need(viewer, "agent", "quality")
    form = await request.form()
    back = "quality" if viewer.has("quality") else "mine"
    try:
        ticket = _ticket_id(str(request.path_params["ticket_id"]))
        version = int(request.path_params["rated_version"])
        written = await run_in_threadpool(
            services(request).desk.finish_follow_up,
            viewer.actor,
            ticket,
            version,
            _text(form, "note"),
        )
    except InvalidInput as e:
        if back == "quality":
            return await _page(request, 422, error=translated(e.message))
        return await _mine_page(request, viewer, 422, translated(e.message))
    await _caught_up(request, written)
    return await (_page(request) if back == "quality" else _mine_page(request, viewer))


routes = [
    Route("/quality", quality_page),
    Route("/quality/mine", mine_page),
    Route("/quality/checklist", save_checklist, methods=["POST"]),
    Route("/quality/review/{ticket_id}", review, methods=["POST"]),
    Route("/quality/follow-up/{ticket_id}/{rated_version:int}", finish_follow_up, methods=["POST"]),
]

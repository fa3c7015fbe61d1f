"""Release readiness pages (domain/release.py, projections/releases.py).

`/releases` lists the releases and plans a new one; `/releases/{id}` shows one in one place: what
it is, the probable questions with their articles (and each article's stage in the knowledge
base), the trigger rules watched for it, the reports to read after it ships (links into the
analytics pages with its period), and from release day its live figures (`/releases/{id}/live`,
refreshed when requests change). The staff read them; requesters and visitors are told nothing
exists (404) before anything is read. Each form sends one set-up command
(domain/setup/releases.py) whose policy line decides who may; a refused or wrong form shows the
page again with what to fix, and nothing is written.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain.access import Actor, Setup, may_read_releases, may_set_up
from domain.errors import DeskError, InvalidInput, NotFound
from domain.incidents import Criteria, TriggerRule
from domain.release import Scope
from domain.results import Written
from domain.setup import releases as commands
from projections import catalog, kb_queries, queues
from projections import releases as view
from web.auth import services
from web.http import wait_for_views
from web.ui import i18n
from web.ui.guard import Viewer, need, ui
from web.ui.refusals import translated
from web.ui.render import page

NO_RELEASE = i18n.lazy("No such release.")
MAX_TEXT = 2000  # a list of words or components as typed


def readable(actor: Actor) -> None:
    """Requesters and visitors are told there is no such thing, whatever they ask for."""
    if not may_read_releases(actor):
        raise NotFound(NO_RELEASE)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _list(form: FormData, name: str) -> tuple[str, ...]:
    text = _text(form, name)
    if len(text) > MAX_TEXT:
        raise InvalidInput(i18n.gettext("This list is too long."), [name])
    return tuple(w.strip() for w in text.replace(";", ",").split(",") if w.strip())


def _uuid(value: str, field: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise InvalidInput(i18n.gettext("Choose from the list."), [field]) from None


def _optional_uuid(form: FormData, name: str) -> UUID | None:
    value = _text(form, name)
    return _uuid(value, name) if value else None


def _uuids(form: FormData, name: str) -> tuple[UUID, ...]:
    return tuple(_uuid(str(v), name) for v in form.getlist(name) if str(v).strip())


def _whole(form: FormData, name: str, default: int) -> int:
    value = _text(form, name)
    if not value:
        return default
    if not value.isdigit() or len(value) > 6:
        raise InvalidInput(i18n.gettext("Write a whole number."), [name])
    return int(value)


def scope_from(form: FormData) -> Scope:
    try:
        day = date.fromisoformat(_text(form, "day")[:10])
    except ValueError:
        raise InvalidInput(i18n.gettext("Write the release day as YYYY-MM-DD."), ["day"]) from None
    return Scope(_text(form, "name"), day, _list(form, "components"),
                 _uuids(form, "categories"), _list(form, "words"),
                 _whole(form, "watch_days", 14))  # fmt: skip


def release_id(request: Request) -> UUID:
    try:
        return UUID(str(request.path_params["release_id"]))
    except ValueError:
        raise NotFound(NO_RELEASE) from None


# -- what the pages and the API read -----------------------------------------------------------
def category_label(c: dict[str, Any] | None) -> str:
    if c is None:
        return "—"
    first, second = ("ru", "en") if i18n.current() == "ru" else ("en", "ru")
    return str(c.get(f"name_{first}") or c.get(f"name_{second}") or "")


def reports(r: view.ReleaseRow, categories: dict[str, dict[str, Any]]) -> list[tuple[str, str]]:
    """The reports to read after the release ships: the analytics pages over its period, and
    the requests of each of its categories filed in it."""
    _ = i18n.gettext
    period = {"from": r.scope.day.isoformat(), "to": r.scope.last_day.isoformat()}
    found = [
        (_("Figures by category"), "/analytics?" + urlencode({**period, "by": "category"})),
        (_("Figures by line"), "/analytics?" + urlencode({**period, "by": "line"})),
        (_("Figures by day"), "/analytics?" + urlencode({**period, "by": "day"})),
        (_("The knowledge base's figures"), "/analytics/kb?" + urlencode(period)),
    ]
    for c in r.scope.categories:
        query = urlencode({**period, "by": "category", "key": str(c)})
        label = _("Requests of the category «{name}»").format(
            name=category_label(categories.get(str(c)))
        )
        found.append((label, f"/analytics/requests?{query}"))
    return found


def _release(tx: Any, rid: UUID) -> view.ReleaseRow:
    r = view.release(tx, str(rid))
    if r is None:
        raise NotFound(NO_RELEASE)
    return r


def _live(tx: Any, r: view.ReleaseRow) -> dict[str, Any]:
    """What the live section shows (and nothing else: it is read on every change of a queue)."""
    live = view.live(tx, r)
    rows = queues.rows_in_order(tx, live.latest, None)
    names = catalog.names_for(tx, rows)
    linked = sorted({str(q.article_id) for q in r.questions if q.article_id})
    return {
        "r": r,
        "live": live,
        "articles": {a.id: a for a in kb_queries.article_rows(tx, drafts=True, ids=linked)[0]},
        "rows": rows,
        "names": names,
        "category_names": {c: category_label(n) for c, n in names["categories"].items()},
    }


def _rule_names(request: Request) -> dict[str, str]:
    """The trigger rules' names by id, so a firing says which rule fired."""
    return {str(x.id): x.name for x in services(request).desk.triggers().rules}


def load_live(request: Request, rid: UUID) -> dict[str, Any]:
    svc = services(request)
    position = svc.projections.positions.reached("releases")
    with svc.projections.db.read() as tx:
        shown = _live(tx, _release(tx, rid))
    return {**shown, "rule_names": _rule_names(request), "position": position}


def load_one(request: Request, rid: UUID) -> dict[str, Any]:
    """Everything the release's page (and its API answer) shows."""
    svc = services(request)
    position = svc.projections.positions.reached("releases")
    with svc.projections.db.read() as tx:
        r = _release(tx, rid)
        shown = _live(tx, r)
        groups = catalog.groups(tx)
        categories = catalog.categories(tx)
        choices = kb_queries.article_rows(tx, drafts=True)[0]
        people = catalog.account_names(tx, [str(q.by) for q in r.questions if q.by])
    rules = {str(x.id): x for x in svc.desk.triggers().rules}
    watched: list[tuple[str, TriggerRule | None]] = [(w, rules.get(w)) for w in r.watches]
    return {
        **shown,
        "choices": choices,
        "groups": groups,
        "categories": categories,
        "group_names": {g["id"]: g["name"] for g in groups},
        "people": people,
        "watched": watched,
        "rule_names": {k: x.name for k, x in rules.items()},
        "reports": reports(r, shown["names"]["categories"]),
        "position": position,
    }


def _rights(viewer: Viewer) -> dict[str, Any]:
    actor = viewer.actor
    return {
        "may_plan": may_set_up(actor, Setup.PLAN_RELEASE),
        "may_ask": may_set_up(actor, Setup.ADD_RELEASE_QUESTION),
        "may_link": may_set_up(actor, Setup.LINK_RELEASE_QUESTION),
        "may_watch": may_set_up(actor, Setup.RELEASE_WATCHES),
        "may_report": viewer.has(
            "analyst", "curator", "quality", "admin", "auditor", "methodologist"
        ),  # the analytics pages' readers
    }


# -- pages --------------------------------------------------------------------------------------
async def _list_page(
    request: Request,
    viewer: Viewer,
    status: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    def load() -> dict[str, Any]:
        with services(request).projections.db.read() as tx:
            return {"releases": view.releases(tx), "categories": catalog.categories(tx)}

    data = await run_in_threadpool(load)
    return page(request, "releases/list.html", status, nav="releases", error=error,
                form=form or {}, **_rights(viewer), **data)  # fmt: skip


@ui
async def list_page(request: Request, viewer: Viewer) -> Response:
    need(viewer)
    readable(viewer.actor)
    await wait_for_views(request)
    return await _list_page(request, viewer)


async def _done(request: Request, written: Written, rid: UUID) -> Response:
    projections = services(request).projections
    await run_in_threadpool(projections.wait_for, written.position, 5.0, ["releases"])
    return RedirectResponse(f"/releases/{rid}", 303)


def _status(e: DeskError) -> int:
    return 409 if e.code == "conflict" else 404 if isinstance(e, NotFound) else 422


@ui
async def plan(request: Request, viewer: Viewer) -> Response:
    need(viewer)
    readable(viewer.actor)
    form = await request.form()
    typed = {k: _text(form, k)[:MAX_TEXT] for k in ("name", "day", "components", "words",
                                                     "watch_days")}  # fmt: skip
    try:
        command = commands.PlanRelease(scope_from(form))
        written = await run_in_threadpool(services(request).desk.handle, viewer.actor, command)
    except DeskError as e:
        if e.code == "forbidden":
            raise
        return await _list_page(request, viewer, _status(e), translated(e.message), typed)
    return await _done(request, written, written.id)


async def _release_page(request: Request, viewer: Viewer, rid: UUID, status: int = 200,
                        error: str | None = None, at: str = "") -> Response:  # fmt: skip
    data = await run_in_threadpool(load_one, request, rid)
    return page(request, "releases/release.html", status, nav="releases", error=error,
                error_at=at, **_rights(viewer), **data)  # fmt: skip


@ui
async def release_page(request: Request, viewer: Viewer) -> Response:
    need(viewer)
    readable(viewer.actor)
    rid = release_id(request)
    await wait_for_views(request)
    return await _release_page(request, viewer, rid)


@ui
async def live_fragment(request: Request, viewer: Viewer) -> Response:
    need(viewer)
    readable(viewer.actor)
    rid = release_id(request)
    await wait_for_views(request)
    data = await run_in_threadpool(load_live, request, rid)
    return page(request, "releases/live.html", **data)


async def _send(request: Request, viewer: Viewer, rid: UUID, at: str, build: Any) -> Response:
    """Builds a command from the form and sends it; a refusal shows the page again."""
    need(viewer)
    readable(viewer.actor)
    form = await request.form()
    try:
        written = await run_in_threadpool(services(request).desk.handle, viewer.actor, build(form))
    except DeskError as e:
        if e.code == "forbidden" or (isinstance(e, NotFound) and e.message == NO_RELEASE):
            raise
        return await _release_page(request, viewer, rid, _status(e), translated(e.message), at)
    return await _done(request, written, rid)


@ui
async def edit(request: Request, viewer: Viewer) -> Response:
    rid = release_id(request)

    def build(form: FormData) -> commands.EditRelease:
        version = _text(form, "version")
        return commands.EditRelease(rid, scope_from(form),
                                    int(version) if version.isdigit() else None)  # fmt: skip

    return await _send(request, viewer, rid, "edit", build)


@ui
async def add_question(request: Request, viewer: Viewer) -> Response:
    rid = release_id(request)

    def build(form: FormData) -> commands.AddReleaseQuestion:
        return commands.AddReleaseQuestion(rid, _text(form, "text"), _list(form, "keywords"),
                                           _optional_uuid(form, "article"))  # fmt: skip

    return await _send(request, viewer, rid, "question", build)


@ui
async def link_article(request: Request, viewer: Viewer) -> Response:
    rid = release_id(request)
    question = str(request.path_params["question_id"])

    def build(form: FormData) -> commands.LinkQuestionArticle:
        return commands.LinkQuestionArticle(rid, _uuid(question, "question_id"),
                                            _optional_uuid(form, "article"))  # fmt: skip

    return await _send(request, viewer, rid, "question-" + question[:36], build)


@ui
async def add_watch(request: Request, viewer: Viewer) -> Response:
    rid = release_id(request)

    def build(form: FormData) -> commands.AddReleaseWatch:
        criteria = Criteria(_optional_uuid(form, "category"), _text(form, "field_key"),
                            _text(form, "field_value"), _list(form, "words"))  # fmt: skip
        return commands.AddReleaseWatch(rid, _text(form, "name"), criteria,
                                        _whole(form, "threshold", 10), _whole(form, "window", 60),
                                        _uuids(form, "groups"))  # fmt: skip

    return await _send(request, viewer, rid, "watch", build)


@ui
async def remove_watch(request: Request, viewer: Viewer) -> Response:
    rid = release_id(request)
    rule = str(request.path_params["rule_id"])

    def build(form: FormData) -> commands.RemoveReleaseWatch:
        return commands.RemoveReleaseWatch(rid, _uuid(rule, "rule_id"))

    return await _send(request, viewer, rid, "watch", build)


routes = [
    Route("/releases", list_page),
    Route("/releases", plan, methods=["POST"]),
    Route("/releases/{release_id}", release_page),
    Route("/releases/{release_id}/live", live_fragment),
    Route("/releases/{release_id}/edit", edit, methods=["POST"]),
    Route("/releases/{release_id}/questions", add_question, methods=["POST"]),
    Route("/releases/{release_id}/questions/{question_id}/article", link_article, methods=["POST"]),
    Route("/releases/{release_id}/watches", add_watch, methods=["POST"]),
    Route("/releases/{release_id}/watches/{rule_id}/remove", remove_watch, methods=["POST"]),
]

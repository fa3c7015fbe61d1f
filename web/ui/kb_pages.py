"""The knowledge base for the staff: the list, the methodologists' editor (Russian and English
side by side, a live markdown preview, a revision saved against the one loaded), review and
publication, revisions and their diffs, and the queue of knowledge gaps.

Methodologists (and administrators) edit; curators, auditors and quality reviewers read every
revision; the other staff read published articles. Every button is shown only when the domain
would accept it from this viewer, and the domain decides again when it is pressed: each form
builds a set-up command (domain/setup/knowledge.py) and hands it to `Desk.handle`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from domain.article import Article, Content, Kind, ReviewRule, Stage, StaleRevision, diff
from domain.errors import Conflict, InvalidInput, NotFound
from domain.people import GroupKind
from domain.setup.dispatch import ARTICLE_ACTIONS
from domain.setup.knowledge import DraftArticle, MarkHelpful, ReviseArticle, SetReviewRule
from projections import catalog
from projections.kb_queries import (
    KINDS,
    STAGES,
    article_rows,
    drafts_for_gaps,
    gap_row,
    open_gaps,
    search_ids,
)
from web import kb
from web.auth import services
from web.body import Body
from web.http import number, wait_for_views
from web.ui import i18n
from web.ui.desk_pages import STAFF_ROLES
from web.ui.guard import NotAllowed, Viewer, need, ui
from web.ui.kb_data import (
    EDITORS,
    OVERSEERS,
    blank,
    content_of,
    diff_lines,
    edits,
    journal,
    reads_drafts,
    review_rule_changes,
    values_from,
    values_of,
)
from web.ui.lookups import account_names, category_names
from web.ui.refusals import translated
from web.ui.render import is_htmx, page

# the editor's buttons: every article command a button sends but a reader's "this helped"
ACTIONS = {name: kind for name, kind in ARTICLE_ACTIONS.items() if kind is not MarkHelpful}


def _position(request: Request) -> int:
    return services(request).projections.positions.reached("tickets")


def _done(request: Request, target: str) -> Response:
    """After a command: the page again, reading the views once they hold the write."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, 303)


def _article_id(request: Request) -> UUID:
    return kb._uuid(request.path_params["article_id"])


# -- the list ---------------------------------------------------------------------------------
@ui
async def article_list(request: Request, viewer: Viewer) -> Response:
    need(viewer, *STAFF_ROLES)
    await wait_for_views(request)
    params = request.query_params
    text = params.get("q", "")[:200].strip()
    stage = params.get("stage", "") if params.get("stage") in STAGES else ""
    kind = params.get("kind", "") if params.get("kind") in (*KINDS, "templates") else ""
    before = number(params.get("before", ""))
    drafts = reads_drafts(viewer)

    def load() -> dict[str, Any]:
        with services(request).projections.db.read() as tx:
            ids = search_ids(tx, text, drafts=drafts) if text else None
            rows, next_before = article_rows(tx, drafts=drafts, stage=stage, kind=kind,
                                             before=None if ids else before, ids=ids)  # fmt: skip
            names = account_names(tx, [r.author_id for r in rows])
        return {"rows": rows, "next_before": next_before, "names": names}

    data = await run_in_threadpool(load)
    query = {k: v for k, v in (("q", text), ("stage", stage), ("kind", kind)) if v}
    here = urlencode({**query, **({"before": before} if before else {})})
    template = "kb/rows.html" if params.get("part") == "list" else "kb/list.html"
    return page(request, template, nav="kb", position=_position(request), text=text, stage=stage,
                kind=kind, query=urlencode(query), here=here, drafts=drafts,
                editor=edits(viewer), stages=STAGES, **data)  # fmt: skip


# -- new article ------------------------------------------------------------------------------
@ui
async def new_article(request: Request, viewer: Viewer) -> Response:
    need(viewer, *EDITORS)
    await wait_for_views(request)
    kind = request.query_params.get("kind", "article")
    gap = request.query_params.get("gap")
    values = blank()
    if gap:  # raised from a requester's question: the answer is for requesters too
        values["audience"] = "public"
    return await _new_form(request, kind if kind in KINDS else "article", gap, values)


async def _new_form(
    request: Request,
    kind: str,
    gap_id: str | None,
    values: dict[str, Any],
    status: int = 200,
    errors: dict[str, str] | None = None,
) -> Response:
    def load() -> dict[str, Any]:
        with services(request).projections.db.read() as tx:
            return {"categories": catalog.categories(tx), "gap": gap_row(tx, gap_id)}

    data = await run_in_threadpool(load)
    template = "kb/editor.html" if is_htmx(request) and request.method == "POST" else "kb/new.html"
    return page(request, template, status, nav="kb", kind=kind, values=values, base=None,
                action="/kb/new", errors=errors or {}, conflict=None, **data)  # fmt: skip


FORM_FIELDS = frozenset(blank()) - {"note"}


def _errors(e: InvalidInput) -> dict[str, str]:
    """The refusal's message by the form field it names (above the form when it names none)."""
    message = translated(e.message)
    errors = {f: message for f in e.fields if f in FORM_FIELDS}
    return errors if errors else {"_": message}


async def _posted(request: Request) -> tuple[FormData, dict[str, Any]]:
    form = await request.form()
    return form, values_from(form, [str(c) for c in form.getlist("category_ids")])


@ui
async def create_article(request: Request, viewer: Viewer) -> Response:
    need(viewer, *EDITORS)
    form, values = await _posted(request)
    kind = str(form.get("kind", "article"))
    kind = kind if kind in KINDS else "article"
    gap = str(form.get("gap", "") or "") or None
    try:
        content = content_of(values)
        gap_id = kb._uuid(gap, "knowledge gap") if gap else None
        command = DraftArticle(Kind(kind), content, gap_id)
        w = await run_in_threadpool(services(request).desk.handle, viewer.actor, command)
    except InvalidInput as e:
        return await _new_form(request, kind, gap, values, 422, _errors(e))
    return _done(request, f"/kb/{w.id}?after={w.position}")


# -- an article -------------------------------------------------------------------------------
def _abilities(viewer: Viewer, article: Article, rule: ReviewRule) -> dict[str, bool]:
    """What the domain would accept from this viewer now (domain/article.py, knowledge.py);
    `rule` is the desk's review rule (self-publication allowed or not)."""
    editor = edits(viewer)
    stage = article.stage
    author = viewer.actor.id == article.revision_author
    alone = rule is ReviewRule.SELF_PUBLISH
    return {
        "edit": editor and stage is not Stage.ARCHIVED,
        "submit": editor and stage is Stage.DRAFT,
        "review": editor and stage is Stage.IN_REVIEW and not author,
        "awaits_other": editor and stage is Stage.IN_REVIEW and author and not alone,
        "publish": editor and stage is Stage.APPROVED,
        "self_publish": editor and alone and stage in (Stage.DRAFT, Stage.IN_REVIEW),
        "archive": editor and stage is not Stage.ARCHIVED,
    }


async def _load_article(request: Request, viewer: Viewer, article_id: UUID) -> Article:
    article: Article = await run_in_threadpool(services(request).desk.article, viewer.actor,
                                               article_id)  # fmt: skip
    if not reads_drafts(viewer) and (article.published is None or article.stage is Stage.ARCHIVED):
        raise NotFound("No such article.")
    return article


def _article_context(request: Request, viewer: Viewer, article: Article) -> dict[str, Any]:
    drafts = reads_drafts(viewer)
    steps, older = journal(services(request).desk, article.id) if drafts else ([], False)
    rule = services(request).desk.knowledge_setup().review if edits(viewer) else None
    content = article.content if drafts else article.published
    assert content is not None
    with services(request).projections.db.read() as tx:
        categories = catalog.categories(tx) if edits(viewer) else []
        all_names = category_names(tx)
        names = account_names(tx, [s.by for s in steps] + [str(article.revision_author)])
        gap = gap_row(tx, str(article.gap_id)) if article.gap_id else None
    return {
        "article": article, "content": content, "drafts": drafts, "steps": steps, "older": older,
        "names": names, "category_names": all_names, "categories": categories, "gap": gap,
        "can": _abilities(viewer, article, rule or ReviewRule.SECOND_REVIEWER),
        "revisions": sorted(article.history, reverse=True),
        "shown_revision": article.revision if drafts else article.published_revision,
    }  # fmt: skip


@ui
async def article_page(request: Request, viewer: Viewer) -> Response:
    need(viewer, *STAFF_ROLES)
    await wait_for_views(request)
    article = await _load_article(request, viewer, _article_id(request))
    context = await run_in_threadpool(_article_context, request, viewer, article)
    part = request.query_params.get("part")
    base = number(request.query_params.get("base", "")) or article.revision
    template = {"status": "kb/status.html", "journal": "kb/journal.html"}.get(
        part or "", "kb/article.html"
    )
    return page(request, template, nav="kb", position=_position(request), base=base,
                values=values_of(article.content), action=f"/kb/{article.id}", errors={},
                conflict=None, kind=article.kind.value, **context)  # fmt: skip


@ui
async def save_article(request: Request, viewer: Viewer) -> Response:
    """A new revision, written against the revision the editor loaded (`based_on`). A stale
    one is refused: the editor shows what changed meanwhile and keeps the text as typed."""
    need(viewer, *EDITORS)
    article_id = _article_id(request)
    form, values = await _posted(request)
    based_on = number(str(form.get("based_on", "")))
    desk = services(request).desk
    errors: dict[str, str] = {}
    conflict: dict[str, Any] | None = None
    base: int | None
    try:
        if based_on is None:
            raise InvalidInput("Reload the article: the form lost the revision it edits.")
        content = content_of(values)
        revision = ReviseArticle(article_id, based_on, content, values["note"])
        w = await run_in_threadpool(desk.handle, viewer.actor, revision)
    except StaleRevision as e:
        conflict = {"seen": e.seen, "current": e.current, "lines": diff_lines(e.changes)}
        status, base = 409, e.current
    except InvalidInput as e:
        errors, status, base = _errors(e), 422, based_on
    else:
        return _done(request, f"/kb/{article_id}?after={w.position}")
    article = await _load_article(request, viewer, article_id)
    context = await run_in_threadpool(_article_context, request, viewer, article)
    if conflict is not None:
        conflict["by"] = context["names"].get(str(article.revision_author), "")
    template = "kb/editor.html" if is_htmx(request) else "kb/article.html"
    return page(request, template, status, nav="kb", position=_position(request), base=base,
                values=values, action=f"/kb/{article_id}", errors=errors, conflict=conflict,
                kind=article.kind.value, **context)  # fmt: skip


@ui
async def article_action(request: Request, viewer: Viewer) -> Response:
    need(viewer, *EDITORS)
    kind = ACTIONS.get(request.path_params["action"])
    if kind is None:
        raise NotFound("No such action on an article.")
    article_id = _article_id(request)
    form = await request.form()
    body = Body({"comment": str(form.get("comment", ""))[:5000],
                 "reason": str(form.get("reason", ""))[:5000]})  # fmt: skip
    command = kb.article_command(kind, article_id, body)
    w = await run_in_threadpool(services(request).desk.handle, viewer.actor, command)
    return _done(request, f"/kb/{article_id}?after={w.position}")


@ui
async def preview(request: Request, viewer: Viewer) -> Response:
    """The markdown of one language's text as readers will see it (sanitised)."""
    need(viewer, *EDITORS)
    form = await request.form()
    lang = "en" if request.query_params.get("lang") == "en" else "ru"
    return page(request, "kb/preview.html", text=str(form.get(f"body_{lang}", ""))[:100_000])


@ui
async def revision_diff(request: Request, viewer: Viewer) -> Response:
    need(viewer, *STAFF_ROLES)
    if not reads_drafts(viewer):
        raise NotAllowed
    article = await _load_article(request, viewer, _article_id(request))
    history: dict[int, Content] = article.history
    new = number(request.query_params.get("to", "")) or article.revision
    old = number(request.query_params.get("from", "")) or max(new - 1, 1)
    if old not in history or new not in history:
        raise NotFound("No such revision.")
    lines = diff_lines(diff(history[old], history[new]))
    return page(request, "kb/diff.html", nav="kb", article=article, old=old, new=new,
                lines=lines, revisions=sorted(history, reverse=True))  # fmt: skip


# -- knowledge gaps ---------------------------------------------------------------------------
@ui
async def gaps(request: Request, viewer: Viewer) -> Response:
    need(viewer, *EDITORS, *OVERSEERS)
    await wait_for_views(request)
    after = number(request.query_params.get("after_number", ""))

    def load() -> dict[str, Any]:
        with services(request).projections.db.read() as tx:
            rows = open_gaps(tx, after)
            groups = [g["id"] for g in catalog.groups(tx)
                      if g["kind"] == GroupKind.METHODOLOGY.value]  # fmt: skip
            return {"page": rows, "drafts": drafts_for_gaps(tx, [r.id for r in rows.rows]),
                    "category_names": category_names(tx), "groups": groups}  # fmt: skip

    data = await run_in_threadpool(load)
    template = "kb/gap_rows.html" if request.query_params.get("part") == "list" else "kb/gaps.html"
    return page(request, template, nav="kb", position=_position(request), after=after,
                editor=edits(viewer), **data)  # fmt: skip


# -- the knowledge base's settings: its review rule -------------------------------------------
def _settings_context(request: Request, viewer: Viewer) -> dict[str, Any]:
    desk = services(request).desk
    setup = desk.knowledge_setup()
    changes = review_rule_changes(desk)
    with services(request).projections.db.read() as tx:
        names = account_names(tx, [c.by for c in changes if c.by])
    return {"setup": setup, "rules": [r.value for r in ReviewRule], "changes": changes,
            "names": names, "admin": viewer.has("admin")}  # fmt: skip


@ui
async def settings(request: Request, viewer: Viewer) -> Response:
    """The knowledge base's review rule and who changed it when; administrators change it."""
    need(viewer, *EDITORS, *OVERSEERS)
    context = await run_in_threadpool(_settings_context, request, viewer)
    return page(request, "kb/settings.html", nav="kb", error="", **context)


@ui
async def save_settings(request: Request, viewer: Viewer) -> Response:
    """Sets the review rule (`SetReviewRule`) against the version the page showed; a stale
    page or a rule not offered shows the page again saying so, nothing changed."""
    need(viewer, "admin")
    form = await request.form()
    seen = number(str(form.get("version", "")))
    error, status = "", 200
    try:
        rule = ReviewRule(str(form.get("review", "")))
    except ValueError:
        error, status = i18n.gettext("Choose how articles are reviewed."), 422
    else:
        command = SetReviewRule(rule, seen if seen is not None else 0)
        try:
            w = await run_in_threadpool(services(request).desk.handle, viewer.actor, command)
        except Conflict:
            error = i18n.gettext("Someone changed the review rule meanwhile: read it and choose "
                                 "again.")  # fmt: skip
            status = 409
        else:
            return _done(request, f"/kb/settings?after={w.position}")
    context = await run_in_threadpool(_settings_context, request, viewer)
    return page(request, "kb/settings.html", status, nav="kb", error=error, **context)


routes = [
    Route("/kb", article_list),
    Route("/kb/settings", settings),
    Route("/kb/settings", save_settings, methods=["POST"]),
    Route("/kb/new", new_article),
    Route("/kb/new", create_article, methods=["POST"]),
    Route("/kb/preview", preview, methods=["POST"]),
    Route("/kb/gaps", gaps),
    Route("/kb/{article_id}", article_page),
    Route("/kb/{article_id}", save_article, methods=["POST"]),
    Route("/kb/{article_id}/diff", revision_diff),
    Route("/kb/{article_id}/{action}", article_action, methods=["POST"]),
]

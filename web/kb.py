"""Knowledge-base routes: articles and templates, review and publication, suggestions, gaps.

Each write builds a set-up command (domain/setup/knowledge.py) and hands it to `Desk.handle`; an
article's buttons (/api/v1/kb/articles/{id}/{action}) are the commands' own `action` names.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.access import Actor, check_setup
from domain.article import Article, Audience, Content, Kind, Reference, diff
from domain.errors import InvalidInput, NotFound
from domain.people import GroupKind
from domain.results import FiledTicket
from domain.setup.dispatch import ARTICLE_ACTIONS
from domain.setup.knowledge import ArticleCommand, DraftArticle, RaiseKnowledgeGap, ReviseArticle
from projections import catalog, kb_queries, knowledge
from web.auth import authenticate, services, signed_in
from web.body import Body
from web.errors import ApiError
from web.http import json, wait_for_views, written
from web.markup import render


def _uuid(value: str, what: str = "article") -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise NotFound(f"No such {what}.") from None


def _content(body: Body, audience_by_default: Audience = Audience.INTERNAL) -> Content:
    raw = body.obj("content")
    b = Body(raw)
    refs = raw.get("references", [])
    if not isinstance(refs, list) or not all(isinstance(r, dict) for r in refs):
        raise InvalidInput("references must be a list of {name, clause, link}.", ["references"])
    try:
        audience = Audience(b.text("audience", audience_by_default.value))
        categories = tuple(UUID(str(c)) for c in raw.get("category_ids", []))
    except ValueError:
        raise InvalidInput(
            "audience is public or internal; categories are ids.", ["audience", "category_ids"]
        ) from None
    return Content(
        title_ru=b.text("title_ru", ""),
        title_en=b.text("title_en", ""),
        body_ru=b.text("body_ru", ""),
        body_en=b.text("body_en", ""),
        audience=audience,
        category_ids=categories,
        tags=b.strs("tags"),
        references=tuple(
            Reference(str(r.get("name", "")), str(r.get("clause", "")), str(r.get("link", "")))
            for r in refs
        ),
        fields=b.strs("fields"),
        questions=b.strs("questions"),
    )


def _kind(body: Body) -> Kind:
    try:
        return Kind(body.text("kind", "article"))
    except ValueError:
        raise InvalidInput(f"kind is one of: {', '.join(Kind)}.", ["kind"]) from None


def _shown(article: Article, actor: Actor) -> dict[str, Any]:
    content = article.content if actor.is_staff else article.published
    assert content is not None
    return {
        "id": str(article.id),
        "kind": article.kind.value,
        "version": article.version,
        **(
            {
                "stage": article.stage.value,
                "revision": article.revision,
                "gap": str(article.gap_id) if article.gap_id else None,
            }
            if actor.is_staff
            else {}
        ),
        "published_revision": article.published_revision,
        "content": _plain(content),
    }


def _plain(c: Content) -> dict[str, Any]:
    data = asdict(c)
    data["category_ids"] = [str(x) for x in c.category_ids]
    data["audience"] = c.audience.value
    data["html_ru"], data["html_en"] = render(c.body_ru), render(c.body_en)
    return data


async def articles(request: Request) -> Response:
    c = await authenticate(request)
    svc = services(request)
    if request.method == "POST":
        check_setup(c.actor, DraftArticle.policy)  # before the body is read
        body = await Body.read(request)
        gap = body.opt_uuid("gap")  # raised from a requester's question: public unless told
        by_default = Audience.PUBLIC if gap else Audience.INTERNAL
        command = DraftArticle(_kind(body), _content(body, by_default), gap)
        return written(await run_in_threadpool(svc.desk.handle, c.actor, command), 201)
    await wait_for_views(request)
    text = request.query_params.get("q", "")[:1000]
    kinds = tuple(Kind) if c.actor.is_staff else (Kind.ARTICLE,)
    with svc.projections.db.read() as tx:
        found = knowledge.suggest(
            tx,
            text,
            staff=c.actor.is_staff,
            kinds=kinds,
            limit=20,
            category_id=request.query_params.get("category"),
        )
    return json(found)


async def article(request: Request) -> Response:
    c = await authenticate(request)
    svc = services(request)
    article_id = _uuid(request.path_params["article_id"])
    if request.method == "PUT":
        check_setup(c.actor, ReviseArticle.policy)  # before the body is read
        body = await Body.read(request)
        revision = ReviseArticle(article_id, body.integer("based_on"), _content(body),
                                 body.text("note", ""))  # fmt: skip
        return written(await run_in_threadpool(svc.desk.handle, c.actor, revision))
    found = await run_in_threadpool(svc.desk.article, c.actor, article_id)
    shown = _shown(found, c.actor)
    if c.actor.is_staff:
        history = sorted(found.history.items())
        shown["revisions"] = [
            {"revision": n, "diff": diff(history[i - 1][1], content) if i else []}
            for i, (n, content) in enumerate(history)
        ]
    return json(shown)


def article_command(kind: type[ArticleCommand], article_id: UUID, body: Body) -> ArticleCommand:
    """What an article's button sends: its texts (a comment, a reason) from the body."""
    texts = {f.name: body.text(f.name, "") for f in fields(kind) if f.name != "article_id"}
    return kind(article_id, **texts)


async def article_action(request: Request) -> Response:
    c = await authenticate(request)
    kind = ARTICLE_ACTIONS.get(request.path_params["action"])
    if kind is None:
        raise ApiError(404, "not_found", "No such action on an article.")
    check_setup(c.actor, kind.policy)  # before the body is read
    article_id = _uuid(request.path_params["article_id"])
    command = article_command(kind, article_id, await Body.read(request))
    return written(await run_in_threadpool(services(request).desk.handle, c.actor, command))


async def suggestions(request: Request) -> Response:
    """Public: articles matching what a requester is typing (the filing form asks as he types)."""
    actor = (await authenticate(request)).actor
    text = request.query_params.get("q", "")[:2000]
    templates = request.query_params.get("templates") == "1" and actor.is_staff
    kinds = tuple(Kind) if templates else (Kind.ARTICLE,)
    await wait_for_views(request)
    with services(request).projections.db.read() as tx:
        found = knowledge.suggest(
            tx,
            text,
            staff=actor.is_staff,
            kinds=kinds,
            category_id=request.query_params.get("category"),
        )
    return json(found)


async def for_ticket(request: Request) -> Response:
    """Staff: articles and templates that fit this request's text, from every category; its
    own category's rank higher (knowledge.BOOST)."""
    actor = signed_in(await authenticate(request))
    if not actor.is_staff:
        raise ApiError(403, "forbidden", "Suggestions inside a request are for the staff.")
    ticket_id = _uuid(request.path_params["ticket_id"], "request")
    svc = services(request)
    ticket = await run_in_threadpool(svc.desk.ticket, actor, ticket_id)
    text = f"{ticket.subject} {ticket.description}"
    with svc.projections.db.read() as tx:
        found = knowledge.suggest(
            tx, text, staff=True, kinds=tuple(Kind), limit=16, category_id=str(ticket.category_id)
        )
    return json(found)


async def usage(request: Request) -> Response:
    actor = signed_in(await authenticate(request))
    if not actor.is_staff:
        raise ApiError(403, "forbidden", "Usage figures are for the support staff.")
    await wait_for_views(request)
    with services(request).projections.db.read() as tx:
        articles_used = knowledge.usage(tx)
        gaps = kb_queries.gap_figures(tx)
    return json({"articles": articles_used, "gaps": _gaps_shown(gaps)})


def _gaps_shown(gaps: kb_queries.GapFigures) -> dict[str, Any]:
    """Gaps by status, answered, and the mean time to answer in hours (two decimals)."""
    mean = gaps.mean_hours_to_answer
    hours = round(float(mean), 2) if mean is not None else None
    return {"by_status": gaps.by_status, "answered": gaps.answered, "mean_hours_to_answer": hours}


def methodology_group(svc: Any) -> UUID | None:
    """The desk's methodology group, from the catalogue view; if it shows none, once more after
    the view has caught up with the log (a group formed a moment ago)."""
    for attempt in range(2):
        with svc.projections.db.read() as tx:
            found = [g for g in catalog.groups(tx) if g["kind"] == GroupKind.METHODOLOGY.value]
        if found:
            return UUID(found[0]["id"])
        if attempt == 0:
            head = svc.desk.recorder.max_notification_id() or 0
            svc.projections.positions.wait_for("catalog", head, 10.0)
    return None


async def raise_gap(request: Request) -> Response:
    c = await authenticate(request)
    actor = signed_in(c)
    check_setup(actor, RaiseKnowledgeGap.policy)  # before the body is read
    body = await Body.read(request)
    svc = services(request)
    group = await run_in_threadpool(methodology_group, svc)
    if group is None:
        raise ApiError(409, "no_methodologists", "The desk has no methodology group yet.")
    tickets = tuple(_uuid(t, "request") for t in body.strs("tickets"))
    command = RaiseKnowledgeGap(body.text("subject"), body.text("description"), group, tickets,
                                body.opt_uuid("category"))  # fmt: skip
    filed = await run_in_threadpool(svc.desk.handle, actor, command)
    assert isinstance(filed, FiledTicket)
    return json(
        {
            "id": str(filed.id),
            "number": filed.number,
            "position": filed.position,
            "version": filed.version,
        },
        201,
    )


async def fill_template(request: Request) -> Response:
    """The template filled in for a ticket, and the TemplateUse to send with the reply."""
    actor = signed_in(await authenticate(request))
    ticket_id = _uuid(request.path_params["ticket_id"], "request")
    template_id = _uuid(request.query_params.get("template", ""), "template")
    language = "en" if request.query_params.get("lang") == "en" else "ru"
    text, use, template = await run_in_threadpool(
        services(request).desk.render_template, actor, template_id, ticket_id, language
    )
    published = template.published
    assert published is not None
    return json(
        {
            "text": text,
            "template": {"id": str(use.article_id), "revision": use.revision},
            "fields": list(published.fields),
            "questions": list(published.questions),
        }
    )


routes = [
    Route("/api/v1/kb/articles", articles, methods=["GET", "POST"]),
    Route("/api/v1/kb/articles/{article_id}", article, methods=["GET", "PUT"]),
    Route("/api/v1/kb/articles/{article_id}/{action}", article_action, methods=["POST"]),
    Route("/api/v1/kb/suggestions", suggestions),
    Route("/api/v1/kb/usage", usage),
    Route("/api/v1/kb/gaps", raise_gap, methods=["POST"]),
    Route("/api/v1/tickets/{ticket_id}/template", fill_template),
    Route("/api/v1/tickets/{ticket_id}/suggestions", for_ticket),
]

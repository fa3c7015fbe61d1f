"""The public form /new: a category, exactly the fields it needs, subject and description, files,
and knowledge-base articles suggested while the requester types; /help/{id} reads one of them.

Anyone may file: an anonymous visitor leaves a name and an e-mail and gets the request's private
link; a signed-in requester is taken to the request's page.
"""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import quote
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from domain.access import Command, may
from domain.article import Kind
from domain.category import FieldSpec, parse_fields
from domain.errors import DeskError, InvalidInput, NotFound
from domain.results import FiledTicket
from domain.ticket import Attachment, Channel, Contact, Urgency
from projections import catalog, knowledge
from web.auth import services
from web.errors import ApiError
from web.filing_limit import Decision
from web.http import wait_for_views
from web.ui import held_files, i18n
from web.ui.guard import NotAllowed, Viewer, ui
from web.ui.render import is_htmx, page
from web.ui.requester_forms import (
    MAX_FILES,
    Posted,
    check_contact,
    check_text,
    errors_from,
    file_error,
    keep,
    posted,
    spec_of,
    store_each,
    typed_values,
)

SCOPE = "/new"  # the form's held files are for its next submission here (web/ui/held_files.py)


def _categories(request: Request) -> list[dict[str, Any]]:
    with services(request).projections.db.read() as tx:
        found = catalog.categories(tx)
    for c in found:
        c["specs"] = [spec_of(f) for f in c["form"]]
    return sorted(found, key=lambda c: _name(c).lower())


def _name(c: dict[str, Any]) -> str:
    first, second = ("name_ru", "name_en") if i18n.current() == "ru" else ("name_en", "name_ru")
    return str(c.get(first) or c.get(second) or "")


def _needs_contact(viewer: Viewer) -> bool:
    """Who files without being the requester leaves a contact (visitors; staff filing for one)."""
    return not viewer.has("requester")


def _form(request: Request, viewer: Viewer, status: int = 200, **ctx: Any) -> Response:
    categories = ctx.pop("categories")
    chosen = ctx.pop("chosen", None)
    current = next((c for c in categories if c["id"] == chosen), None)
    values: dict[str, str] = ctx.pop("values", {})
    return page(
        request,
        "requester/new.html",
        status,
        ctx.pop("headers", None),
        nav="new",
        categories=categories,
        chosen=current["id"] if current else "",
        specs=current["specs"] if current else [],
        helps=current["help"] if current else {},
        values=values,
        errors=ctx.pop("errors", {}),
        contact=_needs_contact(viewer),
        held=ctx.pop("held", []),
        held_token=ctx.pop("held_token", ""),
        challenge=ctx.pop("challenge", None),
        **ctx,
    )


@ui
async def new_request(request: Request, viewer: Viewer) -> Response:
    if not may(viewer.actor, Command.FILE):
        raise NotAllowed
    await wait_for_views(request)
    categories = await run_in_threadpool(_categories, request)
    chosen = request.query_params.get("category", "")
    return _form(request, viewer, categories=categories, chosen=chosen)


@ui
async def category_fields(request: Request, viewer: Viewer) -> Response:
    """The fields of the chosen category (the form asks for them when the category changes)."""
    await wait_for_views(request)
    categories = await run_in_threadpool(_categories, request)
    chosen = request.query_params.get("category", "")
    current = next((c for c in categories if c["id"] == chosen), None)
    return page(
        request,
        "requester/fields.html",
        specs=current["specs"] if current else [],
        helps=current["help"] if current else {},
        values={},
        errors={},
        chosen=current["id"] if current else "",
    )


@ui
async def suggestions(request: Request, viewer: Viewer) -> Response:
    """Public articles matching what is being typed (as /api/v1/kb/suggestions answers)."""
    text = " ".join(request.query_params.get(k, "")[:2000] for k in ("subject", "description"))
    chosen = request.query_params.get("category") or None
    await wait_for_views(request)

    def find() -> list[dict[str, Any]]:
        with services(request).projections.db.read() as tx:
            return knowledge.suggest(
                tx, text, staff=False, kinds=(Kind.ARTICLE,), category_id=chosen
            )

    found = await run_in_threadpool(find) if text.strip() else []
    return page(request, "requester/suggestions.html", articles=found)


def _check(
    posted_form: Posted,
    specs: list[FieldSpec],
    raw: dict[str, str],
    contact: bool,
    has_category: bool,
) -> dict[str, str]:
    """Every problem of the form at once, each next to its field (the domain's checks)."""
    errors: dict[str, str] = {}
    if not has_category:
        errors.update(errors_from(InvalidInput("", ["category"]), specs, raw))
    else:
        try:
            parse_fields(tuple(specs), raw)
        except DeskError as e:
            errors.update(errors_from(e, specs, raw))
    check_text(errors, "subject", posted_form.text("subject"))
    check_text(errors, "description", posted_form.text("description"), body=True)
    if contact:
        check_contact(errors, posted_form.text("contact_name"), posted_form.text("contact_email"))
    return errors


@ui
async def file_request(request: Request, viewer: Viewer) -> Response:
    """Files the request; a form sent back keeps its files (web/ui/held_files.py) and, over the
    address's plain limit, may offer a proof of work (web/filing_limit.py)."""
    svc = services(request)
    if not may(viewer.actor, Command.FILE):
        raise NotAllowed
    categories = await run_in_threadpool(_categories, request)
    contact = _needs_contact(viewer)
    address = request.client.host if request.client else "unknown"
    async with posted(request) as p:
        chosen = p.text("category")
        current = next((c for c in categories if c["id"] == chosen), None)
        specs: list[FieldSpec] = current["specs"] if current else []
        raw, _ = typed_values(specs, p.form)
        values = {k: v for k, v in p.form.multi_items() if isinstance(v, str)}
        for k in ("csrf_token", held_files.FIELD, held_files.DROP, "proof", "proof_challenge"):
            values.pop(k, None)
        held, new = await held_files.carried(request, viewer.actor, specs, p.form, p.files, raw,
                                             SCOPE)  # fmt: skip
        staged: list[tuple[str, Attachment]] | None = None  # the new files, once stored here
        decision: Decision | None = None

        async def again(status: int, errors: dict[str, str], **extra: Any) -> Response:
            """The form sent back with `errors`, holding its files (the new ones that could be
            stored); a filing counted is taken back."""
            await _refund(request, address, decision)
            to_hold = staged or []
            if staged is None and new and "files" not in errors:
                to_hold, refused = await store_each(request, new)
                if refused is not None:
                    errors["files"] = (refused.message if isinstance(refused, ApiError)
                                       else file_error(refused))  # fmt: skip
            kept = [*held, *await held_files.hold(request, to_hold)]
            holder = held_files.holder_of(request)
            response = _form(
                request,
                viewer,
                status,
                categories=categories,
                chosen=chosen,
                values=values,
                errors=errors,
                held=kept,
                held_token=held_files.sign(request, kept, holder, viewer.actor, SCOPE),
                **extra,
            )
            if kept:
                held_files.remember(request, response, holder, SCOPE)
            return response

        if p.text("show_fields") and current is not None:  # a browser without scripts asks
            return await again(200, {})  # for the chosen category's fields: nothing filed
        errors = _check(p, specs, raw, contact, current is not None)
        if len(held) + len(new) > MAX_FILES:
            errors["files"] = file_error(InvalidInput("", ["files"]))
        if errors:
            return await again(422, errors)
        if viewer.actor.id is None:  # counted before any file is stored, as the API counts
            decision = await run_in_threadpool(
                svc.public_form_limit.take, address, p.text("proof_challenge"), p.text("proof")
            )
            if decision.wait > 0:
                wait = decision.wait
                message = i18n.gettext(
                    "Too many requests from your address; try again in {minutes} min."
                ).format(minutes=int(wait // 60) + 1)
                return await again(429, {"": message}, challenge=decision.challenge,
                                   headers={"Retry-After": str(int(wait) + 1)})  # fmt: skip
        staged, refused = await store_each(request, new)  # a file over the limit: the others held
        if isinstance(refused, ApiError):
            return await again(429, {"files": refused.message}, headers=refused.headers)
        if refused is not None:
            return await again(422, {"files": file_error(refused)})
        attachments = [a for _, a in staged]
        restaged, gone = await held_files.restage(request, held)
        if gone:
            held = [h for h in held if h not in gone]
            return await again(422, {"files": held_files.gone_message(gone)})
        assert current is not None
        person = (
            Contact(p.text("contact_name").strip(), p.text("contact_email").strip())
            if contact
            else None
        )
        try:
            filed = await run_in_threadpool(
                svc.desk.file_ticket,
                viewer.actor,
                UUID(current["id"]),
                p.text("subject"),
                p.text("description"),
                {k: v for k, v in raw.items() if v},
                Channel.CABINET if viewer.signed_in else Channel.PUBLIC_FORM,
                person,
                None,  # the staff set the priority; the requester says how urgent it is
                _urgency(p.text("urgency")),
            )
        except InvalidInput as e:
            return await again(422, errors_from(e, specs, raw))
        except DeskError:  # refused otherwise (the category gone meanwhile): not a filing
            await _refund(request, address, decision)
            raise
        position, failed = await _attach(request, viewer, filed, [*attachments, *restaged])
        await held_files.drop(request, held)
    return _filed(request, viewer, filed, position, failed)


async def _refund(request: Request, address: str, decision: Decision | None) -> None:
    """Takes back a filing the address's limit counted (web/filing_limit.py): it was refused."""
    if decision is not None and decision.wait == 0:
        limit = services(request).public_form_limit
        await run_in_threadpool(limit.refund, address, decision)


def _urgency(value: str) -> Urgency:
    try:
        return Urgency(value or Urgency.NORMAL.value)
    except ValueError:
        raise InvalidInput(i18n.gettext("Choose how urgent it is from the list."),
                           ["urgency"]) from None  # fmt: skip


async def _attach(
    request: Request, viewer: Viewer, filed: FiledTicket, attachments: list[Attachment]
) -> tuple[int, list[str]]:
    """Attaches the stored files to the new request, as its requester; the names that failed."""
    desk = services(request).desk
    position, failed = filed.position, list[str]()
    if not attachments:
        return position, failed
    actor = viewer.actor
    if filed.visitor_key:
        actor = await run_in_threadpool(desk.visitor, filed.id, filed.visitor_key)
    for a in attachments:
        try:
            w = await run_in_threadpool(partial(desk.attach, actor, filed.id, a))
            position = w.position
        except DeskError:
            failed.append(a.name)
        else:
            await keep(request, [a])
    return position, failed


def _filed(
    request: Request, viewer: Viewer, filed: FiledTicket, position: int, failed: list[str]
) -> Response:
    headers = {"X-Suz-Position": str(position)}
    if filed.visitor_key is None:
        target = f"/t/{filed.id}" if viewer.staff else f"/r/{filed.id}"
        target += f"?after={position}"
        if is_htmx(request):
            return Response(status_code=204, headers={**headers, "HX-Redirect": target})
        return RedirectResponse(target, 303, headers)
    link = f"/r/{filed.id}?key={quote(filed.visitor_key)}"
    return page(
        request,
        "requester/filed.html",
        201,
        headers,
        nav="new",
        number=filed.number,
        link=link,
        absolute=str(request.base_url).rstrip("/") + link,
        failed=failed,
    )


@ui
async def help_article(request: Request, viewer: Viewer) -> Response:
    """A published public article, read-only (what the suggestions link to)."""
    try:
        article_id = UUID(request.path_params["article_id"])
    except ValueError:
        raise NotFound("No such article.") from None
    found = await run_in_threadpool(services(request).desk.article, viewer.actor, article_id)
    content = found.published or found.content
    return page(
        request, "requester/help.html", article=found, content=content, body=_article_body(content)
    )


def _article_body(content: Any) -> str:
    body = content.body_ru if i18n.current() == "ru" else content.body_en
    return str(body or content.body_en or content.body_ru or "")


@ui
async def article_helped(request: Request, viewer: Viewer) -> Response:
    """The reader's "this answered my question": counted as a request the article spared."""
    try:
        article_id = UUID(request.path_params["article_id"])
    except ValueError:
        raise NotFound("No such article.") from None
    await run_in_threadpool(services(request).desk.mark_helpful, viewer.actor, article_id)
    if is_htmx(request):
        return page(request, "requester/helped.html")
    return RedirectResponse(f"/help/{article_id}", 303)

"""The files of a requester's form sent back, held for its next submission (issue 18): the filing
form (/new) and the forms of a request's page (/r/{id}: a message, the information asked).

A browser drops the files chosen in a form the server sends back. So when the form is refused
(a field to correct, the address's limit), the files it carried are staged as any upload is
(counted against the caller's uploads, capped, hashed, sniffed: requester_forms.store) and then
held (`Staged.hold`: apart from the blobs, under a random id, for `TTL`). The form sent back
lists them, each with a "remove" box, and carries them in one hidden field: a token signed
(HMAC-SHA256 under `Services.held_secret`) over the list (ids, names, sizes, digests, the field
each is for, expiries), the account (none for a visitor), the form it was sent back from (its
`scope`: "/new", "/r/<id>/message"...) and the browser's holder cookie (random, HttpOnly,
SameSite=Strict, set with the first held file for the form's pages). A resubmission of the same
form from the same browser and account with that token files them: each is streamed back
through staging (`restage`), so its bytes are checked as an upload's are and its digest must be
the one signed. A token forged,
altered or expired, or sent from another browser or account, holds nothing; held files are
never served, so nothing leads from them to anyone but the one who chose them. No JavaScript.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, replace

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response

from domain.access import Actor
from domain.category import FieldSpec, FieldType
from domain.errors import DeskError
from domain.ticket import Attachment
from web import files
from web.attachments import NoSuchBlob
from web.auth import services
from web.ui import i18n
from web.uploads import uploads_of

TTL = 3600.0  # seconds a sent-back form's files are held
COOKIE = "suz_held"  # the holder: binds held files to one browser
FIELD = "held"  # the form's hidden field: the signed list
DROP = "held_drop"  # the ids the requester chose to remove
MAX_TOKEN = 8000


@dataclass(frozen=True)
class HeldFile:
    """One held file: `field` names the category's file field it is for ("" for the others)."""

    id: str
    name: str
    size: int
    sha256: str
    field: str
    until: float


@dataclass(frozen=True)
class Claim:
    """The held files a submission carries (`kept`), and those it asked to remove."""

    kept: list[HeldFile]
    removed: list[HeldFile]


def claimed(request: Request, form: FormData, actor: Actor, scope: str) -> Claim:
    """The held files of the form's token, when it is valid for this browser, account and form."""
    token, holder = form.get(FIELD), request.cookies.get(COOKIE, "")
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN or not _holder_ok(holder):
        return Claim([], [])
    found = _verified(_secret(request), token, holder, actor, scope)
    now = time.time()
    alive = [h for h in found if h.until > now]
    drop = {str(v) for v in form.getlist(DROP)}
    return Claim([h for h in alive if h.id not in drop], [h for h in alive if h.id in drop])


def sign(request: Request, held: list[HeldFile], holder: str, actor: Actor, scope: str) -> str:
    """The token that carries `held` for `holder`, `actor` and the form `scope` ("" when nothing
    is held)."""
    if not held:
        return ""
    payload = {
        "a": str(actor.id or ""),
        "f": [[h.id, h.name, h.size, h.sha256, h.field, h.until] for h in held],
    }
    body = base64.urlsafe_b64encode(orjson.dumps(payload)).decode()
    return f"{body}.{_mac(_secret(request), body, holder, scope)}"


def holder_of(request: Request) -> str:
    """This browser's holder: its cookie's value, or a new one (`remember` sets it)."""
    holder = request.cookies.get(COOKIE, "")
    return holder if _holder_ok(holder) else secrets.token_urlsafe(32)


def remember(request: Request, response: Response, holder: str, path: str) -> None:
    """Sets (or renews) the holder cookie, for the pages under `path`, on a form sent back with
    held files."""
    response.set_cookie(COOKIE, holder, max_age=int(TTL), path=path, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")  # fmt: skip


def field_uploads(specs: list[FieldSpec], form: FormData) -> dict[str, UploadFile]:
    """The uploads of the category's file fields, by field key (those with a file chosen)."""
    found: dict[str, UploadFile] = {}
    for spec in specs:
        upload = form.get(f"file.{spec.key}")
        if spec.type is FieldType.FILE and isinstance(upload, UploadFile) and upload.filename:
            found[spec.key] = upload
    return found


async def carried(
    request: Request,
    actor: Actor,
    specs: list[FieldSpec],
    form: FormData,
    files: list[UploadFile],
    raw: dict[str, str],
    scope: str,
) -> tuple[list[HeldFile], list[tuple[str, UploadFile]]]:
    """The held files a submission of the form `scope` claims (those it removed are deleted now)
    and its new files, each with the file field it is for ("" for the others). A file chosen now
    for a field replaces the one held for it; a held one fills its field in `raw` otherwise."""
    by_field = field_uploads(specs, form)
    claim = claimed(request, form, actor, scope)
    await drop(request, claim.removed)
    file_fields = {s.key for s in specs if s.type is FieldType.FILE}
    held = [h if h.field in file_fields else replace(h, field="")
            for h in claim.kept if h.field not in by_field]  # fmt: skip
    for h in held:
        if h.field and not raw.get(h.field):
            raw[h.field] = h.name
    return held, [*by_field.items(), *(("", f) for f in files)]


async def hold(request: Request, staged: list[tuple[str, Attachment]]) -> list[HeldFile]:
    """Holds files this request staged (`requester_forms.store`), each for its field."""
    until = time.time() + TTL
    uploads = uploads_of(request)
    held = []
    for field, a in staged:
        hold_id = await run_in_threadpool(uploads.hold, a, until)
        held.append(HeldFile(hold_id, a.name, a.size, a.sha256, field, until))
    return held


async def restage(
    request: Request, held: list[HeldFile]
) -> tuple[list[Attachment], list[HeldFile]]:
    """Stages the held files again, as uploads (size capped, hashed, type sniffed): the
    attachments, and those gone (expired, purged, or not the bytes signed)."""
    store, uploads, cap = services(request).blobs, uploads_of(request), files.max_bytes(request)

    def one(h: HeldFile) -> Attachment | None:
        try:
            with store.held(h.id) as stream:
                a = uploads.stage(stream, h.name, cap)
        except (NoSuchBlob, DeskError):
            return None
        return a if a.sha256 == h.sha256 else None

    attachments, gone = [], []
    for h in held:
        found = await run_in_threadpool(one, h)
        if found is None:
            gone.append(h)
        else:
            attachments.append(found)
    return attachments, gone


def gone_message(gone: list[HeldFile]) -> str:
    """What the form says of held files `restage` found gone."""
    return i18n.gettext("These files are no longer kept; choose them again: {names}.").format(
        names=", ".join(h.name for h in gone)
    )


async def drop(request: Request, held: list[HeldFile]) -> None:
    """Deletes held files (filed now, or removed by the requester)."""
    if held:
        await run_in_threadpool(services(request).blobs.drop_held, [h.id for h in held])


def _verified(secret: bytes, token: str, holder: str, actor: Actor, scope: str) -> list[HeldFile]:
    body, _, mac = token.partition(".")
    if not token.isascii() or not hmac.compare_digest(mac, _mac(secret, body, holder, scope)):
        return []
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(body))
        if payload["a"] != str(actor.id or ""):
            return []
        return [
            HeldFile(str(i), str(n), int(s), str(d), str(f), float(u))
            for i, n, s, d, f, u in payload["f"]
        ]
    except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return []  # signed by us, so never: but a token is input, and input is checked


def _mac(secret: bytes, body: str, holder: str, scope: str) -> str:
    message = f"held-files\0{scope}\0{holder}\0{body}".encode()
    return base64.urlsafe_b64encode(hmac.new(secret, message, hashlib.sha256).digest()).decode()


def _holder_ok(holder: str) -> bool:
    return (
        40 <= len(holder) <= 64
        and holder.isascii()
        and holder.replace("-", "").replace("_", "").isalnum()
    )


def _secret(request: Request) -> bytes:
    return services(request).held_secret

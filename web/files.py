"""Attachment routes: upload (multipart, size-capped, type sniffed) and download (authorised)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Message

from domain.access import Command, TicketScope, may_see
from domain.errors import NotFound
from projections import queues
from projections.timeline import timeline
from web.attachments import CHUNK, is_sha256
from web.auth import authenticate, services
from web.body import path_id
from web.errors import ApiError
from web.http import wait_for_views
from web.media import content_disposition, content_type, may_show_inline
from web.uploads import authorise, count, staging


def max_bytes(request: Request) -> int:
    """One attachment's size limit (SUZ_MAX_UPLOAD_BYTES, read by the settings)."""
    return services(request).settings.max_upload_bytes


def _capped(request: Request, limit: int) -> Request:
    """The same request, whose body refuses to grow past `limit` bytes (chunked or not)."""
    seen = 0

    async def receive() -> Message:
        nonlocal seen
        message = await request.receive()
        seen += len(message.get("body", b""))
        if seen > limit:
            raise ApiError(413, "too_large", f"Files are limited to {limit // 1_000_000} MB.")
        return message

    return Request(request.scope, receive)


async def upload(request: Request) -> Response:
    """One file on a request: the caller's right to attach is checked and his upload counted
    before the body is read; the file is staged and kept only once its event is recorded."""
    c = await authenticate(request)
    ticket_id = path_id(request, "ticket_id", "request")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(415, "unsupported_media_type", "Upload files as multipart/form-data.")
    declared, limit = request.headers.get("content-length", ""), max_bytes(request)
    if declared.isascii() and declared.isdigit() and int(declared) > limit + 65_536:
        raise ApiError(413, "too_large", f"Files are limited to {limit // 1_000_000} MB.")
    await authorise(request, c.actor, ticket_id, Command.ATTACH)
    await run_in_threadpool(count, request, c.actor)  # PostgreSQL: a round trip
    svc = services(request)
    async with (
        staging(request) as uploads,
        _capped(request, limit + 65_536).form(max_files=1, max_fields=5) as form,
    ):
        file = form.get("file")
        version = str(form.get("version", ""))
        if not isinstance(file, UploadFile):
            raise ApiError(422, "invalid_input", "Attach the file in the `file` field.", ("file",))
        if not (version.isascii() and version.isdigit()):
            raise ApiError(422, "version_required", "Send the ticket version you saw.",
                           ("version",))  # fmt: skip
        internal = str(form.get("internal", "")).lower() in ("1", "true", "on")
        attachment = await run_in_threadpool(
            lambda: uploads.stage(file.file, file.filename or "", limit, internal=internal)
        )
        w = await run_in_threadpool(
            lambda: svc.desk.attach(c.actor, ticket_id, attachment, expected_version=int(version))
        )
        await run_in_threadpool(uploads.keep, [attachment])
    return Response(
        orjson.dumps({"id": str(w.id), "position": w.position, "version": w.version,
                      "sha256": attachment.sha256, "media_type": attachment.media_type,
                      "name": attachment.name, "size": attachment.size}),
        201, media_type="application/json",
    )  # fmt: skip


async def download(request: Request) -> Response:
    actor = (await authenticate(request)).actor
    ticket_id, sha = str(path_id(request, "ticket_id", "request")), request.path_params["sha256"]
    svc = services(request)
    await wait_for_views(request)
    with svc.projections.db.read() as tx:
        row = queues.ticket_row(tx, ticket_id)
        if row is None or not may_see(actor, TicketScope(UUID(row.id), _u(row.requester_id),
                                                         _u(row.organisation_id))):  # fmt: skip
            raise NotFound("No such request.")
        entries = timeline(tx, ticket_id, staff=actor.is_staff)
    found = next((a for e in entries for a in _attachments(e.data) if a["sha256"] == sha), None)
    if found is None or not is_sha256(sha):
        raise NotFound("No such attachment on this request.")
    store = svc.blobs
    blob = await run_in_threadpool(store.info, sha)  # NoSuchBlob (404) when lost
    inline = request.query_params.get("inline") == "1" and may_show_inline(blob.media_type)
    headers = {"Content-Disposition": content_disposition(found["name"], inline=inline)}
    media_type = content_type(blob.media_type)
    path = store.local_path(sha)
    if path is not None:  # a file on this host's disk: sent as one (ranges, sendfile)
        return _File(path, media_type=media_type, headers=headers)
    chunks = await run_in_threadpool(store.chunks, sha)  # read as the client takes them
    headers["Content-Length"] = str(blob.size)
    return StreamingResponse(chunks, media_type=media_type, headers=headers)


class _File(FileResponse):
    chunk_size = CHUNK  # starlette's 64 KiB made a thread hop per 64 KiB: a quarter of these


def _attachments(data: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(data.get("attachments") or [])
    if data.get("attachment"):
        found.append(data["attachment"])
    return [a for a in found if isinstance(a, dict) and "sha256" in a]


def _u(value: str | None) -> UUID | None:
    return UUID(value) if value else None


routes = [
    Route("/api/v1/tickets/{ticket_id}/attachments", upload, methods=["POST"]),
    Route("/api/v1/tickets/{ticket_id}/attachments/{sha256}", download),
]

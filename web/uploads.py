"""Uploads as the web takes them: who may send one (checked before the body is read), how many
files a caller may upload per hour, and the files of one request staged until the command that
references them is recorded.

A handler authorises (`authorise`), reads the form inside `staging(request)`, stages each file
(`Uploads.stage`: streamed into the store's temporary place, hashed and sniffed), runs its
command and then keeps the files the recorded event references (`Uploads.keep`). Whatever was not
kept when `staging` ends is deleted: a refused, stale or failed command leaves nothing stored.

The limit counts files per caller (the account, else the client's address) in fixed windows of
an hour (`Settings.upload_limit`, SUZ_UPLOAD_LIMIT): in PostgreSQL when the store is, so that
every host counts together (web/shared_throttle.py `SharedRateLimiter`), else in this process's
memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import cast
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from domain.access import Actor, Command, TicketScope, check
from domain.ticket import Attachment
from web.attachments import BlobStore, Readable, Staged
from web.auth import services
from web.errors import ApiError
from web.media import clean_filename
from web.shared_throttle import SharedRateLimiter
from web.throttle import Limiter, RateLimiter, address_key

WINDOW = 3600.0
SCOPE_KEY = "suz_uploads"


class TooManyUploads(ApiError):
    """Raised when a caller has used up his files for this window: 429 with Retry-After."""

    def __init__(self, wait: float) -> None:
        self.wait = wait
        minutes = int(wait // 60) + 1
        super().__init__(
            429,
            "too_many_uploads",
            f"Too many files uploaded; try again in {minutes} min.",
            ("file",),
            {"Retry-After": str(int(wait) + 1)},
        )


class Uploads:
    """The files one request staged, and which of them a recorded command has kept."""

    def __init__(self, store: BlobStore) -> None:
        self.store = store
        self._staged: list[Staged] = []
        self._kept: set[int] = set()

    def stage(
        self, stream: Readable, filename: str, max_bytes: int, *, internal: bool = False
    ) -> Attachment:
        """Streams one file into the store's temporary place; the Attachment to record."""
        staged = self.store.stage(stream, max_bytes)
        self._staged.append(staged)
        name = clean_filename(filename)
        return Attachment(name, staged.size, staged.sha256, staged.media_type, internal)

    def keep(self, attachments: Iterable[Attachment]) -> None:
        """Moves the staged files of `attachments` into the store: call it once the command
        that references them is recorded."""
        wanted = {a.sha256 for a in attachments}
        for i, staged in enumerate(self._staged):
            if staged.sha256 in wanted and i not in self._kept:
                staged.keep()
                self._kept.add(i)

    def hold(self, attachment: Attachment, until: float) -> str:
        """Sets the staged file of `attachment` aside until `until` instead of deleting it (a
        form sent back keeps its files: web/held_files.py); its held id."""
        for i, staged in enumerate(self._staged):
            if staged.sha256 == attachment.sha256 and i not in self._kept:
                self._kept.add(i)
                return staged.hold(until)
        raise ValueError(f"{attachment.name} was not staged here.")

    def discard(self) -> None:
        """Deletes every staged file no recorded command kept."""
        for i, staged in enumerate(self._staged):
            if i not in self._kept:
                staged.discard()


@asynccontextmanager
async def staging(request: Request) -> AsyncIterator[Uploads]:
    """The request's staged uploads; those not kept are deleted when the block ends."""
    uploads = Uploads(services(request).blobs)
    request.scope[SCOPE_KEY] = uploads
    try:
        yield uploads
    finally:
        request.scope.pop(SCOPE_KEY, None)
        await run_in_threadpool(uploads.discard)


def uploads_of(request: Request) -> Uploads:
    """The uploads `staging` opened for this request."""
    found = request.scope.get(SCOPE_KEY)
    if not isinstance(found, Uploads):
        raise RuntimeError("Uploads are staged only inside `staging(request)`.")
    return found


async def authorise(request: Request, actor: Actor, ticket_id: UUID, command: Command) -> None:
    """Refuses (404 or 403, as the command itself would) before any of the body is read."""

    def load() -> None:
        ticket = services(request).desk.ticket(actor, ticket_id)  # NotFound when not visible
        check(actor, command, TicketScope(ticket.id, ticket.requester_id, ticket.organisation_id))

    await run_in_threadpool(load)


def count(request: Request, actor: Actor, files: int = 1) -> None:
    """Counts `files` uploads of this caller; TooManyUploads when over the limit."""
    limiter = _limiter(request)
    key = str(actor.id) if actor.id else address_key(request.client.host if request.client else "")
    for _ in range(files):
        wait = limiter.hit(key)
        if wait > 0:
            raise TooManyUploads(wait)


def _limiter(request: Request) -> Limiter:
    """One limiter per app (the app's state lives as long as its services), shared by every
    host through PostgreSQL when the store is PostgreSQL."""
    state = request.app.state
    found = getattr(state, "upload_limiter", None)
    if found is None:
        svc = services(request)
        limit, db = svc.settings.upload_limit, svc.projections.db
        found = (SharedRateLimiter(db, "uploads", limit, WINDOW) if db.dialect == "postgres"
                 else RateLimiter(limit, WINDOW))  # fmt: skip
        state.upload_limiter = found
    return cast(Limiter, found)

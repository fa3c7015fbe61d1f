"""The files a form of a request's page (/r/{id}: a message, the information asked) carries:
those chosen now and those held from the form sent back before (web/ui/held_files.py), staged
for its command; and, when the form is sent back again, all of them held for the next try.

A file over the limit does not take the others with it: they are held, and the form says what
was wrong. The held files are bound to the request and the form (their token's scope is the
form's address) as well as to the browser and the account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response

from domain.category import FieldSpec
from domain.errors import InvalidInput
from domain.ticket import Attachment
from web.errors import ApiError
from web.ui import held_files
from web.ui.guard import Viewer
from web.ui.held_files import HeldFile
from web.ui.requester_forms import MAX_FILES, file_error, store_each


@dataclass
class Carried:
    """One submission's files: `attachments` are for its command (the new ones and the held
    ones staged again); `error` says what was wrong with any ("" when nothing)."""

    scope: str  # the form's address: a held token is for this form of this request only
    home: str  # the request's page: the holder cookie is sent to its forms
    held: list[HeldFile]  # held from before and still there
    staged: list[tuple[str, Attachment]]  # the new files stored now, with their field
    attachments: list[Attachment]
    error: str = ""
    status: int = 422
    headers: dict[str, str] = field(default_factory=dict)
    holder: str = ""

    async def hold(self, request: Request, viewer: Viewer) -> tuple[list[HeldFile], str]:
        """Holds the new files for the form sent back (once): every file kept, and the token
        the form carries them in."""
        kept = [*self.held, *await held_files.hold(request, self.staged)]
        self.staged, self.holder = [], held_files.holder_of(request)
        return kept, held_files.sign(request, kept, self.holder, viewer.actor, self.scope)

    def remember(self, request: Request, response: Response) -> None:
        """Sets the holder cookie on the form sent back (after `hold`)."""
        if self.holder:
            held_files.remember(request, response, self.holder, self.home)

    async def filed(self, request: Request) -> None:
        """Deletes the held copies once the command recorded the files."""
        await held_files.drop(request, self.held)


async def carried(
    request: Request,
    viewer: Viewer,
    ticket_id: UUID,
    form_path: str,
    specs: list[FieldSpec],
    form: FormData,
    files: list[UploadFile],
    raw: dict[str, str],
) -> Carried:
    """The files a submission of `/r/{ticket_id}/{form_path}` carries, staged (a held file
    fills its field in `raw`)."""
    home = f"/r/{ticket_id}"
    scope = f"{home}/{form_path}"
    held, new = await held_files.carried(request, viewer.actor, specs, form, files, raw, scope)
    error, status, headers = "", 422, {}
    if len(held) + len(new) > MAX_FILES:
        error, new = file_error(InvalidInput("", ["files"])), []
    staged, refused = await store_each(request, new)
    if isinstance(refused, ApiError):
        error, status, headers = refused.message, refused.status, refused.headers
    elif refused is not None:
        error = file_error(refused)
    restaged, gone = await held_files.restage(request, held)
    if gone:
        held = [h for h in held if h not in gone]
        error = error or held_files.gone_message(gone)
    return Carried(scope, home, held, staged, [*(a for _, a in staged), *restaged], error,
                   status, headers)  # fmt: skip

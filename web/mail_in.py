"""The mail edge: what a letter to the desk's mailbox does (issue 16, e-mail in).

A letter (read by mail/letters.py: its new text, its quoted history, its files, whether it is an
automatic reply, a bounce or a list's) finds its request by what the desk itself put in the
letters it sent, never by the sender alone:
1. a reply token in one of its addresses (`support+<token>@...`, mail/threads.py: HMAC-signed
   under the desk's mail secret, so it cannot be made up);
2. our Message-ID of that request's letters in In-Reply-To / References;
3. the request's number in the subject ("[#1042]"), only when the sender is of the request's
   side: the requester, its contact, an account of its organisation.
A letter that finds one becomes the requester's side's message on it (`ReceiveLetter`, marked
with who sent it; a resolved request is reopened); one that finds none files a new request
(channel e-mail; the requester is the sender's account if he has one, else a contact from the
From header), and the category's required data, which a letter does not carry, is asked at once.
A closed request takes nothing more: the letter files a new request, related to it.

Exactly once: a letter's Message-ID is claimed in the same save as what it wrote, so a
re-delivery is answered DUPLICATE and writes nothing. Noise (automatic replies, bounces, list
mail, our own letters) and floods (more than `mail_rate` letters a minute from one address) are
refused. A store that cannot be written answers RETRY: the mail server or the mailbox keeps it.

Both ways in use this one object: the IMAP poller (processes/imap_poller.py) and the MTA's pipe
(`suz mail-in`, mail/pipe.py); the composition root (suz/) builds it.
"""

from __future__ import annotations

import io
import logging
import sqlite3
from dataclasses import dataclass
from uuid import UUID

import psycopg

from domain.access import Actor
from domain.desk import Desk
from domain.errors import AlreadyReceived, DeskError, NotFound
from domain.people import Account, Role
from domain.settings import Settings
from domain.ticket import Attachment, Channel, Contact, LinkKind, Status, Ticket
from domain.tickets.commands import SYSTEM, Link, ReceiveLetter
from mail.imap import Outcome
from mail.letters import BadLetter, Letter, Part, parse
from mail.threads import number_in_subject, tickets_in, token_ticket, tokens_in
from projections import catalog
from projections.db import ViewDB
from web.attachments import BlobStore, TooLarge
from web.media import clean_filename
from web.shared_throttle import SharedRateLimiter
from web.throttle import RateLimiter

log = logging.getLogger("suz.mail")

# Addresses of these domains belong to persons, not to an organisation: two people writing from
# them are not one organisation's.
PUBLIC_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "yandex.ru", "ya.ru", "yandex.com", "mail.ru", "bk.ru",
        "inbox.ru", "list.ru", "rambler.ru", "outlook.com", "hotmail.com", "live.com",
        "icloud.com", "me.com", "yahoo.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de",
    }
)  # fmt: skip
OUTAGES = (psycopg.OperationalError, psycopg.InterfaceError, sqlite3.OperationalError, OSError)


@dataclass(frozen=True)
class Receipt:
    """What became of one letter: its outcome, the request it went to, and why (for logs, the
    pipe's standard error, the refused folder)."""

    outcome: Outcome
    ticket_id: UUID | None = None
    reason: str = ""


@dataclass(frozen=True)
class Sender:
    """Who a letter is from, as the desk knows him."""

    address: str
    name: str
    account_id: UUID | None
    organisation_id: UUID | None
    requester: bool  # his account files requests (not staff, not disabled)


class Intake:
    """Takes letters in; call it with a letter's bytes (the poller's and the pipe's `handle`)."""

    def __init__(self, desk: Desk, views: ViewDB, blobs: BlobStore, settings: Settings) -> None:
        self.desk, self.views, self.blobs, self.settings = desk, views, blobs, settings
        # Counted in PostgreSQL when the store is (every poller, every `suz mail-in` process
        # of the MTA's, every host: one count); in this process's memory with SQLite.
        self.flood: RateLimiter | SharedRateLimiter = (
            SharedRateLimiter(views, "mail", settings.mail_rate, 60.0)
            if views.dialect == "postgres"
            else RateLimiter(limit=settings.mail_rate, window=60.0)
        )

    def __call__(self, raw: bytes) -> Outcome:
        receipt = self.receive(raw)
        log.info("letter %s: %s %s", receipt.outcome, receipt.ticket_id or "", receipt.reason)
        return receipt.outcome

    def receive(self, raw: bytes) -> Receipt:
        try:
            letter = parse(raw, own_domain=self.settings.mail_domain)
        except BadLetter as e:
            return Receipt(Outcome.REFUSED, None, f"not a letter we can read: {e}")
        if letter.noise is not None:
            return Receipt(Outcome.REFUSED, None, f"not taken in ({letter.noise})")
        if not letter.sender:
            return Receipt(Outcome.REFUSED, None, "the letter has no sender (From)")
        try:
            return self._take(letter)
        except OUTAGES as e:  # the store or the views cannot be reached: keep it for later
            log.warning("letter %s kept for later: %s", letter.message_id, e)
            return Receipt(Outcome.RETRY, None, "the desk's store is unavailable; try later")
        except Exception:  # a letter our code cannot take must not stall every letter after it
            log.exception("letter %s could not be taken in; set aside", letter.message_id)
            return Receipt(Outcome.REFUSED, None, "the desk could not take this letter in (an "
                           "error of ours, logged); it is set aside")  # fmt: skip

    # -- the steps ------------------------------------------------------------------------------
    def _take(self, letter: Letter) -> Receipt:
        owner = self.desk.letter_owner(letter.message_id)
        if owner is not None:
            return Receipt(Outcome.DUPLICATE, owner, "taken in before")
        if self.flood.hit(letter.sender) > 0:
            return Receipt(Outcome.REFUSED, None, f"more than {self.settings.mail_rate} letters "
                           f"a minute from {letter.sender}")  # fmt: skip
        sender = self._sender(letter)
        ticket = self._merged(self._thread(letter, sender), sender)
        files, lost = self._store(letter.attachments)
        try:
            if ticket is not None and ticket.status is not Status.CLOSED:
                return self._reply(letter, sender, ticket, files, lost)
            return self._file(letter, sender, files, lost, ticket)
        except AlreadyReceived as e:  # another intake took the same letter meanwhile
            return Receipt(Outcome.DUPLICATE, e.ticket_id, "taken in before")
        except DeskError as e:
            return Receipt(Outcome.REFUSED, ticket.id if ticket else None, e.message)

    def _sender(self, letter: Letter) -> Sender:
        with self.views.read() as tx:
            found = catalog.account_by_email(tx, letter.sender)
        if found is None:
            return Sender(letter.sender, letter.sender_name, None, None, False)
        account = self.desk.repository.get(UUID(found[0]))
        assert isinstance(account, Account)
        requester = Role.REQUESTER in account.roles and not account.disabled
        org = UUID(found[1]) if found[1] else None
        return Sender(letter.sender, letter.sender_name, account.id, org, requester)

    def _thread(self, letter: Letter, sender: Sender) -> Ticket | None:
        """The request the letter answers, by what the desk put in its own letters."""
        for token in tokens_in(letter.recipients):
            ticket_id = token_ticket(self.desk.mail_secret, token)
            if ticket_id is not None and (ticket := self._ticket(ticket_id)) is not None:
                return ticket
        ids = (*letter.in_reply_to, *letter.references)
        for ticket_id in tickets_in(ids, self.settings.mail_domain):
            if (ticket := self._ticket(ticket_id)) is not None:
                return ticket
        number = number_in_subject(letter.subject)
        if number is not None:
            found = self.desk.ticket_by_number(number)
            ticket = self._ticket(found) if found else None
            if ticket is not None and self._of_its_side(ticket, sender):
                return ticket
        return None

    def _merged(self, ticket: Ticket | None, sender: Sender) -> Ticket | None:
        """A letter to a request merged into another goes on in that one (issue 18), when its
        sender is of that one's side too; otherwise it files a new request, as for any closed
        request (another organisation's request never takes its letters)."""
        for _ in range(10):  # a merge of a merge...: each hop closed the one before
            into_id = ticket.merged_into if ticket is not None else None
            if ticket is None or into_id is None:
                return ticket
            into = self._ticket(into_id)
            if into is None or not self._of_its_side(into, sender):
                return ticket
            ticket = into
        return ticket

    def _ticket(self, ticket_id: UUID) -> Ticket | None:
        try:
            return self.desk.ticket(SYSTEM, ticket_id)
        except NotFound:
            return None

    def _of_its_side(self, ticket: Ticket, sender: Sender) -> bool:
        """Whether the sender is the request's requester, its contact, or of its organisation
        (an account of it, or an address of the requester's own mail domain)."""
        if sender.account_id is not None and sender.account_id == ticket.requester_id:
            return True
        if ticket.organisation_id is not None and sender.organisation_id == ticket.organisation_id:
            return True
        addresses = [ticket.contact.email.lower()] if ticket.contact else []
        if ticket.requester_id is not None:
            requester = self.desk.repository.get(ticket.requester_id)
            addresses.append(str(getattr(requester, "email", "")).lower())
        if sender.address in addresses:
            return True
        domain = _domain(sender.address)
        return domain not in PUBLIC_DOMAINS and any(_domain(a) == domain for a in addresses if a)

    def _store(self, parts: tuple[Part, ...]) -> tuple[tuple[Attachment, ...], list[str]]:
        """The letter's files in the attachment store (sniffed, as uploads are); the names of
        those refused as too large."""
        kept, lost = [], []
        for part in parts:
            try:
                staged = self.blobs.stage(io.BytesIO(part.data), self.settings.max_upload_bytes)
            except TooLarge:
                lost.append(part.name)
                continue
            staged.keep()
            name = clean_filename(part.name)
            kept.append(Attachment(name, staged.size, staged.sha256, staged.media_type))
        return tuple(kept), lost

    def _reply(self, letter: Letter, sender: Sender, ticket: Ticket,
               files: tuple[Attachment, ...], lost: list[str]) -> Receipt:  # fmt: skip
        by = sender.account_id if sender.requester else None
        command = ReceiveLetter(ticket.id, None, letter.message_id, sender.address, by,
                                _body(letter.text, lost), letter.quoted, files)  # fmt: skip
        self.desk.handle(SYSTEM, command)
        return Receipt(Outcome.STORED, ticket.id, f"threaded into request {ticket.number}")

    def _file(self, letter: Letter, sender: Sender, files: tuple[Attachment, ...],
              lost: list[str], closed: Ticket | None) -> Receipt:  # fmt: skip
        if sender.requester and sender.account_id is not None:
            actor, contact = self.desk.actor_for(sender.account_id), None
        else:
            actor = Actor.visitor()
            contact = Contact(sender.name or sender.address.split("@")[0], sender.address)
        text = letter.text + (f"\n\n{letter.quoted}" if letter.quoted else "")
        filed = self.desk.file_ticket(
            actor,
            self._category(),
            letter.subject or "(no subject)",
            _body(text, lost),
            {},
            channel=Channel.EMAIL,
            contact=contact,
            letter=letter.message_id,
            attachments=files,
        )
        if closed is not None:  # the old request stays closed; the new one points to it
            self.desk.handle(SYSTEM, Link(filed.id, None, closed.id, LinkKind.RELATED))
        return Receipt(Outcome.STORED, filed.id, f"filed as request {filed.number}")

    def _category(self) -> UUID:
        """The category of requests filed by letter: SUZ_MAIL_CATEGORY (an id or a name), else
        the first category in use."""
        wanted = (self.settings.mail_category or "").strip().lower()
        with self.views.read() as tx:
            rows = catalog.categories(tx)
        for row in rows:
            if wanted in (row["id"], row["name_ru"].lower(), row["name_en"].lower()):
                return UUID(row["id"])
        if not rows:
            raise DeskError("The desk has no category to file letters in; define one.")
        return UUID(rows[0]["id"])


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()


def _body(text: str, lost: list[str]) -> str:
    """The message's text; a letter of files alone says so; files too large to keep are named."""
    body = text.strip() or "(no text)"
    if lost:
        body += "\n\n(not kept, larger than the desk accepts: " + ", ".join(lost) + ")"
    return body

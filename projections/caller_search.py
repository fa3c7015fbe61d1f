"""Who is calling: requesters' accounts and organisations found by name, INN, login, e-mail or
phone, for line 1's "Register a call" (issue 16).

One row per requester account and per organisation, each with a lower-cased `haystack` of what
it is found by (a phone by its last ten digits, so +7 495 ... and 8 495 ... meet). A query's
words must all occur in it (a substring test on a lower-cased string: instr on SQLite, strpos
on PostgreSQL).
Only staff pages and the staff API ask (web/ui/call_pages.py); requesters never reach it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.people import Account, Organisation, Role
from domain.phones import phone_key
from projections.base import View, on
from projections.db import Tx

LIMIT = 20


def _haystack(*parts: str) -> str:
    return " ".join(p.lower() for p in parts if p)


class CallersView(View):
    name = "callers"
    tables = ("v_callers",)

    def ddl(self, dialect: str) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS v_callers (id TEXT PRIMARY KEY, kind TEXT NOT NULL,"
            " name TEXT NOT NULL, login TEXT NOT NULL, email TEXT NOT NULL, phone TEXT NOT NULL,"
            " inn TEXT NOT NULL, organisation_id TEXT, requester INTEGER NOT NULL,"
            " disabled INTEGER NOT NULL, haystack TEXT NOT NULL)",
            "CREATE INDEX IF NOT EXISTS v_callers_organisation ON v_callers (organisation_id)",
        ]

    @on(Organisation.Registered)
    def organisation_registered(self, tx: Tx, e: Organisation.Registered, position: int) -> None:
        tx.execute(
            "INSERT INTO v_callers (id, kind, name, login, email, phone, inn, organisation_id,"
            " requester, disabled, haystack) VALUES (%s, 'organisation', %s, '', '', '', %s, %s,"
            " 0, 0, %s)",
            (str(e.originator_id), e.name, e.inn, str(e.originator_id), _haystack(e.name, e.inn)),
        )

    @on(Organisation.Renamed)
    def organisation_renamed(self, tx: Tx, e: Organisation.Renamed, position: int) -> None:
        row = tx.one("SELECT inn FROM v_callers WHERE id = %s", (str(e.originator_id),))
        inn = str(row[0]) if row else ""
        tx.execute("UPDATE v_callers SET name = %s, haystack = %s WHERE id = %s",
                   (e.name, _haystack(e.name, inn), str(e.originator_id)))  # fmt: skip

    @on(Account.Registered)
    def account_registered(self, tx: Tx, e: Account.Registered, position: int) -> None:
        phone = getattr(e, "phone", "") or ""  # absent from accounts registered before
        tx.execute(
            "INSERT INTO v_callers (id, kind, name, login, email, phone, inn, organisation_id,"
            " requester, disabled, haystack) VALUES (%s, 'account', %s, %s, %s, %s, '', %s, %s,"
            " 0, %s)",
            (str(e.originator_id), e.display_name, e.login, e.email, phone,
             str(e.organisation_id) if e.organisation_id else None,
             int(Role.REQUESTER in e.roles),
             _haystack(e.display_name, e.login, e.email, phone_key(phone))),
        )  # fmt: skip

    @on(Account.RolesChanged)
    def roles_changed(self, tx: Tx, e: Account.RolesChanged, position: int) -> None:
        tx.execute("UPDATE v_callers SET requester = %s WHERE id = %s",
                   (int(Role.REQUESTER in e.roles), str(e.originator_id)))  # fmt: skip

    @on(Account.Disabled, Account.Enabled)
    def disabled(self, tx: Tx, e: Any, position: int) -> None:
        tx.execute("UPDATE v_callers SET disabled = %s WHERE id = %s",
                   (int(isinstance(e, Account.Disabled)), str(e.originator_id)))  # fmt: skip


@dataclass(frozen=True)
class Caller:
    """A match: a requester's account (with his organisation) or an organisation."""

    id: str
    kind: str  # account | organisation
    name: str
    login: str
    email: str
    phone: str
    inn: str
    organisation_id: str | None
    organisation: str  # the organisation's name (an organisation's own, for one)


def terms(text: str) -> list[str]:
    """The words a query must all match: a query written like a phone number (digits, spaces,
    brackets, dashes, +) is one term, its last ten digits; other words are lower-cased."""
    text = text.strip()[:200]
    digits = "".join(c for c in text if c.isdigit())
    if len(digits) >= 3 and all(c.isdigit() or c in " +-()." for c in text):
        return [phone_key(digits)]
    return [w.lower() for w in text.split()][:6]


def _contains(dialect: str) -> str:
    """A lower-cased haystack holding a term: a plain substring test (no LIKE patterns to escape,
    and cheaper than LIKE's character-by-character case folding)."""
    return "strpos(c.haystack, %s) > 0" if dialect == "postgres" else "instr(c.haystack, %s) > 0"


_SELECT = (
    "SELECT c.id, c.kind, c.name, c.login, c.email, c.phone, c.inn, c.organisation_id,"
    " COALESCE(o.name, '') FROM v_callers c LEFT JOIN v_callers o"
    " ON o.id = c.organisation_id AND o.kind = 'organisation'"
)
_CALLABLE = (
    "((c.kind = 'account' AND c.requester = 1 AND c.disabled = 0) OR c.kind = 'organisation')"
)


def search(tx: Tx, text: str, limit: int = LIMIT) -> list[Caller]:
    """Requesters' accounts and organisations matching every word of `text`: accounts first,
    then by name; nothing for an empty query."""
    words = terms(text)
    if not words:
        return []
    where = " AND ".join([_contains(tx.dialect)] * len(words))
    rows = tx.all(  # the page of matches first, then their organisations' names
        _SELECT.replace("FROM v_callers c", "FROM (SELECT * FROM v_callers c WHERE"
                        f" {_CALLABLE} AND {where} ORDER BY c.kind, c.name, c.id LIMIT %s) c")
        + " ORDER BY c.kind, c.name, c.id",
        (*words, limit),
    )  # fmt: skip
    return [_caller(r) for r in rows]


def people_of(tx: Tx, organisation_id: str, limit: int = 50) -> list[Caller]:
    """An organisation's requesters (who may be the one calling on its behalf)."""
    rows = tx.all(
        f"{_SELECT} WHERE c.kind = 'account' AND c.requester = 1 AND c.disabled = 0"
        " AND c.organisation_id = %s ORDER BY c.name, c.id LIMIT %s",
        (organisation_id, limit),
    )
    return [_caller(r) for r in rows]


def caller(tx: Tx, caller_id: str) -> Caller | None:
    """One account or organisation, as a match shows it (the form keeps the chosen one)."""
    row = tx.one(f"{_SELECT} WHERE c.id = %s", (caller_id,))
    return _caller(row) if row else None


def _caller(r: Any) -> Caller:
    return Caller(str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), str(r[6]),
                  str(r[7]) if r[7] else None, str(r[8]))  # fmt: skip

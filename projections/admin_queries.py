"""What the administrators' pages ask of the catalogue view: accounts found by name, login or
e-mail (by role, enabled or not), and a group's members.

Text search folds case in the database: PostgreSQL's `lower()` knows Cyrillic, SQLite's only
ASCII, so the typed text is also matched as typed and capitalised ("ива" finds "Иванова").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from projections.db import Tx

LIMIT = 200  # accounts shown at once; the page says when there are more


@dataclass(frozen=True)
class AccountRow:
    id: str
    login: str
    display_name: str
    email: str
    roles: list[str]
    organisation_id: str | None
    group_ids: list[str]
    disabled: bool


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _row(r: Any) -> AccountRow:
    return AccountRow(str(r[0]), r[1], r[2], r[3], orjson.loads(r[4]), r[5],
                      orjson.loads(r[6]), bool(r[7]))  # fmt: skip


_COLUMNS = "id, login, display_name, email, roles, organisation_id, group_ids, disabled"


def find_accounts(tx: Tx, text: str = "", role: str = "", state: str = "",
                  limit: int = LIMIT) -> tuple[list[AccountRow], bool]:  # fmt: skip
    """Accounts whose name, login or e-mail holds `text`, with `role` (any when ""), enabled
    or disabled (`state` "enabled" / "disabled"; both when ""), by name; and whether more
    matched than `limit`."""
    where: list[str] = ["1 = 1"]
    params: list[Any] = []
    typed = text.strip()
    if typed:
        variants = sorted({typed, typed.lower(), typed[:1].upper() + typed[1:].lower()})
        ors = []
        for v in variants:
            for column in ("lower(login)", "lower(display_name)", "lower(email)", "display_name"):
                ors.append(f"{column} LIKE %s ESCAPE '\\'")
                params.append(_like(v))
        where.append("(" + " OR ".join(ors) + ")")
    if role:
        where.append("roles LIKE %s")
        params.append(f'%"{role}"%')
    if state in ("enabled", "disabled"):
        where.append("disabled = %s")
        params.append(int(state == "disabled"))
    rows = tx.all(f"SELECT {_COLUMNS} FROM v_accounts WHERE {' AND '.join(where)}"
                  " ORDER BY display_name, login LIMIT %s", (*params, limit + 1))  # fmt: skip
    return [_row(r) for r in rows[:limit]], len(rows) > limit


def group_members(tx: Tx, group_id: str) -> list[AccountRow]:
    """The accounts in a group (disabled ones too, marked), by name."""
    rows = tx.all(f"SELECT {_COLUMNS} FROM v_accounts WHERE group_ids LIKE %s"
                  " ORDER BY display_name", (f'%"{group_id}"%',))  # fmt: skip
    return [_row(r) for r in rows]


def group_sizes(tx: Tx) -> dict[str, int]:
    """How many enabled accounts each group has, by group id."""
    sizes: dict[str, int] = {}
    for (ids,) in tx.all("SELECT group_ids FROM v_accounts WHERE disabled = 0"):
        for g in orjson.loads(ids):
            sizes[g] = sizes.get(g, 0) + 1
    return sizes


def organisations(tx: Tx) -> list[dict[str, Any]]:
    """Every organisation with its INN and number of accounts, by name."""
    rows = tx.all(
        "SELECT o.id, o.name, o.inn, o.kpp, (SELECT COUNT(*) FROM v_accounts a"
        " WHERE a.organisation_id = o.id) FROM v_organisations o ORDER BY o.name"
    )
    return [{"id": r[0], "name": r[1], "inn": r[2], "kpp": r[3], "members": int(r[4])}
            for r in rows]  # fmt: skip


def organisation_members(tx: Tx, organisation_id: str) -> list[AccountRow]:
    rows = tx.all(f"SELECT {_COLUMNS} FROM v_accounts WHERE organisation_id = %s"
                  " ORDER BY display_name", (organisation_id,))  # fmt: skip
    return [_row(r) for r in rows]

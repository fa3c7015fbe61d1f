"""Names for ids on a page: one query per page for the accounts, groups and organisations shown."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from projections.db import Tx


def _by_id(tx: Tx, table: str, column: str, ids: Iterable[str | None]) -> dict[str, str]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    marks = ", ".join(["%s"] * len(wanted))
    return dict(tx.all(f"SELECT id, {column} FROM {table} WHERE id IN ({marks})", tuple(wanted)))


def account_names(tx: Tx, ids: Iterable[str | None]) -> dict[str, str]:
    return _by_id(tx, "v_accounts", "display_name", ids)


def group_names(tx: Tx, ids: Iterable[str | None]) -> dict[str, str]:
    return _by_id(tx, "v_groups", "name", ids)


def organisation_names(tx: Tx, ids: Iterable[str | None]) -> dict[str, str]:
    return _by_id(tx, "v_organisations", "name", ids)


def category_names(tx: Tx) -> dict[str, dict[str, Any]]:
    rows = tx.all("SELECT id, name_ru, name_en FROM v_categories")
    return {r[0]: {"name_ru": r[1], "name_en": r[2]} for r in rows}


def names_for(tx: Tx, rows: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """Every name a list of ticket rows shows, in four queries whatever its length."""
    rows = list(rows)
    return {
        "accounts": account_names(
            tx, [r.requester_id for r in rows] + [r.assignee_id for r in rows]
        ),
        "groups": group_names(tx, [r.group_id for r in rows]),
        "organisations": organisation_names(tx, [r.organisation_id for r in rows]),
        "categories": category_names(tx),
    }

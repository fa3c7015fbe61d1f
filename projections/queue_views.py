"""The saved views of the desk's list (issue 18; domain/setup/queue_views.py): one row per
view not deleted, read by the desk's sidebar (a person's own views and the shared ones)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.setup.queue_views import QueueView
from projections.base import View, on
from projections.db import Tx


class QueueViewsView(View):
    name = "queue_views"
    tables = ("v_queue_views",)

    def ddl(self, dialect: str) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS v_queue_views (id TEXT PRIMARY KEY,"
            " owner_id TEXT NOT NULL, name TEXT NOT NULL, query TEXT NOT NULL,"
            " shared INTEGER NOT NULL, version INTEGER NOT NULL)",
            "CREATE INDEX IF NOT EXISTS v_queue_views_owner ON v_queue_views (owner_id)",
            "CREATE INDEX IF NOT EXISTS v_queue_views_shared ON v_queue_views (shared)",
        ]

    @on(QueueView.Saved)
    def saved(self, tx: Tx, event: QueueView.Saved, position: int) -> None:
        tx.execute(
            "INSERT INTO v_queue_views (id, owner_id, name, query, shared, version)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
            (str(event.originator_id), str(event.owner_id), event.name, event.query,
             int(event.shared), event.originator_version),
        )  # fmt: skip

    @on(QueueView.Changed)
    def changed(self, tx: Tx, event: QueueView.Changed, position: int) -> None:
        tx.execute(
            "UPDATE v_queue_views SET name = %s, query = %s, shared = %s, version = %s"
            " WHERE id = %s",
            (event.name, event.query, int(event.shared), event.originator_version,
             str(event.originator_id)),
        )  # fmt: skip

    @on(QueueView.Deleted)
    def deleted(self, tx: Tx, event: QueueView.Deleted, position: int) -> None:
        tx.execute("DELETE FROM v_queue_views WHERE id = %s", (str(event.originator_id),))


@dataclass(frozen=True)
class SavedView:
    id: str
    owner_id: str
    name: str
    query: str
    shared: bool
    version: int


_COLUMNS = "id, owner_id, name, query, shared, version"


def _view(row: Any) -> SavedView:
    return SavedView(str(row[0]), str(row[1]), row[2], row[3], bool(row[4]), int(row[5]))


def seen_by(tx: Tx, account_id: UUID, limit: int = 100) -> list[SavedView]:
    """His own views, then the shared ones of others, each by name."""
    rows = tx.all(
        f"SELECT {_COLUMNS} FROM v_queue_views WHERE owner_id = %s"
        f" UNION ALL SELECT {_COLUMNS} FROM v_queue_views WHERE shared = 1 AND owner_id <> %s"
        " ORDER BY 5, 3 LIMIT %s",
        (str(account_id), str(account_id), limit),
    )
    return [_view(r) for r in rows]


def one(tx: Tx, view_id: str, account_id: UUID) -> SavedView | None:
    """The view, if he may see it: his own or a shared one."""
    row = tx.one(f"SELECT {_COLUMNS} FROM v_queue_views WHERE id = %s", (view_id,))
    view = _view(row) if row else None
    if view is None or not (view.shared or view.owner_id == str(account_id)):
        return None
    return view

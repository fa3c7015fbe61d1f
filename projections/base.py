"""What every view is: tables it owns, handlers per event type, and its tracking position."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, TypeVar

from eventsourcing.utils import get_topic

from projections.db import Row, Tx

H = TypeVar("H", bound=Callable[..., None])


class View:
    """A read model. Subclasses list their DDL per dialect and register handlers with `on`."""

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    handlers: ClassVar[dict[type, str]]
    shape: ClassVar[int] = 1  # bumped when the tables change: the view is then dropped and rebuilt

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls.handlers = {}
        for attr in vars(cls).values():
            for event_class in getattr(attr, "_handles", ()):
                cls.handlers[event_class] = attr.__name__

    def ddl(self, dialect: str) -> list[str]:
        raise NotImplementedError

    @property
    def topics(self) -> list[str]:
        """The event topics this view reads; the runner fetches only these."""
        return [get_topic(c) for c in self.handlers]

    def begin(self) -> None:
        """Called before each batch: a view that buffers writes starts with empty buffers."""

    def prefetch(self, tx: Tx, events: list[tuple[int, Any]]) -> None:
        """Called after `begin` with the batch's events this view handles, before they are
        handled: a view that reads a stored row per event reads them all here, in one query per
        batch (`select_in`), instead of one round trip per event."""

    def flush(self, tx: Tx) -> None:
        """Called at the end of each batch, inside its transaction: write what was buffered."""

    def handle(self, tx: Tx, event: Any, position: int) -> None:
        method = self.handlers.get(type(event))
        if method is not None:
            getattr(self, method)(tx, event, position)


def on(*event_classes: type) -> Callable[[H], H]:
    """Marks a view method as the handler of these event classes."""

    def mark(method: H) -> H:
        method._handles = event_classes  # type: ignore[attr-defined]
        return method

    return mark


CHUNK = 500  # keys per statement on SQLite (its limit on parameters is 32,766, older ones 999)


def select_in(tx: Tx, sql: str, keys: Iterable[Any]) -> list[Row]:
    """The rows of `sql` whose `{keys}` condition holds for any of `keys`: `sql` says
    `WHERE id {keys}`. PostgreSQL: one statement (`= ANY(%s)`); SQLite: `IN` by chunks."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return []
    if tx.dialect == "postgres":
        return tx.all(sql.format(keys="= ANY(%s)"), (wanted,))
    rows: list[Row] = []
    for i in range(0, len(wanted), CHUNK):
        part = wanted[i : i + CHUNK]
        rows += tx.all(sql.format(keys=f"IN ({', '.join(['%s'] * len(part))})"), part)
    return rows


TRACKING_DDL = (
    "CREATE TABLE IF NOT EXISTS v_tracking (view TEXT PRIMARY KEY, position BIGINT NOT NULL)"
)
SHAPES_DDL = "CREATE TABLE IF NOT EXISTS v_shapes (view TEXT PRIMARY KEY, shape INTEGER NOT NULL)"


def tracking(tx: Tx, view: str) -> int:
    """The view's position, locked for this transaction on PostgreSQL: two runners of one view
    (a lost advisory lock) then take turns, the second starting where the first committed."""
    lock = " FOR UPDATE" if tx.dialect == "postgres" else ""  # SQLite writers are serial
    row = tx.one(f"SELECT position FROM v_tracking WHERE view = %s{lock}", (view,))
    return int(row[0]) if row else 0


def set_tracking(tx: Tx, view: str, position: int) -> None:
    tx.execute(
        "INSERT INTO v_tracking (view, position) VALUES (%s, %s) "
        "ON CONFLICT (view) DO UPDATE SET position = excluded.position",
        (view, position),
    )


def trackings(tx: Tx, views: list[str]) -> dict[str, int]:
    """Several views' positions in one statement, locked like `tracking` (in a fixed order, so
    two lockers of overlapping sets cannot deadlock)."""
    marks = ", ".join(["%s"] * len(views))
    lock = " ORDER BY view FOR UPDATE" if tx.dialect == "postgres" else ""
    rows = tx.all(f"SELECT view, position FROM v_tracking WHERE view IN ({marks}){lock}", views)
    found = {str(v): int(p) for v, p in rows}
    return {v: found.get(v, 0) for v in views}


def set_trackings(tx: Tx, positions: dict[str, int]) -> None:
    """Several views' positions in one statement."""
    rows = ", ".join(["(%s, %s)"] * len(positions))
    tx.execute(
        f"INSERT INTO v_tracking (view, position) VALUES {rows} "
        "ON CONFLICT (view) DO UPDATE SET position = excluded.position",
        [x for item in positions.items() for x in item],
    )

"""Recognising our own write when the store says the rows exist already.

On PostgreSQL the connection can die after the server committed but before its answer arrived;
the event store's recorder then retries the insert and meets its own rows on the unique key
(originator_id, originator_version), raising IntegrityError. Those rows are ours if each event we
tried to store is there with the same topic and the same state bytes: the state holds the event's
timestamp (microseconds), its chain link and every field, so another writer's event at the same
version cannot be byte-equal. Then the write succeeded, and this module finds its log positions.

SQLite cannot get here: its commit is a call in this process that returns or raises, and when
it raises nothing was committed (the recorder does not retry inserts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent


def positions_if_stored(recorder: Any, ours: Sequence[StoredEvent]) -> list[int] | None:
    """The log positions of `ours` if every one of them is stored exactly as given, else None."""
    if not ours:
        return None
    found = [_stored(recorder, event) for event in ours]
    positions: list[int] = []
    for event, row in zip(ours, found, strict=True):
        if row is None or row[0] != event.topic or bytes(row[1]) != bytes(event.state):
            return None
        positions.append(int(row[2]))
    return positions


def _stored(recorder: Any, event: StoredEvent) -> tuple[str, bytes, int] | None:
    """(topic, state, notification id) of the stored event at the same id and version."""
    datastore = recorder.datastore
    table = recorder.events_table_name
    if hasattr(datastore, "schema"):  # PostgreSQL
        from psycopg.sql import SQL, Identifier

        query = SQL(
            "SELECT topic, state, notification_id FROM {}.{} "
            "WHERE originator_id = %s AND originator_version = %s"
        ).format(Identifier(datastore.schema), Identifier(table))
        with datastore.get_connection() as conn, conn.cursor() as cursor:
            cursor.execute(query, (event.originator_id, event.originator_version))
            row = cursor.fetchone()
        return None if row is None else (row["topic"], row["state"], row["notification_id"])
    with datastore.transaction(commit=False) as cursor:  # SQLite: the position is the rowid
        cursor.execute(
            f"SELECT topic, state, rowid FROM {table} "
            "WHERE originator_id = ? AND originator_version = ?",
            (str(event.originator_id).replace("-", ""), event.originator_version),
        )
        found = cursor.fetchone()
    return None if found is None else (found[0], found[1], found[2])

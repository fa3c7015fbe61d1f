"""What the operators' endpoints read of the view store (web/metrics.py, web/readiness.py):
each view's position and recorded shape, and the mail outbox's backlog."""

from __future__ import annotations

from projections.db import Tx


def positions(tx: Tx) -> dict[str, int]:
    """Each view's tracking position (the last log position it applied)."""
    return {str(v): int(p) for v, p in tx.all("SELECT view, position FROM v_tracking")}


def shapes(tx: Tx) -> dict[str, int]:
    """Each view's recorded table shape (a view whose shape changed is rebuilt)."""
    return {str(v): int(s) for v, s in tx.all("SELECT view, shape FROM v_shapes")}


def outbox_backlog(tx: Tx) -> dict[str, int]:
    """Letters in the mail outbox waiting to be sent ("pending") and given up ("dead")."""
    rows = tx.all("SELECT state, COUNT(*) FROM mail_outbox WHERE state IN ('pending', 'dead')"
                  " GROUP BY state")  # fmt: skip
    return {"pending": 0, "dead": 0, **{str(s): int(n) for s, n in rows}}

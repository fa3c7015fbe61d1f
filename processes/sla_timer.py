"""The SLA process: raises warnings and breaches when they fall due, escalates breaches per
policy, and closes resolved requests nobody answered. Supervised like the view runners.

It reads only due rows through the SLA view's indexes and sends ticket commands (`RaiseSlaAlarm`,
`CloseUnanswered`) through the desk's one dispatcher. They are idempotent (an alarm is
recorded once per kind and deadline; a close applies only to a still-resolved request), so a
restart, a lagging view or a second process can repeat a tick without double-firing; since a tick
takes everything due by now, nothing is missed across a restart either.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

from domain.desk import Desk
from domain.errors import DeskError
from domain.tickets.commands import CloseUnanswered, RaiseSlaAlarm
from processes.process import Process
from projections.db import ViewDB
from projections.sla import due_soon, to_close

log = logging.getLogger("suz.sla")
Now = Callable[[], datetime]
CLOSE_REASON = "Closed automatically: no reply from the requester after the resolution."


def _now() -> datetime:
    return datetime.now(UTC)


class SlaTimer(Process):
    name = "sla-timer"

    def __init__(self, desk: Desk, db: ViewDB, now: Now = _now, interval: float = 1.0) -> None:
        super().__init__(db, interval)
        self.desk, self.now = desk, now

    def tick(self) -> int:
        """Handles everything due by now; returns how many commands wrote something."""
        now = self.now()
        with self.db.read() as tx:
            alarms = due_soon(tx, now)
            closing = to_close(tx, now)
            found = tx.all(
                "SELECT kind, MIN(id) FROM v_groups WHERE kind IN ('line2', 'line3') GROUP BY kind"
            )
            next_lines = {str(kind): str(group) for kind, group in found}
        setup = self.desk.sla_setup()
        written = 0
        for ticket, kind, due, policy_id, line in alarms:
            policy = next((p for p in setup.policies if str(p.id) == policy_id), None)
            if policy is None:
                continue  # the set-up changed; the view reschedules the row
            target = next_lines.get(f"line{line + 1}") if policy.escalate_on_breach else None
            try:
                escalate_to = UUID(target) if target else None
                at = datetime.fromisoformat(due)
                alarm = RaiseSlaAlarm(UUID(ticket), None, kind, at, policy.name, escalate_to)
                w = self.desk.send(alarm)
            except DeskError as e:
                log.warning("SLA alarm %s on %s refused: %s", kind, ticket, e)
                continue
            written += w is not None
        for ticket, _version in closing:
            try:
                written += (
                    self.desk.send(CloseUnanswered(UUID(ticket), None, CLOSE_REASON)) is not None
                )
            except DeskError as e:
                log.warning("SLA auto-close of %s refused: %s", ticket, e)
        return written

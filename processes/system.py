"""The process managers of one process, added to its read side: they start after the pump (only
where the views run) and stop before it."""

from __future__ import annotations

from domain.desk import Desk
from domain.settings import Settings
from processes.assigner import Assigner
from processes.follow_ups import FollowUpProcess
from processes.incidents import IncidentProcess
from processes.mail_sender import MailSender
from processes.sla_timer import SlaTimer
from projections.base import View
from projections.system import Projections


def with_processes(projections: Projections) -> Projections:
    """`projections` with the SLA timer, the incident process, the assigner, the follow-ups
    and, when SUZ_SMTP_URL is set, the mail sender."""
    desk, db = projections.desk, projections.db
    projections.followers += [
        SlaTimer(desk, db),
        IncidentProcess(desk, db, projections.positions),
        Assigner(desk, db),
        FollowUpProcess(desk, db),
    ]
    if projections.settings.smtp_url:  # without a server no letter goes out; the in-app list
        # still fills, and the outbox keeps the letters for when one is configured
        projections.followers.append(
            MailSender(desk, db, projections.settings, projections.positions)
        )
    return projections


def read_side(desk: Desk, settings: Settings, views: list[View] | None = None) -> Projections:
    """The views of `desk` and the processes that follow them."""
    return with_processes(Projections(desk, settings, views))

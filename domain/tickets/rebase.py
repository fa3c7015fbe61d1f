"""When a versioned command meets a newer ticket: is the sender's view still good?

A command carries the version its sender saw (If-Match). If the ticket moved on meanwhile, the
command is refused (409) so that the person looks again, unless nothing that happened meanwhile
changes what the command decides on; then it is carried out on the current version. That is the
case for events that only annotate a request (an SLA alarm, a link, quality follow-ups: the
processes write them at any moment, and a person's reply must not fail for them) and, for what
only adds to the conversation (a reply, a message, a note, a file), for routing done by the
system (the assigner's pick, the SLA escalation) rather than by a person.
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.ticket import Ticket
from domain.tickets import commands as c

ANNOTATIONS: tuple[type, ...] = (
    Ticket.SlaAlarmed,
    Ticket.FollowUpRaised,
    Ticket.FollowUpDone,
    Ticket.QualityReviewed,
    Ticket.Linked,
    Ticket.ArticleLinked,
)
SYSTEM_ROUTING: tuple[type, ...] = (Ticket.Assigned, Ticket.Escalated)
CONVERSATION: tuple[type, ...] = (c.ReplyToTicket, c.WriteMessage, c.AddNote, c.Attach)


def still_current(command: c.TicketCommand, meanwhile: Iterable[object]) -> bool:
    """Whether `command` may go ahead on a ticket that recorded `meanwhile` since its sender
    looked (the events after its expected version, in order)."""
    for event in meanwhile:
        if isinstance(event, ANNOTATIONS):
            continue
        if (isinstance(command, CONVERSATION) and isinstance(event, SYSTEM_ROUTING)
                and getattr(event, "by", None) is None):  # fmt: skip
            continue
        return False
    return True

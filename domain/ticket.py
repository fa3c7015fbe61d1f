"""The Ticket aggregate: the whole life of one support request, as immutable events."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from domain.category import FieldValue
from domain.chain import ChainedAggregate
from domain.errors import InvalidInput, InvalidTransition
from domain.people import clean_text
from domain.tickets.values import (
    ACTIVE_STATUSES,
    MAX_BODY,
    MAX_TAGS,
    SLA_ALARMS,
    Attachment,
    Channel,
    Contact,
    LinkKind,
    Priority,
    Status,
    TemplateUse,
    TicketKind,
    Urgency,
    clean_body,
    clean_tag,
)

# The values are re-exported: callers and the stored topics of older events name them here.
__all__ = [
    "ACTIVE_STATUSES",
    "MAX_BODY",
    "SLA_ALARMS",
    "Attachment",
    "Channel",
    "Contact",
    "LinkKind",
    "Priority",
    "Status",
    "TemplateUse",
    "Ticket",
    "TicketKind",
    "Urgency",
    "clean_body",
]

# What a ticket holds before the events that set these (links, alarms, follow-ups, a review).
UNTOUCHED: dict[str, Any] = {"articles": (), "sla_alarms": (), "follow_ups": (),
                             "follow_ups_done": (), "quality_reviewed": False,
                             "tags": (), "merged_into": None}  # fmt: skip
# Version 2 of a ticket's state has every attribute from filing on; a version 1 snapshot (taken
# before some existed) gets the values its ticket had then: these, as filed before they were.
UPCAST_V2: dict[str, Any] = {
    "urgency": Urgency.NORMAL, "visitor_key_hash": "", "kind": TicketKind.REQUEST,
    "raised_by": None, **UNTOUCHED,
}  # fmt: skip


class Ticket(ChainedAggregate):
    """A request: filed, routed, answered, escalated, resolved, rated."""

    if TYPE_CHECKING:  # attributes set by the events; not dataclass fields
        number: int
        channel: Channel
        requester_id: UUID | None
        contact: Contact | None
        organisation_id: UUID | None
        category_id: UUID
        subject: str
        description: str
        fields: dict[str, FieldValue]
        status: Status
        priority: Priority
        urgency: Urgency
        line: int
        group_id: UUID | None
        assignee_id: UUID | None
        requested_fields: tuple[str, ...]
        requested_questions: tuple[str, ...]
        attachments: tuple[Attachment, ...]
        links: tuple[tuple[UUID, LinkKind], ...]
        rating: int | None
        resolution: str
        visitor_key_hash: str
        kind: TicketKind
        raised_by: UUID | None
        articles: tuple[UUID, ...]  # knowledge-base articles linked to this request
        sla_alarms: tuple[tuple[str, datetime], ...]  # (alarm, due) of each SlaAlarmed
        follow_ups: tuple[int, ...]  # rated versions that raised a follow-up
        follow_ups_done: tuple[int, ...]
        quality_reviewed: bool
        tags: tuple[str, ...]  # the staff's labels (issue 18); never the requester's to see
        merged_into: UUID | None  # the request this one was merged into (closed with it)

    class_version = 3  # snapshots of versions 1 and 2 are upcast when loaded

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        for name, value in UPCAST_V2.items():
            state.setdefault(name, value)

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        state.setdefault("tags", ())  # tags and merges came with issue 18: none before
        state.setdefault("merged_into", None)

    # -- filing -------------------------------------------------------------------------------
    class Filed(ChainedAggregate.Created):
        number: int
        channel: Channel
        requester_id: UUID | None
        contact: Contact | None
        organisation_id: UUID | None
        category_id: UUID
        subject: str
        description: str
        fields: dict[str, FieldValue]
        priority: Priority
        visitor_key_hash: str = ""  # sha256 of the private link's key, for anonymous requests
        kind: TicketKind = TicketKind.REQUEST
        raised_by: UUID | None = None  # the staff member who raised a gap or registered a call
        urgency: Urgency = Urgency.NORMAL  # the requester's own say (absent before issue 13)
        caller_phone: str = ""  # the number a call registered by line 1 came from (issue 16)

        def apply(self, aggregate: Any) -> None:
            t = cast(Ticket, aggregate)
            t.urgency = self.urgency
            t.visitor_key_hash, t.kind, t.raised_by = (
                self.visitor_key_hash, self.kind, self.raised_by)  # fmt: skip
            vars(t).update(UNTOUCHED)
            t.number, t.channel = self.number, self.channel
            t.requester_id, t.contact = self.requester_id, self.contact
            t.organisation_id, t.category_id = self.organisation_id, self.category_id
            t.subject, t.description = self.subject, self.description
            t.fields, t.priority = dict(self.fields), self.priority
            t.status, t.line, t.group_id, t.assignee_id = Status.NEW, 1, None, None
            t.requested_fields, t.requested_questions = (), ()
            t.attachments, t.links, t.rating, t.resolution = (), (), None, ""

    @classmethod
    def file(
        cls,
        *,
        ticket_id: UUID,
        number: int,
        channel: Channel,
        category_id: UUID,
        subject: str,
        description: str,
        fields: dict[str, FieldValue],
        requester_id: UUID | None = None,
        organisation_id: UUID | None = None,
        contact: Contact | None = None,
        priority: Priority = Priority.NORMAL,
        visitor_key_hash: str = "",
        kind: TicketKind = TicketKind.REQUEST,
        raised_by: UUID | None = None,
        urgency: Urgency = Urgency.NORMAL,
        caller_phone: str = "",
    ) -> Ticket:
        if kind is TicketKind.KNOWLEDGE_GAP and raised_by is None:
            raise InvalidInput("A knowledge gap is raised by a member of staff.", ["raised_by"])
        if requester_id is None and contact is None and kind is TicketKind.REQUEST:
            raise InvalidInput("A request needs a requester or a contact.", ["contact"])
        return cls._start(
            cls.Filed,
            id=ticket_id,
            number=number,
            channel=Channel(channel),
            requester_id=requester_id,
            contact=contact,
            organisation_id=organisation_id,
            category_id=category_id,
            subject=clean_text(subject, "subject"),
            description=clean_body(description, "description"),
            fields=fields,
            priority=Priority(priority),
            visitor_key_hash=visitor_key_hash,
            kind=TicketKind(kind),
            raised_by=raised_by,
            urgency=Urgency(urgency),
            caller_phone=caller_phone.strip(),
        )

    # -- guards -------------------------------------------------------------------------------
    def check_not_closed(self) -> None:
        if self.status is Status.CLOSED:
            raise InvalidTransition(f"Request {self.number} is closed; file a new request.")

    def check_active(self) -> None:
        """Work (replies, transfers, escalation) needs a request that is not resolved or closed."""
        self.check_not_closed()
        if self.status is Status.RESOLVED:
            raise InvalidTransition(f"Request {self.number} is resolved; reopen it first.")

    # -- routing ------------------------------------------------------------------------------
    class Assigned(ChainedAggregate.Event):
        by: UUID | None
        group_id: UUID | None
        assignee_id: UUID | None
        rule_id: UUID | None = None  # the routing rule that sent a new request here
        rule_name: str = ""
        assignment: str = ""  # that rule's automatic assignment: round_robin, least_loaded

        def apply(self, aggregate: Any) -> None:
            t = cast(Ticket, aggregate)
            t.group_id, t.assignee_id = self.group_id, self.assignee_id
            if t.status is Status.NEW and self.assignee_id is not None:
                t.status = Status.OPEN

    def assign(self, by: UUID | None, group_id: UUID | None, assignee_id: UUID | None,
               rule: Any = None) -> None:  # fmt: skip
        self.check_active()
        if group_id is None and assignee_id is None:
            raise InvalidInput("Name a group or an agent to assign to.", ["group", "assignee"])
        if (group_id, assignee_id) == (self.group_id, self.assignee_id):
            raise InvalidTransition("The request is already assigned there.")
        self.trigger_event(self.Assigned, by=by, group_id=group_id, assignee_id=assignee_id,
                           rule_id=rule.id if rule else None, rule_name=rule.name if rule else "",
                           assignment=rule.assignment.value if rule else "")  # fmt: skip

    class Transferred(ChainedAggregate.Event):
        by: UUID
        from_group_id: UUID | None
        to_group_id: UUID
        to_assignee_id: UUID | None
        reason: str

        def apply(self, aggregate: Any) -> None:
            t = cast(Ticket, aggregate)
            t.group_id, t.assignee_id = self.to_group_id, self.to_assignee_id
            if t.status is Status.NEW and self.to_assignee_id is not None:
                t.status = Status.OPEN

    def transfer(
        self, by: UUID, to_group_id: UUID, to_assignee_id: UUID | None, reason: str
    ) -> None:
        self.check_active()
        if to_group_id == self.group_id and to_assignee_id == self.assignee_id:
            raise InvalidTransition("The request is already with that group and person.")
        self.trigger_event(
            self.Transferred,
            by=by,
            from_group_id=self.group_id,
            to_group_id=to_group_id,
            to_assignee_id=to_assignee_id,
            reason=clean_body(reason, "reason"),
        )

    class Escalated(ChainedAggregate.Event):
        by: UUID | None
        from_line: int
        to_line: int
        to_group_id: UUID
        reason: str

        def apply(self, aggregate: Any) -> None:
            t = cast(Ticket, aggregate)
            t.line, t.group_id, t.assignee_id = self.to_line, self.to_group_id, None
            if t.status is Status.NEW:
                t.status = Status.OPEN

    def escalate(self, by: UUID | None, to_group_id: UUID, to_group_line: int, reason: str) -> None:
        self.check_active()
        if self.line >= 3:
            raise InvalidTransition("The request is already on line 3, the last line.")
        if to_group_line != self.line + 1:
            raise InvalidInput(
                f"Escalation goes to a line {self.line + 1} group; that group is not one.",
                ["group"],
            )
        self.trigger_event(
            self.Escalated,
            by=by,
            from_line=self.line,
            to_line=self.line + 1,
            to_group_id=to_group_id,
            reason=clean_body(reason, "reason"),
        )

    class PriorityChanged(ChainedAggregate.Event):
        by: UUID
        priority: Priority
        reason: str

        def apply(self, aggregate: Any) -> None:
            cast(Ticket, aggregate).priority = self.priority

    def change_priority(self, by: UUID, priority: Priority, reason: str = "") -> None:
        self.check_not_closed()
        priority = Priority(priority)
        if priority is self.priority:
            raise InvalidTransition(f"The priority is already {priority.value}.")
        self.trigger_event(self.PriorityChanged, by=by, priority=priority, reason=reason.strip())

    class CategoryChanged(ChainedAggregate.Event):
        """Staff put the request in another category; its filed field values stay as they were."""

        by: UUID
        from_category_id: UUID
        category_id: UUID
        reason: str

        def apply(self, aggregate: Any) -> None:
            cast(Ticket, aggregate).category_id = self.category_id

    def change_category(self, by: UUID, category_id: UUID, reason: str) -> None:
        self.check_not_closed()
        if category_id == self.category_id:
            raise InvalidTransition("The request is already in that category.")
        self.trigger_event(self.CategoryChanged, by=by, from_category_id=self.category_id,
                           category_id=category_id,
                           reason=clean_body(reason, "reason"))  # fmt: skip

    # -- tags (staff only: not in the requester's timeline) -----------------------------------
    class TagAdded(ChainedAggregate.Event):
        by: UUID
        tag: str

        def apply(self, aggregate: Any) -> None:
            t = cast(Ticket, aggregate)
            t.tags = (*t.tags, self.tag)

    def add_tag(self, by: UUID, tag: str) -> None:
        self.check_not_closed()
        tag = clean_tag(tag)
        if tag in self.tags:
            raise InvalidTransition("The request already has this tag.")
        if len(self.tags) >= MAX_TAGS:
            raise InvalidInput("A request has at most 20 tags.", ["tag"])  # MAX_TAGS
        self.trigger_event(self.TagAdded, by=by, tag=tag)

    class TagRemoved(ChainedAggregate.Event):
        by: UUID
        tag: str

        def apply(self, aggregate: Any) -> None:
            t = cast(Ticket, aggregate)
            t.tags = tuple(x for x in t.tags if x != self.tag)

    def remove_tag(self, by: UUID, tag: str) -> None:
        self.check_not_closed()
        tag = clean_tag(tag)
        if tag not in self.tags:
            raise InvalidTransition("The request has no such tag.")
        self.trigger_event(self.TagRemoved, by=by, tag=tag)

    # -- merge and split (issue 18) -----------------------------------------------------------
    class MergedInto(ChainedAggregate.Event):
        """This request repeated `into_id`: it is closed (a Closed event follows) and its history
        stays; `follow`: its requester may see the other one (told its number), else not."""

        by: UUID
        into_id: UUID
        into_number: int
        follow: bool

        def apply(self, aggregate: Any) -> None:
            t = cast(Ticket, aggregate)
            t.merged_into = self.into_id
            if all(o != self.into_id for o, _ in t.links):
                t.links = (*t.links, (self.into_id, LinkKind.DUPLICATE_OF))

    class MergedFrom(ChainedAggregate.Event):
        """Staff only: `other_id` (of `requester_id`) was merged into this request."""

        by: UUID
        other_id: UUID
        other_number: int
        requester_id: UUID | None

        def apply(self, aggregate: Any) -> None:
            t = cast(Ticket, aggregate)
            if all(o != self.other_id for o, _ in t.links):
                t.links = (*t.links, (self.other_id, LinkKind.RELATED))

    def merge_into(self, by: UUID, into: Ticket, follow: bool, message: str = "") -> None:
        """Closes this request as a repeat of `into`, which records it; `message` (public) tells
        the requester first. Both must still be worked on."""
        if into.id == self.id:
            raise InvalidInput("A request cannot be merged into itself.", ["other"])
        self.check_active()
        if into.status not in ACTIVE_STATUSES or into.merged_into is not None:
            raise InvalidTransition("Merge into a request still being worked on, not a resolved,"
                                    " closed or merged one.")  # fmt: skip
        if message.strip():
            self.reply(by, message)
        self.trigger_event(self.MergedInto, by=by, into_id=into.id, into_number=into.number,
                           follow=follow)  # fmt: skip
        self.trigger_event(self.Closed, by=by, reason="")
        into.trigger_event(into.MergedFrom, by=by, other_id=self.id, other_number=self.number,
                           requester_id=self.requester_id)  # fmt: skip

    class SplitOff(ChainedAggregate.Event):
        """The entry at `version` was made a request of its own, `into_id`."""

        by: UUID
        version: int
        into_id: UUID
        into_number: int

        def apply(self, aggregate: Any) -> None:
            t = cast(Ticket, aggregate)
            t.links = (*t.links, (self.into_id, LinkKind.RELATED))

    class SplitFrom(ChainedAggregate.Event):
        """This request was made from the entry at `version` of `other_id`."""

        by: UUID
        other_id: UUID
        other_number: int
        version: int

        def apply(self, aggregate: Any) -> None:
            t = cast(Ticket, aggregate)
            t.links = (*t.links, (self.other_id, LinkKind.RELATED))

    def split_off(self, by: UUID, version: int, new: Ticket) -> None:
        """Records that `new` was filed from the entry at `version` (both histories say so)."""
        self.check_not_closed()
        self.trigger_event(self.SplitOff, by=by, version=version, into_id=new.id,
                           into_number=new.number)  # fmt: skip
        new.trigger_event(new.SplitFrom, by=by, other_id=self.id, other_number=self.number,
                          version=version)  # fmt: skip

    # -- conversation -------------------------------------------------------------------------
    class Replied(ChainedAggregate.Event):
        """An agent's public answer to the requester."""

        by: UUID
        body: str
        attachments: tuple[Attachment, ...]
        template: TemplateUse | None = None

        def apply(self, aggregate: Any) -> None:
            t = cast(Ticket, aggregate)
            t.attachments = (*t.attachments, *self.attachments)
            if t.status is Status.NEW:
                t.status = Status.OPEN

    def reply(
        self,
        by: UUID,
        body: str,
        attachments: tuple[Attachment, ...] = (),
        template: TemplateUse | None = None,
    ) -> None:
        self.check_active()
        if any(a.internal for a in attachments):
            raise InvalidInput("A public reply cannot carry internal files; add them to a note.",
                               ["attachments"])  # fmt: skip
        self.trigger_event(
            self.Replied, by=by, body=clean_body(body), attachments=attachments, template=template
        )

    class RequesterWrote(ChainedAggregate.Event):
        """A message from the requester (or the anonymous contact, `by` None)."""

        by: UUID | None
        body: str
        attachments: tuple[Attachment, ...]
        sender: str = ""  # the address a letter came from (channel e-mail; absent before)
        quoted: str = ""  # the letter's quoted history and signature, trimmed from `body`

        def apply(self, aggregate: Any) -> None:
            t = cast(Ticket, aggregate)
            t.attachments = (*t.attachments, *self.attachments)
            if t.status is Status.WAITING:
                t.status = Status.OPEN
                t.requested_fields, t.requested_questions = (), ()

    def write_as_requester(
        self,
        by: UUID | None,
        body: str,
        attachments: tuple[Attachment, ...] = (),
        sender: str = "",
        quoted: str = "",
    ) -> None:
        self.check_active()
        self.trigger_event(
            self.RequesterWrote,
            by=by,
            body=clean_body(body),
            attachments=attachments,
            sender=sender,
            quoted=quoted.strip()[:MAX_BODY],
        )

    class NoteAdded(ChainedAggregate.Event):
        """An internal note: staff only, never shown to the requester."""

        by: UUID
        body: str
        attachments: tuple[Attachment, ...]
        # the staff accounts the note's @handles named (a group's active members), never its
        # author; `handles` the @handles as written that named them (absent before issue 16)
        mentions: tuple[UUID, ...] = ()
        handles: tuple[str, ...] = ()
        # "curator" when a curator wrote it (a curator takes part in the discussion, internally
        # only; absent before issue 18)
        by_role: str = ""

        def apply(self, aggregate: Any) -> None:
            t = cast(Ticket, aggregate)
            t.attachments = (*t.attachments, *self.attachments)

    def add_note(
        self,
        by: UUID,
        body: str,
        attachments: tuple[Attachment, ...] = (),
        mentions: tuple[UUID, ...] = (),
        handles: tuple[str, ...] = (),
        by_role: str = "",
    ) -> None:
        self.check_not_closed()
        internal = tuple(
            Attachment(a.name, a.size, a.sha256, a.media_type, internal=True) for a in attachments
        )
        self.trigger_event(
            self.NoteAdded, by=by, body=clean_body(body), attachments=internal,
            mentions=tuple(dict.fromkeys(m for m in mentions if m != by)), handles=handles,
            by_role=by_role,  # always passed: the chain link covers it
        )  # fmt: skip

    class AttachmentAdded(ChainedAggregate.Event):
        by: UUID | None
        attachment: Attachment

        def apply(self, aggregate: Any) -> None:
            t = cast(Ticket, aggregate)
            t.attachments = (*t.attachments, self.attachment)

    def attach(self, by: UUID | None, attachment: Attachment) -> None:
        self.check_not_closed()
        self.trigger_event(self.AttachmentAdded, by=by, attachment=attachment)

    # -- information requests -----------------------------------------------------------------
    class InformationRequested(ChainedAggregate.Event):
        by: UUID | None  # None: the desk itself (a letter lacked the category's fields)
        fields: tuple[str, ...]
        questions: tuple[str, ...]
        message: str
        template: TemplateUse | None = None

        def apply(self, aggregate: Any) -> None:
            t = cast(Ticket, aggregate)
            t.status = Status.WAITING
            t.requested_fields, t.requested_questions = self.fields, self.questions

    def request_information(
        self,
        by: UUID | None,
        fields: tuple[str, ...],
        questions: tuple[str, ...],
        message: str,
        template: TemplateUse | None = None,
    ) -> None:
        self.check_active()
        questions = tuple(q.strip() for q in questions if q.strip())
        if not fields and not questions:
            raise InvalidInput("Pick at least one field or write a question.", ["fields"])
        self.trigger_event(
            self.InformationRequested,
            by=by,
            fields=tuple(dict.fromkeys(fields)),
            questions=questions,
            message=message.strip(),
            template=template,
        )

    class InformationProvided(ChainedAggregate.Event):
        by: UUID | None
        values: dict[str, FieldValue]
        answers: tuple[str, ...]

        def apply(self, aggregate: Any) -> None:
            t = cast(Ticket, aggregate)
            t.fields = {**t.fields, **self.values}
            t.status = Status.OPEN
            t.requested_fields, t.requested_questions = (), ()

    def provide_information(
        self, by: UUID | None, values: dict[str, FieldValue], answers: tuple[str, ...]
    ) -> None:
        if self.status is not Status.WAITING:
            raise InvalidTransition("No information is being requested on this request.")
        missing = [f for f in self.requested_fields if f not in values]
        if missing:
            raise InvalidInput(f"Please fill in: {', '.join(missing)}.", missing)
        answers = tuple(a.strip() for a in answers)
        if len(answers) != len(self.requested_questions) or not all(answers):
            raise InvalidInput("Please answer every question.", ["answers"])
        self.trigger_event(self.InformationProvided, by=by, values=values, answers=answers)

    # -- outcome ------------------------------------------------------------------------------
    class Resolved(ChainedAggregate.Event):
        by: UUID
        resolution: str

        def apply(self, aggregate: Any) -> None:
            t = cast(Ticket, aggregate)
            t.status, t.resolution = Status.RESOLVED, self.resolution
            t.requested_fields, t.requested_questions = (), ()

    def resolve(self, by: UUID, resolution: str) -> None:
        self.check_active()
        self.trigger_event(self.Resolved, by=by, resolution=clean_body(resolution, "resolution"))

    class Reopened(ChainedAggregate.Event):
        by: UUID | None
        reason: str

        def apply(self, aggregate: Any) -> None:
            t = cast(Ticket, aggregate)
            t.status, t.rating = Status.OPEN, None

    def reopen(self, by: UUID | None, reason: str) -> None:
        self.check_not_closed()
        if self.status is not Status.RESOLVED:
            raise InvalidTransition("Only a resolved request can be reopened.")
        self.trigger_event(self.Reopened, by=by, reason=clean_body(reason, "reason"))

    class Closed(ChainedAggregate.Event):
        by: UUID | None
        reason: str

        def apply(self, aggregate: Any) -> None:
            cast(Ticket, aggregate).status = Status.CLOSED

    def close(self, by: UUID | None, reason: str = "") -> None:
        self.check_not_closed()
        if self.status is not Status.RESOLVED:
            raise InvalidTransition("Only a resolved request can be closed.")
        self.trigger_event(self.Closed, by=by, reason=reason.strip())

    class Rated(ChainedAggregate.Event):
        by: UUID
        score: int
        comment: str

        def apply(self, aggregate: Any) -> None:
            cast(Ticket, aggregate).rating = self.score

    def rate(self, by: UUID, score: int, comment: str = "") -> None:
        if self.status not in (Status.RESOLVED, Status.CLOSED):
            raise InvalidTransition("A request can be rated once it is resolved.")
        if self.rating is not None:
            raise InvalidTransition("This request has already been rated.")
        if self.merged_into is not None:
            raise InvalidTransition("A merged request is rated in the one it was merged into.")
        if by != self.requester_id:
            raise InvalidTransition("Only the requester who filed it may rate a request.")
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
            raise InvalidInput("The rating must be a whole number from 1 to 5.", ["score"])
        self.trigger_event(self.Rated, by=by, score=score, comment=comment.strip()[:MAX_BODY])

    class Linked(ChainedAggregate.Event):
        by: UUID | None
        other_id: UUID
        kind: LinkKind

        def apply(self, aggregate: Any) -> None:
            t = cast(Ticket, aggregate)
            t.links = (*t.links, (self.other_id, self.kind))

    def link(self, by: UUID | None, other_id: UUID, kind: LinkKind = LinkKind.RELATED) -> None:
        if other_id == self.id:
            raise InvalidInput("A request cannot be linked to itself.", ["other"])
        if any(o == other_id for o, _ in self.links):
            raise InvalidTransition("These requests are already linked.")
        self.trigger_event(self.Linked, by=by, other_id=other_id, kind=LinkKind(kind))

    class ArticleLinked(ChainedAggregate.Event):
        """A knowledge-base article answers this request (shown to the requester if public)."""

        by: UUID | None
        article_id: UUID
        revision: int
        title: str
        public: bool

        def apply(self, aggregate: Any) -> None:
            t = cast(Ticket, aggregate)
            t.articles = (*t.articles, self.article_id)

    def link_article(
        self, by: UUID | None, article_id: UUID, revision: int, title: str, public: bool
    ) -> None:
        if article_id in self.articles:
            raise InvalidTransition("This article is already linked to the request.")
        self.trigger_event(self.ArticleLinked, by=by, article_id=article_id, revision=revision,
                           title=title, public=public)  # fmt: skip

    class SlaAlarmed(ChainedAggregate.Event):
        """An SLA target is near (warning) or passed (breach): raised once by the SLA process."""

        alarm: str  # first_response_warning | first_response_breach | resolution_warning | ...
        due: datetime  # the moment the target falls (or the warning was due)
        policy: str

        def apply(self, aggregate: Any) -> None:
            t = cast(Ticket, aggregate)
            t.sla_alarms = (*t.sla_alarms, (self.alarm, self.due))

    def raise_sla_alarm(self, alarm: str, due: datetime, policy: str) -> bool:
        """Records the alarm unless this one (kind and due moment) was raised before."""
        if alarm not in SLA_ALARMS:
            raise InvalidInput("Unknown SLA alarm.", ["alarm"])
        if (alarm, due) in self.sla_alarms:
            return False
        self.trigger_event(self.SlaAlarmed, alarm=alarm, due=due, policy=policy)
        return True

    # -- CSI follow-up and quality review (staff only: not in the requester's timeline) -------
    class FollowUpRaised(ChainedAggregate.Event):
        """A low rating asks the group's lead to follow up; raised once per rating."""

        rated_version: int  # the Rated event's version: one follow-up per rating
        score: int
        group_id: UUID | None

        def apply(self, aggregate: Any) -> None:
            t = cast(Ticket, aggregate)
            t.follow_ups = (*t.follow_ups, self.rated_version)

    def raise_follow_up(self, rated_version: int, score: int) -> bool:
        """Records the follow-up unless this rating raised one before."""
        if rated_version in self.follow_ups:
            return False
        self.trigger_event(self.FollowUpRaised, rated_version=rated_version, score=score,
                           group_id=self.group_id)  # fmt: skip
        return True

    class FollowUpDone(ChainedAggregate.Event):
        by: UUID
        rated_version: int
        note: str

        def apply(self, aggregate: Any) -> None:
            t = cast(Ticket, aggregate)
            t.follow_ups_done = (*t.follow_ups_done, self.rated_version)

    def finish_follow_up(self, by: UUID, rated_version: int, note: str) -> None:
        if rated_version not in self.follow_ups:
            raise InvalidTransition("There is no such follow-up on this request.")
        if rated_version in self.follow_ups_done:
            raise InvalidTransition("This follow-up is done already.")
        self.trigger_event(self.FollowUpDone, by=by, rated_version=rated_version,
                           note=clean_body(note, "note"))  # fmt: skip

    class QualityReviewed(ChainedAggregate.Event):
        """A quality reviewer's scores on the checklist (item key, 0-2) and comment."""

        by: UUID
        scores: tuple[tuple[str, int], ...]
        points: int
        max_points: int
        comment: str

        def apply(self, aggregate: Any) -> None:
            cast(Ticket, aggregate).quality_reviewed = True

    def review_quality(self, by: UUID, scores: tuple[tuple[str, int], ...], points: int,
                       max_points: int, comment: str) -> None:  # fmt: skip
        if self.kind is not TicketKind.REQUEST or self.status not in (
            Status.RESOLVED, Status.CLOSED
        ):  # fmt: skip
            raise InvalidTransition("Only a resolved request can be reviewed.")
        if self.quality_reviewed:
            raise InvalidTransition("This request has been reviewed already.")
        self.trigger_event(self.QualityReviewed, by=by, scores=scores, points=points,
                           max_points=max_points, comment=comment.strip()[:MAX_BODY])  # fmt: skip

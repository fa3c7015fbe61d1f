"""The tickets view: one row per ticket, queue counts, and the feed of what changed, by topic.

Rows are updated by applying the domain's own event `apply` methods to a shadow of the row, so
the view's status machine is the aggregate's, not a copy of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from uuid import UUID

from domain.article import Article
from domain.ticket import ACTIVE_STATUSES, UNTOUCHED, Status, Ticket, TicketKind
from projections.base import View, on, select_in
from projections.db import Tx, insert_rows

OPEN_STATUSES = tuple(s.value for s in ACTIVE_STATUSES)  # as the view's rows spell them
# Every ticket event after filing changes the row (its version at least): a new event needs no
# line here, its own `apply` says what it changes.
CHANGES = tuple(
    c for c in vars(Ticket).values()
    if isinstance(c, type) and issubclass(c, Ticket.Event) and c is not Ticket.Filed
    and c.__name__ not in ("Event", "Created")
)  # fmt: skip
CHANGES_SET = frozenset(CHANGES)
COLUMNS = (
    "id", "number", "subject", "status", "priority", "line", "group_id", "assignee_id",
    "requester_id", "organisation_id", "category_id", "channel", "contact_name", "filed_at",
    "updated_at", "version", "kind", "tags",
)  # fmt: skip

FEED_COLUMNS = ("topic", "position", "ticket_id", "event", "version")

# a priority's rank, most urgent first: the desk's "by priority" order, and an index's key
PRIORITY_RANK = ("(CASE priority WHEN 'critical' THEN 0 WHEN 'high' THEN 1"
                 " WHEN 'normal' THEN 2 ELSE 3 END)")  # fmt: skip


@dataclass
class Shadow:
    """The columns of a ticket row, in the shape the domain's `apply` methods write to."""

    id: str
    number: int = 0
    subject: str = ""
    status: str = Status.NEW.value
    priority: str = "normal"
    line: int = 1
    group_id: str | None = None
    assignee_id: str | None = None
    requester_id: str | None = None
    organisation_id: str | None = None
    category_id: str = ""
    channel: str = ""
    contact_name: str = ""
    filed_at: str = ""
    updated_at: str = ""
    version: int = 0
    kind: str = "request"
    tags: str = ""  # the staff's tags, sorted, separated by spaces (a tag has none: clean_tag)

    def row(self) -> tuple[Any, ...]:
        return tuple(getattr(self, c) for c in COLUMNS)

    def copy(self) -> Shadow:
        """A copy to apply the next event to (its fields are plain values: shallow is enough;
        `dataclasses.replace` costs several times as much, per event of a catch-up)."""
        copied = object.__new__(Shadow)
        copied.__dict__.update(self.__dict__)
        return copied

    def queues(self) -> set[str]:
        """The queues this ticket counts in."""
        if self.status not in OPEN_STATUSES:
            return {f"status:{self.status}"}
        g = self.group_id or ""
        keys = {"open", f"group:{g}", f"line:{self.line}", f"status:{self.status}"}
        if self.kind == TicketKind.KNOWLEDGE_GAP.value:  # internal work: its own queue
            keys = {"gaps", f"group:{g}", f"status:{self.status}"}
        keys.add(f"assignee:{self.assignee_id}" if self.assignee_id else f"unassigned:{g}")
        if self.status == Status.WAITING.value:
            keys.add(f"waiting:{g}")
        return keys

    def topics(self) -> set[str]:
        """The live topics a change of this ticket is published on."""
        keys = {f"ticket:{self.id}", "activity", f"line:{self.line}"}
        keys |= {f"requester:{self.requester_id}"} if self.requester_id else set()
        keys |= {f"org:{self.organisation_id}"} if self.organisation_id else set()
        keys |= {f"group:{self.group_id}"} if self.group_id else set()
        keys |= {f"assignee:{self.assignee_id}"} if self.assignee_id else set()
        return keys


class _Applied:
    """Adapts a Shadow to the attribute types the aggregate's apply methods expect."""

    def __init__(self, shadow: Shadow) -> None:
        self.__dict__.update(
            status=Status(shadow.status), line=shadow.line, priority=shadow.priority,
            group_id=_uuid(shadow.group_id), assignee_id=_uuid(shadow.assignee_id),
            category_id=shadow.category_id,  # CategoryChanged sets a UUID; `into` spells it
            attachments=(), fields={}, links=(), requested_fields=(), requested_questions=(),
            rating=None, resolution="", **UNTOUCHED,
        )  # fmt: skip
        self.tags = tuple(shadow.tags.split())

    def into(self, shadow: Shadow) -> None:
        d = self.__dict__
        shadow.status, shadow.line = str(d["status"]), d["line"]
        shadow.priority = str(d["priority"])
        shadow.group_id, shadow.assignee_id = _str(d["group_id"]), _str(d["assignee_id"])
        shadow.category_id = str(d["category_id"])
        shadow.tags = " ".join(sorted(d["tags"]))


# The groups' and agents' ids a ticket row holds, parsed and printed once per process rather than
# once per event (a catch-up applies hundreds of thousands of events to rows naming a few dozen).
_parsed = lru_cache(maxsize=10_000)(UUID)
_printed = lru_cache(maxsize=10_000)(str)


def _uuid(value: str | None) -> UUID | None:
    return _parsed(value) if value else None


def _str(value: UUID | None) -> str | None:
    return _printed(value) if value else None


class TicketsView(View):
    """Buffers a batch's changes and writes each ticket once (see begin/flush)."""

    name = "tickets"
    tables = ("v_tickets", "v_queue_counts", "v_feed", "v_ticket_mentions", "v_ticket_tags")
    # 2: SLA alarms, follow-ups and reviews are changes too; 3: who notes mentioned; 4: open
    # knowledge gaps counted apart (their own queue, not a line's nor the open requests'); 5: tags
    shape = 5

    def __init__(self) -> None:
        self.begin()

    def ddl(self, dialect: str) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS v_tickets (id TEXT PRIMARY KEY, number BIGINT NOT NULL,"
            " subject TEXT NOT NULL, status TEXT NOT NULL, priority TEXT NOT NULL,"
            " line INTEGER NOT NULL, group_id TEXT, assignee_id TEXT, requester_id TEXT,"
            " organisation_id TEXT, category_id TEXT NOT NULL, channel TEXT NOT NULL,"
            " contact_name TEXT NOT NULL, filed_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
            " version INTEGER NOT NULL, kind TEXT NOT NULL, tags TEXT NOT NULL DEFAULT '')",
            "CREATE UNIQUE INDEX IF NOT EXISTS v_tickets_number ON v_tickets (number)",
            "CREATE INDEX IF NOT EXISTS v_tickets_group ON v_tickets (group_id, status, number)",
            "CREATE INDEX IF NOT EXISTS v_tickets_assignee"
            " ON v_tickets (assignee_id, status, number)",
            "CREATE INDEX IF NOT EXISTS v_tickets_line ON v_tickets (line, status, number)",
            "CREATE INDEX IF NOT EXISTS v_tickets_status ON v_tickets (status, number)",
            "CREATE INDEX IF NOT EXISTS v_tickets_kind ON v_tickets (kind, status, number)",
            "CREATE INDEX IF NOT EXISTS v_tickets_requester ON v_tickets (requester_id, number)",
            "CREATE INDEX IF NOT EXISTS v_tickets_org ON v_tickets (organisation_id, number)",
            # the desk's filters and sorts (issue 18, projections/desk_query.py)
            "CREATE INDEX IF NOT EXISTS v_tickets_category"
            " ON v_tickets (category_id, status, number)",
            "CREATE INDEX IF NOT EXISTS v_tickets_channel ON v_tickets (channel, status, number)",
            "CREATE INDEX IF NOT EXISTS v_tickets_filed ON v_tickets (filed_at)",
            "CREATE INDEX IF NOT EXISTS v_tickets_activity ON v_tickets (updated_at, number)",
            f"CREATE INDEX IF NOT EXISTS v_tickets_rank ON v_tickets ({PRIORITY_RANK}, number)",
            "CREATE TABLE IF NOT EXISTS v_queue_counts"
            " (queue TEXT PRIMARY KEY, count BIGINT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS v_feed (topic TEXT NOT NULL, position BIGINT NOT NULL,"
            " ticket_id TEXT NOT NULL, event TEXT NOT NULL, version INTEGER NOT NULL,"
            " PRIMARY KEY (topic, position))",
            "CREATE INDEX IF NOT EXISTS v_feed_position ON v_feed (position)",
            # who an internal note mentioned (issue 16): his "Mentioned me" queue; `position`
            # is the last note that mentioned him there
            "CREATE TABLE IF NOT EXISTS v_ticket_mentions (ticket_id TEXT NOT NULL,"
            " account_id TEXT NOT NULL, position BIGINT NOT NULL,"
            " PRIMARY KEY (account_id, ticket_id))",
            "CREATE INDEX IF NOT EXISTS v_ticket_mentions_ticket ON v_ticket_mentions (ticket_id)",
            # one row per tag of a request (issue 18): what a filter by tag reads, by its index
            "CREATE TABLE IF NOT EXISTS v_ticket_tags (tag TEXT NOT NULL, ticket_id TEXT NOT NULL,"
            " number BIGINT NOT NULL, PRIMARY KEY (tag, number))",
            "CREATE INDEX IF NOT EXISTS v_ticket_tags_ticket ON v_ticket_tags (ticket_id)",
        ]

    @on(Ticket.Filed)
    def filed(self, tx: Tx, event: Ticket.Filed, position: int) -> None:
        shadow = Shadow(
            id=str(event.originator_id), number=event.number, subject=event.subject,
            priority=event.priority.value, requester_id=_str(event.requester_id),
            organisation_id=_str(event.organisation_id), category_id=str(event.category_id),
            channel=event.channel.value, contact_name=event.contact.name if event.contact else "",
            filed_at=event.timestamp.isoformat(), kind=event.kind.value,
        )  # fmt: skip
        self._write(tx, None, shadow, event, position)

    @on(*CHANGES)
    def changed(self, tx: Tx, event: Any, position: int) -> None:
        ticket = str(event.originator_id)
        before = self._rows.get(ticket) or self._loaded.get(ticket)
        if before is None:
            row = tx.one(f"SELECT {', '.join(COLUMNS)} FROM v_tickets WHERE id = %s",
                         (ticket,))  # fmt: skip
            if row is None:
                raise LookupError(f"ticket {event.originator_id} changed before it was filed")
            before = Shadow(**dict(zip(COLUMNS, row, strict=True)))
        after = before.copy()
        applied = _Applied(after)
        event.apply(applied)
        applied.into(after)
        if after.tags != before.tags:
            self._tags[after.id] = after
        self._write(tx, before, after, event, position)
        for account in getattr(event, "mentions", ()):  # a note's @mentions (issue 16)
            self._mentions[(str(account), after.id)] = position
            self._feed.append((f"mentioned:{account}", position, after.id,
                               type(event).__name__, after.version))  # fmt: skip

    def prefetch(self, tx: Tx, events: list[tuple[int, Any]]) -> None:
        """The stored rows of the tickets this batch changes (not those it files), at once."""
        filed = {e.originator_id for _, e in events if type(e) is Ticket.Filed}
        wanted = {str(e.originator_id) for _, e in events
                  if type(e) in CHANGES_SET and e.originator_id not in filed}  # fmt: skip
        rows = select_in(tx, f"SELECT {', '.join(COLUMNS)} FROM v_tickets WHERE id {{keys}}",
                         wanted)  # fmt: skip
        for row in rows:
            shadow = Shadow(**dict(zip(COLUMNS, row, strict=True)))
            self._loaded[shadow.id] = shadow

    def begin(self) -> None:
        self._loaded: dict[str, Shadow] = {}  # stored rows read by `prefetch`, as they were
        self._rows: dict[str, Shadow] = {}  # this batch's tickets, as they now stand
        self._counts: dict[str, int] = {}
        self._feed: list[tuple[str, int, str, str, int]] = []
        self._mentions: dict[tuple[str, str], int] = {}  # (account, ticket) -> position
        self._tags: dict[str, Shadow] = {}  # tickets whose tags changed in this batch
        # the queues and topics of each ticket as `_rows` holds it: the next change's "before"
        self._keys: dict[str, tuple[set[str], set[str]]] = {}

    def _write(
        self, tx: Tx, before: Shadow | None, after: Shadow, event: Any, position: int
    ) -> None:
        """Buffers the change; `flush` writes each ticket once per batch."""
        after.updated_at, after.version = event.timestamp.isoformat(), event.originator_version
        self._rows[after.id] = after
        old, old_topics = (set(), set()) if before is None else (
            self._keys.get(after.id) or (before.queues(), before.topics()))  # fmt: skip
        new, new_topics = self._keys[after.id] = after.queues(), after.topics()
        if old != new:
            for queue in old - new:
                self._counts[queue] = self._counts.get(queue, 0) - 1
            for queue in new - old:
                self._counts[queue] = self._counts.get(queue, 0) + 1
        topics = new_topics | old_topics
        if old != new:
            topics.add("queues")
        self._feed += [(t, position, after.id, type(event).__name__, after.version)
                       for t in sorted(topics)]  # fmt: skip

    def flush(self, tx: Tx) -> None:
        updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:])
        insert_rows(tx, "v_tickets", COLUMNS, [row.row() for row in self._rows.values()],
                    conflict=f"ON CONFLICT (id) DO UPDATE SET {updates}")  # fmt: skip
        insert_rows(tx, "v_queue_counts", ("queue", "count"),
                    sorted((q, d) for q, d in self._counts.items() if d),
                    conflict="ON CONFLICT (queue) DO UPDATE"
                             " SET count = v_queue_counts.count + excluded.count")  # fmt: skip
        insert_rows(tx, "v_feed", FEED_COLUMNS, self._feed)
        insert_rows(tx, "v_ticket_mentions", ("account_id", "ticket_id", "position"),
                    [(a, t, p) for (a, t), p in sorted(self._mentions.items())],
                    conflict="ON CONFLICT (account_id, ticket_id)"
                             " DO UPDATE SET position = excluded.position")  # fmt: skip
        if self._tags:
            marks = ", ".join(["%s"] * len(self._tags))
            tx.execute(f"DELETE FROM v_ticket_tags WHERE ticket_id IN ({marks})",
                       tuple(self._tags))  # fmt: skip
            tagged = [(tag, s.id, s.number) for s in self._tags.values() for tag in s.tags.split()]
            insert_rows(tx, "v_ticket_tags", ("tag", "ticket_id", "number"), tagged)
        self.begin()

    @on(
        Article.Drafted, Article.Revised, Article.SubmittedForReview, Article.Approved,
        Article.SentBack, Article.Published, Article.SelfPublished, Article.Archived,
    )  # fmt: skip
    def article_changed(self, tx: Tx, event: Any, position: int) -> None:
        """Knowledge-base changes go on the same feed (staff topics), in log order."""
        article = str(event.originator_id)
        self._feed += [(t, position, article, type(event).__name__, event.originator_version)
                       for t in ("kb", f"article:{article}")]  # fmt: skip

"""A filter of the desk's list of requests (issue 18): what the query parameters of `/desk`
say, parsed and checked, and written back as one canonical query string (a saved view keeps
that string; a bookmark is the same URL).

Pure values: projections/desk_query.py turns a filter into SQL, web/ui/desk_filters.py into a
form. Each refusal names its parameter, so the form shows what to fix where it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qsl, urlencode
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.errors import InvalidInput
from domain.tickets.values import ACTIVE_STATUSES, Channel, Priority, Status

DAYS_IN = ZoneInfo("Europe/Moscow")  # a filter's dates are days as the pages show them
ACTIVE = "active"  # new, open or waiting: someone still has to act
STATUSES = (ACTIVE, *(s.value for s in Status))
LINES = ("1", "2", "3")
PRIORITIES = tuple(p.value for p in Priority)
CHANNELS = tuple(c.value for c in Channel)
SLA_STATES = ("breached", "at_risk", "ok", "none")  # none: no SLA policy runs for it
ME, NOBODY = "me", "none"  # the assignee: whoever looks, or unassigned
SORTS = ("newest", "oldest", "priority", "sla", "activity")
MAX_VALUES = 50  # values of one parameter
MAX_QUERY = 4000  # characters of a saved view's query string


@dataclass(frozen=True)
class QueueFilter:
    """Each tuple is "any of these" (empty: any); the parameters are combined with AND."""

    status: tuple[str, ...] = ()
    line: tuple[int, ...] = ()
    group: tuple[str, ...] = ()  # group ids
    assignee: tuple[str, ...] = ()  # account ids, ME or NOBODY
    category: tuple[str, ...] = ()
    priority: tuple[str, ...] = ()
    org: tuple[str, ...] = ()  # organisation ids
    sla: tuple[str, ...] = ()
    channel: tuple[str, ...] = ()
    tag: tuple[str, ...] = ()
    filed_from: date | None = None
    filed_to: date | None = None
    sort: str = "newest"

    @property
    def statuses(self) -> tuple[str, ...]:
        """The statuses asked, with ACTIVE spelled out."""
        wanted: dict[str, None] = {}
        for s in self.status:
            for one in [a.value for a in ACTIVE_STATUSES] if s == ACTIVE else [s]:
                wanted[one] = None
        return tuple(wanted)

    def since(self) -> str | None:
        """The first moment of `filed_from` (UTC, as the views store times), or None."""
        return _moment(self.filed_from)

    def until(self) -> str | None:
        """The first moment after `filed_to`, or None."""
        return _moment(self.filed_to + timedelta(days=1)) if self.filed_to else None

    def query(self) -> str:
        """The canonical query string: the parameters in one order, the default sort left out."""
        pairs: list[tuple[str, str]] = []
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, tuple):
                pairs += [(f.name, str(v)) for v in value]
            elif isinstance(value, date):
                pairs.append((PARAM.get(f.name, f.name), value.isoformat()))
        if self.sort != "newest":
            pairs.append(("sort", self.sort))
        return urlencode(pairs)

    @property
    def empty(self) -> bool:
        return self == QueueFilter(sort=self.sort)


PARAM = {"filed_from": "from", "filed_to": "to"}  # the dates' parameter names
NAMES = (*(f.name for f in fields(QueueFilter) if f.name not in PARAM), *PARAM.values())


def _moment(day: date | None) -> str | None:
    if day is None:
        return None
    return datetime.combine(day, time(), DAYS_IN).astimezone(UTC).isoformat()


def _uuids(values: Sequence[str]) -> tuple[str, ...] | None:
    try:
        return tuple(str(UUID(v)) for v in values)
    except ValueError:
        return None


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse(pairs: Iterable[tuple[str, str]]) -> tuple[QueueFilter, dict[str, str]]:
    """The filter the parameters say, and what is wrong, by parameter (English messages, for
    translation). A wrong parameter is left out of the filter; unknown parameters are ignored."""
    given: dict[str, list[str]] = {}
    for key, value in pairs:
        if key in NAMES and value.strip():
            given.setdefault(key, []).append(value.strip()[:100])
    errors: dict[str, str] = {}
    found: dict[str, object] = {}

    def pick(name: str, allowed: Sequence[str]) -> None:
        values = list(dict.fromkeys(given.get(name, ())))
        if len(values) > MAX_VALUES:
            errors[name] = "Too many values."
        elif any(v not in allowed for v in values):
            errors[name] = "Choose from the list."
        elif values:
            found[name] = tuple(values)

    def ids(name: str, extra: Sequence[str] = ()) -> None:
        values = list(dict.fromkeys(given.get(name, ())))
        plain = _uuids([v for v in values if v not in extra])
        if len(values) > MAX_VALUES:
            errors[name] = "Too many values."
        elif plain is None:
            errors[name] = "Choose from the list."
        elif values:
            found[name] = tuple(v if v in extra else str(UUID(v)) for v in values)

    pick("status", STATUSES)
    pick("line", LINES)
    if "line" in found:
        found["line"] = tuple(int(v) for v in found["line"])  # type: ignore[attr-defined]
    ids("group")
    ids("assignee", (ME, NOBODY))
    ids("category")
    pick("priority", PRIORITIES)
    ids("org")
    pick("sla", SLA_STATES)
    pick("channel", CHANNELS)
    tags = list(dict.fromkeys(v.lower().lstrip("#") for v in given.get("tag", ())))
    if len(tags) > MAX_VALUES:
        errors["tag"] = "Too many values."
    elif tags:
        found["tag"] = tuple(tags)
    for name, attr in (("from", "filed_from"), ("to", "filed_to")):
        values = given.get(name, [])
        if len(values) > 1:
            errors[name] = "Give one date."
        elif values:
            day = _day(values[0])
            if day is None:
                errors[name] = "Give the date as YYYY-MM-DD."
            else:
                found[attr] = day
    start, end = found.get("filed_from"), found.get("filed_to")
    if isinstance(start, date) and isinstance(end, date) and start > end:
        errors["to"] = "The end date is before the start date."
        del found["filed_to"]
    sort = given.get("sort", ["newest"])
    if len(sort) > 1 or sort[0] not in SORTS:
        errors["sort"] = "Choose from the list."
    else:
        found["sort"] = sort[0]
    return QueueFilter(**found), errors  # type: ignore[arg-type]


def from_query(query: str) -> QueueFilter:
    """The filter a canonical query string says; InvalidInput naming what is wrong."""
    if len(query) > MAX_QUERY:
        raise InvalidInput("This filter is too long.", ["filter"])
    found, errors = parse(parse_qsl(query, keep_blank_values=False))
    if errors:
        raise InvalidInput(" ".join(sorted(set(errors.values()))), sorted(errors))
    return found


def from_params(params: Mapping[str, Sequence[str]]) -> tuple[QueueFilter, dict[str, str]]:
    return parse((k, v) for k, vs in params.items() for v in vs)

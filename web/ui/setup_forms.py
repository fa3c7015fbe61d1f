"""The routing rules' and the SLA set-up's forms (web/ui/admin_pages.py), read row by row: each
row becomes its domain value and passes the domain's own check of one row (`check_rules` of one
rule, `check_policy`, `CalendarSpec.calendar` day by day), so a refusal is said at the input it
concerns (`group-3`, `fr-0`, `day-1-4`), every row's at once. What concerns no input (too many
rules, a form saved meanwhile) is left to the command, and said above the form.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from datetime import date
from functools import partial
from types import SimpleNamespace
from typing import Any, TypeVar
from uuid import UUID, uuid4

from starlette.datastructures import FormData

from domain.errors import DeskError, InvalidInput
from domain.routing import Assignment, Rule, check_rules
from domain.sla_setup import CUSTOM, CalendarSpec, Policy, check_auto_close, check_policy
from domain.ticket import Channel, Priority
from web.ui import i18n
from web.ui.admin_forms import problem
from web.ui.i18n import lazy
from web.ui.refusals import translated

T = TypeVar("T")
MARKED = lazy("Some fields have mistakes; see the marked fields.")

# A row's inputs by the domain's name of the field they give (a refusal names its field).
RULE_INPUTS = {"name": "name", "field_key": "field_key", "field_value": "field_value",
               "category_id": "category"}  # fmt: skip
POLICY_INPUTS = {"name": "pname", "calendar": "pcalendar", "first_response_minutes": "fr",
                 "resolution_minutes": "res", "warn_percent": "warn"}  # fmt: skip
CALENDAR_INPUTS = {"name": "cname", "timezone": "ctz", "kind": "ckind"}
RULE_FIELDS = ("id", "order", "name", "group", "category", "field_key", "field_value", "channel",
               "organisation", "priority", "assignment", "delete")  # fmt: skip
POLICY_FIELDS = ("pid", "pname", "pcategory", "ppriority", "fr", "res", "warn", "pcalendar",
                 "escalate", "pdelete")  # fmt: skip


class Mistakes(InvalidInput):
    """Raised when rows of a set-up form have mistakes; `said` is the message by input."""

    def __init__(self, said: dict[str, str]) -> None:
        super().__init__(MARKED, list(said))
        self.said = said


# -- reading a form ----------------------------------------------------------------------------
def text(form: FormData, name: str) -> str:
    return str(form.get(name) or "").strip()[:2000]


def version(form: FormData) -> int:
    """The version the page showed (-1, never stored, when the form lost it: a conflict)."""
    value = text(form, "version")
    return int(value) if value.isdigit() else -1


def uuid(form: FormData, name: str) -> UUID | None:
    value = text(form, name)
    try:
        return UUID(value) if value else None
    except ValueError:
        raise InvalidInput(i18n.gettext("Choose from the list."), [name]) from None


def enum(kind: Any, form: FormData, name: str) -> Any:
    value = text(form, name)
    try:
        return kind(value) if value else None
    except ValueError:
        raise InvalidInput(i18n.gettext("Choose from the list."), [name]) from None


def whole(form: FormData, name: str) -> int:
    value = text(form, name)
    if not value.isdigit():
        raise InvalidInput(i18n.gettext("Write a whole number."), [name])
    return int(value)


def dates(form: FormData, name: str) -> tuple[date, ...]:
    try:
        return tuple(sorted({date.fromisoformat(d)
                             for d in text(form, name).replace(",", " ").split()}))  # fmt: skip
    except ValueError:
        raise InvalidInput(i18n.gettext("Write dates as YYYY-MM-DD, separated by spaces."),
                           [name]) from None  # fmt: skip


def numbers(form: FormData, prefix: str) -> list[int]:
    """The row numbers of the inputs named `<prefix><n>`."""
    return sorted({int(k[len(prefix):]) for k in form
                   if k.startswith(prefix) and k[len(prefix):].isdigit()})  # fmt: skip


# -- a refusal at its input ----------------------------------------------------------------------
def at_row(e: DeskError, i: int, inputs: Mapping[str, str]) -> dict[str, str]:
    """A refusal of row `i` by the inputs it names: an input's own name (`fr-2`: reading the form
    refused it), or the domain's field as the row's input; the row's name when it names none."""
    message = translated(e.message)
    named = [f if "-" in f else f"{inputs[f]}-{i}" for f in e.fields if "-" in f or f in inputs]
    return {name: message for name in named or [f"{inputs['name']}-{i}"]}


def _row(
    i: int, inputs: Mapping[str, str], said: dict[str, str], make: Callable[[], T]
) -> T | None:
    """`make()`, or None with its refusal noted in `said` at the row's inputs."""
    try:
        return make()
    except Mistakes as e:
        said.update(e.said)
    except InvalidInput as e:
        said.update(at_row(e, i, inputs))
    return None


def refusal(
    e: DeskError, shown: list[int], renumbered: Collection[str], inputs: Collection[str] = ()
) -> tuple[int, dict[str, str], str | None]:
    """A refusal as the page shows it again: its status, the messages by input (the rows of the
    `renumbered` inputs as shown: row `shown[k]` at place k) and the message above the form (the
    pointer to the marked inputs, or what concerns none of the form's own `inputs`)."""
    if isinstance(e, Mistakes):
        return 422, _shown_at(e.said, shown, renumbered), i18n.gettext(MARKED)
    _status, by_field, message = problem(e)
    errors = {k: v for k, v in by_field.items() if k in inputs}
    return (409 if e.code == "conflict" else 422), errors, None if errors else message


def _shown_at(
    said: dict[str, str], shown: list[int], renumbered: Collection[str]
) -> dict[str, str]:
    place = {i: k for k, i in enumerate(shown)}
    found = {}
    for key, message in said.items():
        name, _, rest = key.partition("-")
        row, dash, tail = rest.partition("-")
        if name in renumbered and row.isdigit() and int(row) in place:
            key = f"{name}-{place[int(row)]}{dash}{tail}"
        found[key] = message
    return found


# -- routing rules -------------------------------------------------------------------------------
def rules_from(form: FormData) -> tuple[Rule, ...]:
    """The rules in the order asked, deleted and unnamed rows left out; Mistakes when rows have
    any."""
    said: dict[str, str] = {}
    rules = []
    for i in sorted(numbers(form, "name-"), key=lambda i: (text(form, f"order-{i}") or "999", i)):
        if form.get(f"delete-{i}") or not text(form, f"name-{i}"):
            continue
        rule = _row(i, RULE_INPUTS, said, partial(_rule, form, i))
        if rule is not None:
            rules.append(rule)
    if said:
        raise Mistakes(said)
    return tuple(rules)


def _rule(form: FormData, i: int) -> Rule:
    """The rule of row `i`; Mistakes names each input at fault, then the rule's own refusal."""
    said: dict[str, str] = {}

    def read(make: Callable[[FormData, str], Any], name: str) -> Any:
        return _row(i, RULE_INPUTS, said, partial(make, form, f"{name}-{i}"))

    group = read(uuid, "group")
    category = read(uuid, "category")
    organisation = read(uuid, "organisation")
    channel = read(partial(enum, Channel), "channel")
    priority = read(partial(enum, Priority), "priority")
    assignment = read(partial(enum, Assignment), "assignment") or Assignment.NONE
    if group is None and f"group-{i}" not in said:
        said[f"group-{i}"] = i18n.gettext("Choose the group the rule sends requests to.")
    if said:
        raise Mistakes(said)
    rule = Rule(uuid(form, f"id-{i}") or uuid4(), text(form, f"name-{i}"), group, category,
                text(form, f"field_key-{i}"), text(form, f"field_value-{i}"), channel,
                organisation, priority, assignment)  # fmt: skip
    return check_rules((rule,))[0]


def typed_rules(form: FormData) -> tuple[list[dict[str, str]], list[int]]:
    """The rules as typed (named rows, as listed), and the row numbers they came from."""
    shown = [i for i in numbers(form, "name-") if text(form, f"name-{i}")]
    return [{k: text(form, f"{k}-{i}") for k in RULE_FIELDS} for i in shown], shown


# -- the SLA set-up ------------------------------------------------------------------------------
def sla_from(form: FormData) -> tuple[tuple[CalendarSpec, ...], tuple[Policy, ...], int]:
    """The calendars, policies and auto-close days; Mistakes when any has one."""
    said: dict[str, str] = {}
    rows = [i for i in numbers(form, "ckey-")
            if text(form, f"ckey-{i}") and not form.get(f"cdelete-{i}")]  # fmt: skip
    calendars = [_row(i, CALENDAR_INPUTS, said, partial(_calendar, form, i)) for i in rows]
    keys = [text(form, f"ckey-{i}") for i in rows]
    policies = [
        _row(i, POLICY_INPUTS, said, partial(_policy, form, i, keys))
        for i in numbers(form, "pname-")
        if text(form, f"pname-{i}") and not form.get(f"pdelete-{i}")
    ]
    days = 0
    try:
        days = whole(form, "auto_close_days")
        check_auto_close(days)
    except InvalidInput as e:
        said["auto_close_days"] = translated(e.message)
    if said:
        raise Mistakes(said)
    return (tuple(c for c in calendars if c is not None),
            tuple(p for p in policies if p is not None), days)  # fmt: skip


def _calendar(form: FormData, i: int) -> CalendarSpec:
    """The calendar of row `i`; Mistakes names each input at fault (dates, each day's hours),
    then the calendar's own refusal (its time zone, its kind)."""
    said: dict[str, str] = {}
    holidays = _row(i, CALENDAR_INPUTS, said, partial(dates, form, f"holidays-{i}"))
    workdays = _row(i, CALENDAR_INPUTS, said, partial(dates, form, f"workdays-{i}"))
    week = tuple(tuple(text(form, f"day-{i}-{d}").replace(",", " ").split()) for d in range(7))
    key = text(form, f"ckey-{i}")
    spec = CalendarSpec(
        key, text(form, f"cname-{i}") or key, text(form, f"ctz-{i}") or "Europe/Moscow", week,
        holidays or (), workdays or (), bool(form.get(f"always-{i}")),
        text(form, f"ckind-{i}") or "custom",
    )  # fmt: skip
    for d in range(7):  # each day alone (in a zone that exists), so wrong hours are said there
        alone = tuple(hours if n == d else () for n, hours in enumerate(week))
        try:
            replace(spec, week=alone, timezone="UTC", kind=CUSTOM).calendar()
        except InvalidInput as e:
            said[f"day-{i}-{d}"] = translated(e.message)
    if said:
        raise Mistakes(said)
    spec.calendar()
    return spec


def _policy(form: FormData, i: int, calendars: list[str]) -> Policy:
    policy = Policy(
        uuid(form, f"pid-{i}") or uuid4(), text(form, f"pname-{i}"), whole(form, f"fr-{i}"),
        whole(form, f"res-{i}"), whole(form, f"warn-{i}"), uuid(form, f"pcategory-{i}"),
        enum(Priority, form, f"ppriority-{i}"), text(form, f"pcalendar-{i}") or "business",
        bool(form.get(f"escalate-{i}")),
    )  # fmt: skip
    check_policy(policy, calendars)
    return policy


def typed_setup(form: FormData) -> tuple[SimpleNamespace, list[int]]:
    """The SLA form as typed (strings, unchecked), to show again with a refusal, and the row
    numbers its policies came from (its calendars are shown as they came)."""
    shown = [i for i in numbers(form, "pname-") if text(form, f"pname-{i}")]
    policies = [
        SimpleNamespace(id=text(form, f"pid-{i}"), name=text(form, f"pname-{i}"),
                        category_id=text(form, f"pcategory-{i}"),
                        priority=text(form, f"ppriority-{i}"),
                        first_response_minutes=text(form, f"fr-{i}"),
                        resolution_minutes=text(form, f"res-{i}"),
                        warn_percent=text(form, f"warn-{i}"),
                        calendar=text(form, f"pcalendar-{i}"),
                        escalate_on_breach=bool(form.get(f"escalate-{i}")),
                        delete=bool(form.get(f"pdelete-{i}")))
        for i in shown
    ]  # fmt: skip
    calendars = [
        SimpleNamespace(key=text(form, f"ckey-{i}"), name=text(form, f"cname-{i}"),
                        timezone=text(form, f"ctz-{i}"), always=bool(form.get(f"always-{i}")),
                        kind=text(form, f"ckind-{i}") or "custom",
                        week=[text(form, f"day-{i}-{d}").split() for d in range(7)],
                        holidays=text(form, f"holidays-{i}").split(),
                        workdays=text(form, f"workdays-{i}").split())
        for i in numbers(form, "ckey-")
    ]  # fmt: skip
    setup = SimpleNamespace(policies=policies, calendars=calendars,
                            auto_close_days=text(form, "auto_close_days"))  # fmt: skip
    return setup, shown

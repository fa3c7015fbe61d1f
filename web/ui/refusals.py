"""A refusal's message in the viewer's language, including the domain's messages that carry
values (a number, a name, a priority): the domain raises them in English with the values in
place, so they are recognised here by their shape and said again from a translated template.
Every other message is looked up in the catalogue as it is."""

from __future__ import annotations

import re
from collections.abc import Callable

from web.ui import i18n
from web.ui.i18n import lazy

PRIORITIES = {"low": lazy("Low"), "normal": lazy("Normal"), "high": lazy("High"),
              "critical": lazy("Critical")}  # fmt: skip


def _priority(value: str) -> str:
    return i18n.gettext(PRIORITIES[value]) if value in PRIORITIES else value


_SAME: Callable[[str], str] = str
# (the English message's shape, its template, how each value is said)
SHAPES: tuple[tuple[re.Pattern[str], str, dict[str, Callable[[str], str]]], ...] = (
    (re.compile(r"Request (?P<n>\d+) is closed; file a new request\."),
     lazy("Request {n} is closed; file a new request."), {}),
    (re.compile(r"Request (?P<n>\d+) is resolved; reopen it first\."),
     lazy("Request {n} is resolved; reopen it first."), {}),
    (re.compile(r"The priority is already (?P<p>\w+)\."),
     lazy("The priority is already «{p}»."), {"p": _priority}),
    (re.compile(r"Please fill in: (?P<fields>.+)\."), lazy("Please fill in: {fields}."), {}),
    (re.compile(r"Not fields of this category: (?P<keys>.+)\."),
     lazy("Not fields of this category: {keys}."), {}),
    (re.compile(r"This was changed meanwhile: you saw version (?P<seen>\S+), it is now at "
                r"(?P<now>\d+)\. Reload, read what changed, and try again\."),
     lazy("This was changed meanwhile: you saw version {seen}, it is now at {now}. Reload, "
          "read what changed, and try again."), {}),
    (re.compile(r"The calendar «(?P<name>.*)» has no working time\."),
     lazy("The calendar «{name}» has no working time."), {}),
    (re.compile(r"Policy «(?P<name>.*)» names an unknown calendar\."),
     lazy("Policy «{name}» names an unknown calendar."), {}),
    (re.compile(r"At most (?P<n>\d+) routing rules\."), lazy("At most {n} routing rules."), {}),
    (re.compile(r"Write working hours like 09:00-18:00, not (?P<text>.*)\."),
     lazy("Write working hours like 09:00-18:00, not {text}."), {}),
    (re.compile(r"At most (?P<n>\d+) trigger rules\."), lazy("At most {n} trigger rules."), {}),
    (re.compile(r"Name from 1 to (?P<n>\d+) requests\."),
     lazy("Name from 1 to {n} requests."), {}),
    (re.compile(r"The password must be at most (?P<n>\d+) characters\."),
     lazy("The password must be at most {n} characters."), {}),
    # the access policy's refusal of a ticket command (domain/access.py `_refusal`)
    (re.compile(r"Your role may not (?P<what>[a-z ]+) on this request\."),
     lazy("Your role may not do this on this request."), {}),
)  # fmt: skip


def translated(message: str) -> str:
    """`message` in the current language: from the catalogue, else from its shape's template,
    else as it is."""
    found = i18n.gettext(message)
    if found != message or i18n.current() == "en":
        return found
    for shape, template, say in SHAPES:
        match = shape.fullmatch(message)
        if match:
            values = {k: say.get(k, _SAME)(v) for k, v in match.groupdict().items()}
            return i18n.gettext(template).format(**values)
    return found

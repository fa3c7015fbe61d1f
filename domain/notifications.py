"""What a person may be told, and how he chose to be told it (issue 16).

The kinds of notification, who they are for (a requester or the staff), the ways one can be
delivered, and the defaults a person has until he chooses (his `NotificationPreferencesSet`
event on the Account). Who is told what for each event is the notifications view's table
(projections/notifications.py `RULES`); this module only names the kinds and the choices.

Defaults (documented in the preferences page too):
- a requester: every kind in the app and by e-mail ("both"); an anonymous contact has no
  account, so e-mail only, in Russian;
- staff: every kind in the app; by e-mail too for what asks to act now: assigned to you,
  mentioned, an SLA breach, a mass-incident proposal (developers and operations are not on the
  desk's pages all day). The rest (a requester answered, an SLA warning, a gap raised to you)
  is in-app only until the person asks for e-mail.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from domain.errors import InvalidInput


class Kind(StrEnum):
    # to requesters
    ACKNOWLEDGED = "acknowledged"  # the request was filed: number and link
    REPLIED = "replied"  # a public reply (mass-incident notices and updates too)
    INFORMATION_REQUESTED = "information_requested"  # with the link to the form
    RESOLVED = "resolved"  # with the rating link
    REOPENED = "reopened"
    # to staff
    ASSIGNED = "assigned"  # assigned or transferred to you
    REQUESTER_ANSWERED = "requester_answered"  # on a request assigned to you
    MENTIONED = "mentioned"  # @you (or your group) in an internal note
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    GAP_ASSIGNED = "gap_assigned"  # a knowledge gap assigned to you
    INCIDENT_PROPOSED = "incident_proposed"  # a trigger proposed a mass incident


REQUESTER_KINDS = (Kind.ACKNOWLEDGED, Kind.REPLIED, Kind.INFORMATION_REQUESTED, Kind.RESOLVED,
                   Kind.REOPENED)  # fmt: skip
STAFF_KINDS = tuple(k for k in Kind if k not in REQUESTER_KINDS)


class Via(StrEnum):
    APP = "app"
    EMAIL = "email"
    BOTH = "both"
    OFF = "off"

    @property
    def app(self) -> bool:
        return self in (Via.APP, Via.BOTH)

    @property
    def email(self) -> bool:
        return self in (Via.EMAIL, Via.BOTH)


STAFF_EMAIL = (Kind.ASSIGNED, Kind.MENTIONED, Kind.SLA_BREACH, Kind.INCIDENT_PROPOSED)
LANGUAGES = ("ru", "en")


def default_via(kind: Kind) -> Via:
    """How a person is told `kind` until he chooses."""
    if kind in REQUESTER_KINDS or kind in STAFF_EMAIL:
        return Via.BOTH
    return Via.APP


def check_choices(choices: Mapping[str, str], language: str) -> dict[str, str]:
    """The choices as kind -> way, every kind known and every way one of Via; InvalidInput
    naming the first wrong one otherwise."""
    if language not in LANGUAGES:
        raise InvalidInput("The language must be ru or en.", ["language"])
    checked: dict[str, str] = {}
    for kind, via in choices.items():
        if kind not in {k.value for k in Kind}:
            raise InvalidInput(f"Unknown notification kind: {kind!r}.", ["choices"])
        if via not in {v.value for v in Via}:
            raise InvalidInput("Choose app, email, both or off.", ["choices"])
        checked[str(kind)] = str(via)
    return checked

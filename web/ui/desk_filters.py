"""The desk's filter form (issue 18): the list's query parameters read into a `QueueFilter`
(domain/queue_filter.py), what is wrong with them said in the viewer's language at the field,
and the choices the form offers. The SQL is projections/desk_query.py's."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import QueryParams

from domain.queue_filter import NAMES, QueueFilter, parse
from projections import catalog
from projections.db import Tx
from projections.desk_query import HAS_TAGS
from web.ui import i18n
from web.ui.i18n import lazy

# the parser's messages (domain/queue_filter.py), for the catalogue
MESSAGES = (lazy("Too many values."), lazy("Choose from the list."), lazy("Give one date."),
            lazy("Give the date as YYYY-MM-DD."),
            lazy("The end date is before the start date."))  # fmt: skip
SORT_LABELS = {"newest": lazy("Newest first"), "oldest": lazy("Oldest first"),
               "priority": lazy("Priority"), "sla": lazy("SLA deadline"),
               "activity": lazy("Last activity")}  # fmt: skip
SLA_LABELS = {"breached": lazy("Breached"), "at_risk": lazy("At risk"), "ok": lazy("Within SLA"),
              "none": lazy("No SLA")}  # fmt: skip


@dataclass(frozen=True)
class FilterForm:
    """What the list was asked for: the filter, the errors by parameter (translated), and
    whether any filter parameter was given at all."""

    filter: QueueFilter
    errors: dict[str, str] = field(default_factory=dict)
    given: bool = False

    @property
    def query(self) -> str:
        return self.filter.query()


def _pairs(params: QueryParams) -> list[tuple[str, str]]:
    pairs = []
    for key, value in params.multi_items():
        if key == "tag":  # one box: tags separated by commas or spaces
            pairs += [(key, t) for t in re.split(r"[,\s]+", value) if t]
        else:
            pairs.append((key, value))
    return pairs


def read(params: QueryParams, saved: str | None = None) -> FilterForm:
    """The filter of the URL's parameters; a saved view's query when the URL gives none."""
    pairs = _pairs(params)
    given = any(k in NAMES and v.strip() for k, v in pairs)
    if saved is not None and not given:
        pairs = parse_qsl(saved)
    found, errors = parse(pairs)
    return FilterForm(found, {k: i18n.gettext(v) for k, v in errors.items()}, given)


def choices(tx: Tx) -> dict[str, Any]:
    """What the form offers to choose from (one query each)."""
    return {"groups": catalog.groups(tx), "staff": catalog.staff(tx),
            "categories": catalog.categories(tx), "organisations": catalog.organisations(tx),
            "sort_labels": {k: i18n.gettext(v) for k, v in SORT_LABELS.items()},
            "sla_labels": {k: i18n.gettext(v) for k, v in SLA_LABELS.items()},
            "has_tags": HAS_TAGS}  # fmt: skip

"""Names for ids on a page: the catalogue's queries, under the names the pages import.

The queries live on the read side (projections/catalog.py); pages not yet moved to import them
from there keep importing them from here."""

from __future__ import annotations

from projections.catalog import (
    account_names,
    category_names,
    group_names,
    names_for,
    organisation_names,
)

__all__ = ["account_names", "category_names", "group_names", "names_for", "organisation_names"]

"""The marker of the domain's translatable messages, so that `scripts/i18n` extracts them.

A refusal's message the domain keeps in a module constant (domain/eis_fields.py's templates,
domain/people.py's details) is English source text that the web translates only when it shows
it (web/ui/refusals.py `translated`, web/ui/requester_forms.py `field_message`). pybabel finds
only literals passed to a keyword, so such a constant is written `lazy("...")`: the same name
web/ui/i18n.py re-exports for the web's own constants, one keyword in scripts/i18n. The domain
imports nothing of the web, hence this module.
"""

from __future__ import annotations


def lazy(message: str) -> str:
    """Marks a module-level string for extraction; translate it with `_()` where it is shown."""
    return message

"""The set-up commands' registry and dispatcher (mixed into Desk; `Desk.handle` hands them here).

`handle_setup` consults the command's line in the access policy (domain/access.py
`SETUP_POLICY`) before anything is loaded, then runs the command's one handler, which loads,
decides and saves. The edges (web/admin.py, web/kb.py, the set-up pages, suz/cli.py) build
these commands and call `Desk.handle`; the older Desk methods only build a command.
"""

from __future__ import annotations

from typing import TypeVar, cast

from domain.access import Actor, check_setup
from domain.results import Written
from domain.setup import categories, documents, knowledge, people, quality, queue_views, releases
from domain.setup.base import HANDLERS, AccountCommand, Ports, SetupCommand
from domain.setup.knowledge import ArticleCommand

C = TypeVar("C", bound=SetupCommand)

# every command module registers its handlers when imported: the registry is complete here
MODULES = (people, categories, documents, knowledge, quality, queue_views, releases)
COMMANDS: tuple[type[SetupCommand], ...] = tuple(HANDLERS)
BY_NAME: dict[str, type[SetupCommand]] = {c.__name__: c for c in COMMANDS}


def by_action(about: type[C]) -> dict[str, type[C]]:
    """The commands about one kind of thing that a path segment or a button sends, by its name."""
    return {c.action: c for c in COMMANDS if issubclass(c, about) and c.action}


ARTICLE_ACTIONS = by_action(ArticleCommand)  # /api/v1/kb/articles/{id}/{action}, the editor
ACCOUNT_ACTIONS = by_action(AccountCommand)  # /api/v1/accounts/{id}/{action}


class SetupCommands:
    """The set-up dispatcher (mixed into Desk)."""

    def handle_setup(self, actor: Actor, command: SetupCommand) -> Written:
        """Carries out one set-up command: its policy line, then its handler."""
        check_setup(actor, command.policy, command.about_account)
        return HANDLERS[type(command)](cast(Ports, self), actor, command)

"""A release of the EIS, prepared together (the seed's cross-functional meetings).

A `Release` names a new version of the procurement system (name, release day, components), what
marks a request as being about it (its categories and words), how long after release day it is
watched, the questions line 1 expects users to ask (each with its keywords and, once written, the
knowledge-base article that answers it) and the trigger rules watched for it.

A watched trigger is an ordinary rule of the `Triggers` document (domain/incidents.py), added and
removed together with the release's `WatchAdded` / `WatchRemoved` in one save
(domain/setup/releases.py): it fires, alerts and proposes a mass incident like every other rule,
and the release only remembers which rules are its own. The live figures (requests about the
release, questions asked, articles that helped or answered, rules fired, line-1 resolution) are
counted by projections/releases.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, cast
from uuid import UUID

from domain.chain import ChainedAggregate
from domain.errors import InvalidInput, InvalidTransition

MAX_NAME = 200
MAX_ITEMS = 30  # components, categories
MAX_WORDS = 20  # words of the release or of a question
MAX_WORD = 100
MAX_QUESTION = 500
MAX_QUESTIONS = 200
MAX_WATCHES = 20
MAX_WATCH_DAYS = 92
LINE1_AIM = 90  # per cent: the seed's aim for requests resolved on line 1


@dataclass(frozen=True)
class Question:
    """A question users are expected to ask after the release; `keywords` find it in requests
    (any one of them in the subject or description, ignoring case)."""

    id: UUID
    text: str
    keywords: tuple[str, ...]
    article_id: UUID | None = None
    by: UUID | None = None

    def asked_in(self, folded_text: str) -> bool:
        return any(k.casefold() in folded_text for k in self.keywords)


@dataclass(frozen=True)
class Scope:
    """What a release is: its name, day, components, and what marks a request as about it."""

    name: str
    day: date
    components: tuple[str, ...] = ()
    categories: tuple[UUID, ...] = ()
    words: tuple[str, ...] = ()
    watch_days: int = 14

    @property
    def starts(self) -> datetime:
        return datetime.combine(self.day, time(), UTC)

    @property
    def ends(self) -> datetime:
        """The first moment after the watched period (release day included, UTC days)."""
        return self.starts + timedelta(days=self.watch_days)

    @property
    def last_day(self) -> date:
        return self.day + timedelta(days=self.watch_days - 1)

    def covers(self, at: datetime) -> bool:
        return self.starts <= at < self.ends

    def mentioned(self, category_id: str, folded_text: str) -> bool:
        return category_id in {str(c) for c in self.categories} or any(
            w.casefold() in folded_text for w in self.words
        )


def words_of(values: tuple[str, ...], field: str, at_least_one: bool = False) -> tuple[str, ...]:
    """Words trimmed, empty ones and repeats dropped; InvalidInput naming `field` otherwise."""
    words = tuple(dict.fromkeys(w.strip() for w in values if w.strip()))
    if len(words) > MAX_WORDS or any(len(w) > MAX_WORD for w in words):
        raise InvalidInput("At most 20 words of up to 100 characters.", [field])
    if at_least_one and not words:
        raise InvalidInput("Give at least one keyword to find the question in requests.", [field])
    return words


def check_scope(s: Scope) -> Scope:
    name = s.name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput("Give the release a name (up to 200 characters).", ["name"])
    if not isinstance(s.day, date) or isinstance(s.day, datetime):
        raise InvalidInput("The release day is a date.", ["day"])
    components = tuple(dict.fromkeys(c.strip() for c in s.components if c.strip()))
    if len(components) > MAX_ITEMS or any(len(c) > MAX_WORD for c in components):
        raise InvalidInput("At most 30 components of up to 100 characters.", ["components"])
    categories = tuple(dict.fromkeys(s.categories))
    if len(categories) > MAX_ITEMS:
        raise InvalidInput("At most 30 categories.", ["categories"])
    if not isinstance(s.watch_days, int) or not 1 <= s.watch_days <= MAX_WATCH_DAYS:
        raise InvalidInput("Watch it from 1 to 92 days after release day.", ["watch_days"])
    words = words_of(s.words, "words")
    if not categories and not words:
        raise InvalidInput(
            "Say which categories or words mark a request as about the release.",
            ["categories", "words"],
        )
    return Scope(name, s.day, components, categories, words, s.watch_days)


class Release(ChainedAggregate):
    """A release, its questions and the trigger rules watched for it."""

    if TYPE_CHECKING:  # attributes set by the events; not dataclass fields
        scope: Scope
        questions: tuple[Question, ...]
        watches: tuple[UUID, ...]
        planned_by: UUID

    class Planned(ChainedAggregate.Created):
        by: UUID
        scope: Scope

        def apply(self, aggregate: Any) -> None:
            r = cast(Release, aggregate)
            r.scope, r.questions, r.watches, r.planned_by = self.scope, (), (), self.by

    @classmethod
    def plan(cls, by: UUID, scope: Scope) -> Release:
        return cls._start(cls.Planned, by=by, scope=check_scope(scope))

    class Edited(ChainedAggregate.Event):
        by: UUID
        scope: Scope

        def apply(self, aggregate: Any) -> None:
            cast(Release, aggregate).scope = self.scope

    def edit(self, by: UUID, scope: Scope) -> None:
        scope = check_scope(scope)
        if scope != self.scope:
            self.trigger_event(self.Edited, by=by, scope=scope)

    class QuestionAdded(ChainedAggregate.Event):
        question: Question

        def apply(self, aggregate: Any) -> None:
            r = cast(Release, aggregate)
            r.questions = (*r.questions, self.question)

    def add_question(self, question: Question) -> None:
        text = question.text.strip()
        if not text or len(text) > MAX_QUESTION:
            raise InvalidInput("Write the question (up to 500 characters).", ["text"])
        if len(self.questions) >= MAX_QUESTIONS:
            raise InvalidInput("At most 200 questions per release.", ["text"])
        if any(q.id == question.id for q in self.questions):
            raise InvalidTransition("This question is already on the release.")
        keywords = words_of(question.keywords, "keywords", at_least_one=True)
        self.trigger_event(self.QuestionAdded, question=Question(
            question.id, text, keywords, question.article_id, question.by))  # fmt: skip

    def question(self, question_id: UUID) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    class QuestionLinked(ChainedAggregate.Event):
        by: UUID
        question_id: UUID
        article_id: UUID | None  # None: the link taken away

        def apply(self, aggregate: Any) -> None:
            r = cast(Release, aggregate)
            r.questions = tuple(
                Question(q.id, q.text, q.keywords, self.article_id, q.by)
                if q.id == self.question_id
                else q
                for q in r.questions
            )

    def link_question(self, by: UUID, question_id: UUID, article_id: UUID | None) -> None:
        q = self.question(question_id)
        if q is None:
            raise InvalidInput("No such question on this release.", ["question_id"])
        if q.article_id != article_id:
            self.trigger_event(self.QuestionLinked, by=by, question_id=question_id,
                               article_id=article_id)  # fmt: skip

    class WatchAdded(ChainedAggregate.Event):
        by: UUID
        rule_id: UUID

        def apply(self, aggregate: Any) -> None:
            r = cast(Release, aggregate)
            r.watches = (*r.watches, self.rule_id)

    def add_watch(self, by: UUID, rule_id: UUID) -> None:
        if len(self.watches) >= MAX_WATCHES:
            raise InvalidInput("At most 20 triggers per release.", ["name"])
        if rule_id in self.watches:
            raise InvalidTransition("This trigger is already watched for the release.")
        self.trigger_event(self.WatchAdded, by=by, rule_id=rule_id)

    class WatchRemoved(ChainedAggregate.Event):
        by: UUID
        rule_id: UUID

        def apply(self, aggregate: Any) -> None:
            r = cast(Release, aggregate)
            r.watches = tuple(w for w in r.watches if w != self.rule_id)

    def remove_watch(self, by: UUID, rule_id: UUID) -> None:
        if rule_id not in self.watches:
            raise InvalidInput("This trigger is not watched for the release.", ["rule_id"])
        self.trigger_event(self.WatchRemoved, by=by, rule_id=rule_id)

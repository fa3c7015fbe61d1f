"""The knowledge base (web/kb.py): articles and templates, review, suggestions, usage, gaps."""

from __future__ import annotations

import typing
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import UNSET, Meta, UnsetType

from domain.article import Audience, Kind, Stage
from web.api_schema.common import (
    AFTER,
    Answer,
    Operation,
    Sent,
    TemplateRef,
    Written,
    in_path,
    in_query,
)
from web.api_schema.tickets import TICKET, Filed


class Reference(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A regulation an article rests on."""

    name: str
    clause: str = ""
    link: str = ""


class ContentSent(Sent, kw_only=True):
    """What a revision says. Templates may use placeholders like {requester_name}; an
    information-request template lists the `fields` and `questions` to ask."""

    title_ru: str = ""
    title_en: str = ""
    body_ru: str = ""
    body_en: str = ""
    audience: Audience = Audience.INTERNAL
    category_ids: list[UUID] = []
    tags: list[str] = []
    references: list[Reference] = []
    fields: list[str] = []
    questions: list[str] = []


class DraftArticle(Sent, kw_only=True):
    """A new article or template (methodologists); `gap`: the knowledge gap it answers (its
    content's audience is then public unless given)."""

    kind: Kind = Kind.ARTICLE
    content: ContentSent
    gap: UUID | None = None


class ReviseArticle(Sent, kw_only=True):
    """A new revision, based on the revision its editor read (another saved meanwhile: 409 with
    what changed)."""

    based_on: int
    content: ContentSent
    note: str = ""


class ArticleAction(Sent, kw_only=True):
    """`comment` for approve and send-back, `reason` for archive; the others read nothing."""

    comment: str = ""
    reason: str = ""


class RaiseGap(Sent, kw_only=True):
    """A knowledge gap (staff): what the knowledge base lacks, raised from requests."""

    subject: str
    description: str
    tickets: list[UUID] = []
    category: UUID | None = None


class StoredContent(Answer, kw_only=True):
    """A published revision's content as indexed."""

    title_ru: str
    title_en: str
    body_ru: str
    body_en: str
    audience: Audience
    category_ids: list[UUID]
    tags: list[str]
    references: list[Reference]
    fields: list[str]
    questions: list[str]


class ShownContent(StoredContent, kw_only=True):
    """An article's content with its bodies rendered to safe HTML."""

    html_ru: str
    html_en: str


class Suggestion(Answer, kw_only=True):
    """A published article or template matching a text, best first."""

    id: UUID
    kind: Kind
    title: str
    revision: int
    content: StoredContent


class Revision(Answer, kw_only=True):
    revision: int
    diff: Annotated[list[str], Meta(description="A unified diff against the revision before.")]


class ArticleShown(Answer, kw_only=True):
    """An article: staff see its stage, current revision and every revision's diff; others
    its published revision only."""

    id: UUID
    kind: Kind
    version: int
    stage: Stage | UnsetType = UNSET
    revision: int | UnsetType = UNSET
    gap: UUID | UnsetType | None = UNSET
    published_revision: int
    content: ShownContent
    revisions: list[Revision] | UnsetType = UNSET


class ArticleUsage(Answer, kw_only=True):
    id: UUID
    kind: Kind
    title: str
    deflections: int
    used_in_replies: int
    used_in_requests: int


class GapFigures(Answer, kw_only=True):
    """Knowledge gaps by status, how many were answered, and the mean hours to an answer."""

    by_status: dict[str, int]
    answered: int
    mean_hours_to_answer: float | None


class KbUsage(Answer, kw_only=True):
    articles: list[ArticleUsage]
    gaps: GapFigures


class FilledTemplate(Answer, kw_only=True):
    """A template filled in for a request; send `template` with the reply written from it."""

    text: str
    template: TemplateRef
    fields: list[str]
    questions: list[str]


ARTICLE = in_path("article_id")
ACTION = in_path("action", typing.Literal["submit", "approve", "send-back", "publish",
                                          "self-publish", "archive", "helped"])  # fmt: skip
SEARCH = (in_query("q"), in_query("category", UUID))
OPERATIONS = [
    Operation("get", "/api/v1/kb/articles",
              "Search the knowledge base (requesters: published public articles)",
              list[Suggestion], params=(*SEARCH, AFTER), refusals=(400, 401)),
    Operation("post", "/api/v1/kb/articles", "Draft an article or template (methodologists)",
              Written, DraftArticle, status=201, refusals=(400, 401, 403, 404, 413, 415, 422)),
    Operation("get", "/api/v1/kb/articles/{article_id}",
              "An article (staff: with revisions and diffs)", ArticleShown, params=(ARTICLE,)),
    Operation("put", "/api/v1/kb/articles/{article_id}",
              "Revise (refused with what changed when based on an old revision)", Written,
              ReviseArticle, params=(ARTICLE,), refusals=(400, 401, 403, 404, 409, 413, 415, 422)),
    Operation("post", "/api/v1/kb/articles/{article_id}/{action}",
              "submit, approve, send-back, publish, self-publish (no second reviewer, where"
              " the desk allows it), archive, or helped (a deflection)", Written,
              ArticleAction, params=(ARTICLE, ACTION),
              refusals=(400, 401, 403, 404, 409, 413, 415, 422)),
    Operation("get", "/api/v1/kb/suggestions", "Articles matching a text (public)",
              list[Suggestion], params=(*SEARCH, in_query("templates", typing.Literal["1"],
                                                          "Staff: templates too."), AFTER),
              refusals=(400,)),
    Operation("get", "/api/v1/kb/usage", "How often articles and templates were used (staff)",
              KbUsage, params=(AFTER,), refusals=(401, 403)),
    Operation("post", "/api/v1/kb/gaps", "Raise a knowledge gap (staff)", Filed, RaiseGap,
              status=201, refusals=(400, 401, 403, 404, 409, 413, 415, 422)),
    Operation("get", "/api/v1/tickets/{ticket_id}/suggestions",
              "Articles and templates fitting this request (staff)", list[Suggestion],
              params=(TICKET,), refusals=(401, 403, 404)),
    Operation("get", "/api/v1/tickets/{ticket_id}/template",
              "A template filled in for this request (staff)", FilledTemplate,
              params=(TICKET, in_query("template", UUID), in_query("lang", typing.Literal[
                  "ru", "en"])), refusals=(401, 403, 404, 409, 422)),
]  # fmt: skip

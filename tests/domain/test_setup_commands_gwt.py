"""Given / When / Then for every set-up command, in memory (POPO): given what happened before,
when one command is handled, then exactly these events are recorded on the aggregate it names,
or this refusal and nothing at all.

The desk is the real one (policy, dispatcher, handlers, aggregates); only its store is in memory.
Every registered command has a story and a refusal (at least: someone the policy turns away),
and every command has its line in the one policy (domain/access.py `SETUP_POLICY`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.access import SETUP_POLICY, UNLISTED, Actor, Setup
from domain.article import Audience, Content, Kind, ReviewRule
from domain.category import FieldHelp, FieldSpec, FieldType
from domain.desk import SYSTEM, Desk
from domain.errors import DeskError, Forbidden, InvalidInput, NotFound
from domain.incident_commands import HANDLERS as INCIDENT_COMMANDS
from domain.incidents import Criteria, TriggerRule
from domain.people import GroupKind, Role
from domain.quality import ChecklistItem
from domain.release import Scope
from domain.routing import Rule
from domain.setup import categories as sc
from domain.setup import documents as sd
from domain.setup import knowledge as sk
from domain.setup import people as sp
from domain.setup import quality as sq
from domain.setup import queue_views as sqv
from domain.setup import releases as sr
from domain.setup.base import SetupCommand
from domain.setup.dispatch import COMMANDS
from domain.sla_setup import CalendarSpec, Policy
from tests.domain.support import memory_env, position, refused, refused_story
from tests.world import World

PUBLIC = Content("Как подписать контракт", "", "Откройте реестр.", "", Audience.PUBLIC)
REVISED = Content("Как подписать контракт", "", "Откройте реестр контрактов.", "", Audience.PUBLIC)
AMOUNT = FieldSpec("amount", "Сумма", "Amount", FieldType.NUMBER)
ITEMS = (ChecklistItem("correct", "Correct answer", 2), ChecklistItem("polite", "Polite"))


@dataclass
class Scene:
    world: World
    ticket: UUID  # a request of the requester, filed to line 1
    found: dict[str, UUID]  # what the given steps made, by name

    @property
    def desk(self) -> Desk:
        return self.world.desk


@pytest.fixture(scope="module")
def base_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return memory_env(tmp_path_factory, "setup-gwt")


@pytest.fixture
def scene(base_env: dict[str, str]) -> Scene:
    w = World.build(Desk(base_env))
    return Scene(w, w.file().id, {})


Step = Callable[[Scene], Any]
When = Callable[[Scene], tuple[Actor, SetupCommand]]


def uid(actor: Actor) -> UUID:
    assert actor.id is not None
    return actor.id


# -- given ------------------------------------------------------------------------------------
def disabled(s: Scene) -> None:
    s.desk.handle(s.world.admin, sp.DisableAccount(uid(s.world.agent)))


def drafted(s: Scene) -> None:
    s.found["article"] = s.desk.draft_article(s.world.methodologist, Kind.ARTICLE, PUBLIC).id


def submitted(s: Scene) -> None:
    drafted(s)
    s.desk.submit_article(s.world.methodologist, s.found["article"])


def approved(s: Scene) -> None:
    submitted(s)
    s.desk.review_article(s.world.admin, s.found["article"], True)  # a second editor reviews


def published(s: Scene) -> None:
    approved(s)
    s.desk.publish_article(s.world.methodologist, s.found["article"])


def self_publishing(s: Scene) -> None:
    """The desk lets a lone methodologist publish without a second reviewer."""
    s.desk.handle(s.world.admin, sk.SetReviewRule(ReviewRule.SELF_PUBLISH))


def resolved(s: Scene) -> None:
    s.desk.resolve(s.world.agent, s.ticket, "Переподпишите")


def rated_low(s: Scene) -> None:
    resolved(s)
    s.desk.rate(s.world.requester, s.ticket, 1, "Не помогло")
    s.found["rated"] = s.desk.repository.get(s.ticket).version


def followed_up(s: Scene) -> None:
    rated_low(s)
    s.desk.raise_follow_up(s.ticket, int(s.found["rated"]), 1)


def rule(s: Scene) -> Rule:
    return Rule(uuid4(), "Контракты на линию 2", s.world.line2, s.world.contracts)


def trigger(s: Scene) -> TriggerRule:
    return TriggerRule(uuid4(), "Сбой подписи", Criteria(s.world.contracts), 3, 60, Decimal(0),
                       (s.world.line2,))  # fmt: skip


def sla(s: Scene) -> sd.SetSlaSetup:
    return sd.SetSlaSetup((CalendarSpec("business", "Рабочие часы"),),
                          (Policy(uuid4(), "Стандарт", 60, 480),), 5, 0)  # fmt: skip


def a(s: Scene, name: str) -> UUID:
    return s.found[name]


RELEASE_DAY = date(2026, 12, 14)


def scope(s: Scene, name: str = "ЕИС 14.2") -> Scope:
    return Scope(name, RELEASE_DAY, ("Контракты",), (s.world.contracts,), ("14.2",))


def analyst() -> Actor:
    return Actor(uuid4(), frozenset({Role.ANALYST}))


def planned(s: Scene) -> None:
    s.found["release"] = s.desk.handle(s.world.methodologist, sr.PlanRelease(scope(s))).id


def asked(s: Scene) -> None:
    planned(s)
    s.desk.handle(s.world.agent, sr.AddReleaseQuestion(a(s, "release"), "Как подписать?",
                                                       ("подпис",)))  # fmt: skip
    s.found["question"] = s.desk.repository.get(a(s, "release")).questions[0].id


def watched(s: Scene) -> None:
    planned(s)
    s.desk.handle(s.world.admin, sr.AddReleaseWatch(a(s, "release"), "Подпись",
                                                    Criteria(words=("подпис",)), 5))  # fmt: skip
    s.found["rule"] = s.desk.repository.get(a(s, "release")).watches[0]


def saved_view(s: Scene) -> None:
    """The agent keeps a personal view of line 2's active requests."""
    view = sqv.SaveQueueView("Линия 2", "status=active&line=2")
    s.found["view"] = s.desk.handle(s.world.agent, view).id


def shared_view(s: Scene) -> None:
    view = sqv.SaveQueueView("Без исполнителя", "assignee=none", True)
    s.found["view"] = s.desk.handle(s.world.agent, view).id


# (story, given, when, the events recorded on the aggregate written: name and some values)
RECORDED: list[tuple[str, list[Step], When, list[tuple[str, dict[str, Any]]]]] = [
    ("an agent saves a personal view of line 2's active requests", [],
     lambda s: (s.world.agent, sqv.SaveQueueView(" Линия  2 ", "line=2&status=active")),
     [("Saved", {"owner_id": "agent", "name": "Линия 2", "query": "status=active&line=2",
                 "shared": False})]),
    ("an agent renames his view and shares it with the desk", [saved_view],
     lambda s: (s.world.agent, sqv.SaveQueueView("Линия 2 — все", "line=2", True,
                                                 a(s, "view"), 1)),
     [("Changed", {"name": "Линия 2 — все", "query": "line=2", "shared": True})]),
    ("an administrator deletes a view shared with the desk", [shared_view],
     lambda s: (s.world.admin, sqv.DeleteQueueView(a(s, "view"))), [("Deleted", {})]),
    ("an administrator registers an organisation", [],
     lambda s: (s.world.admin, sp.RegisterOrganisation("ООО Ромашка", "7707083808")),
     [("Registered", {"name": "ООО Ромашка", "inn": "7707083808"})]),
    ("an administrator registers an organisation with its KPP and addresses", [],
     lambda s: (s.world.admin, sp.RegisterOrganisation(
         "ООО Ромашка", "7707083808", " 7707 01 001 ", "101000, г. Москва, ул. Мира, д. 1")),
     [("Registered", {"kpp": "770701001", "legal_address": "101000, г. Москва, ул. Мира, д. 1",
                      "postal_address": ""})]),
    ("an administrator edits an organisation's name, KPP and addresses in one form", [],
     lambda s: (s.world.admin, sp.EditOrganisation(s.world.org, 1, "ГКУ «Заказчик»",
                                                   "770701001", "г. Москва", "а/я 15")),
     [("Renamed", {"name": "ГКУ «Заказчик»"}),
      ("DetailsChanged", {"kpp": "770701001", "legal_address": "г. Москва",
                          "postal_address": "а/я 15"})]),
    ("an administrator registers an agent", [],
     lambda s: (s.world.admin, sp.RegisterAccount("Smirnov", "Смирнов", (Role.AGENT,))),
     [("Registered", {"login": "smirnov", "roles": (Role.AGENT,), "organisation_id": None})]),
    ("an administrator makes an agent a methodologist too", [],
     lambda s: (s.world.admin, sp.ChangeRoles(uid(s.world.agent),
                                              (Role.AGENT, Role.METHODOLOGIST))),
     [("RolesChanged", {"roles": (Role.AGENT, Role.METHODOLOGIST)})]),
    ("an administrator moves an agent to line 2 and makes him a methodologist, in one form", [],
     lambda s: (s.world.admin, sp.EditAccount(uid(s.world.agent), (Role.AGENT, Role.METHODOLOGIST),
                                              (s.world.line2,))),
     [("RolesChanged", {"roles": (Role.AGENT, Role.METHODOLOGIST)}),
      ("LeftGroup", {"group_id": "line1"}), ("JoinedGroup", {"group_id": "line2"})]),
    ("an administrator puts an agent into line 2", [],
     lambda s: (s.world.admin, sp.JoinGroup(uid(s.world.agent), s.world.line2)),
     [("JoinedGroup", {"group_id": "line2"})]),
    ("an administrator takes an agent out of line 1", [],
     lambda s: (s.world.admin, sp.LeaveGroup(uid(s.world.agent), s.world.line1)),
     [("LeftGroup", {"group_id": "line1"})]),
    ("an administrator disables an account", [],
     lambda s: (s.world.admin, sp.DisableAccount(uid(s.world.agent))), [("Disabled", {})]),
    ("an administrator enables it again", [disabled],
     lambda s: (s.world.admin, sp.EnableAccount(uid(s.world.agent))), [("Enabled", {})]),
    ("an agent says he is away", [],
     lambda s: (s.world.agent, sp.SetAway(uid(s.world.agent), True)),
     [("AvailabilityChanged", {"away": True})]),
    ("an agent changes his own password", [],
     lambda s: (s.world.agent, sp.RecordPasswordChange(uid(s.world.agent))),
     [("PasswordChanged", {"by": "agent"})]),
    ("an agent chooses e-mail only for assignments, in English", [],
     lambda s: (s.world.agent, sp.SetNotificationPreferences(uid(s.world.agent),
                                                             {"assigned": "email"}, "en")),
     [("NotificationPreferencesSet", {"choices": {"assigned": "email"}, "language": "en"})]),
    ("an agent marks his notifications read", [],
     lambda s: (s.world.agent, sp.MarkNotificationsRead(uid(s.world.agent), 7)),
     [("NotificationsRead", {"up_to": 7})]),
    ("an administrator forms a group", [],
     lambda s: (s.world.admin, sp.FormGroup("Линия 1 (Казань)", GroupKind.LINE_1)),
     [("Formed", {"name": "Линия 1 (Казань)", "kind": GroupKind.LINE_1})]),
    ("an administrator appoints line 1's lead", [],
     lambda s: (s.world.admin, sp.AppointGroupLead(s.world.line1, uid(s.world.agent))),
     [("LeadAppointed", {"lead_id": "agent"})]),
    ("an administrator defines a category", [],
     lambda s: (s.world.admin, sc.DefineCategory("Оплата", "Payments", (AMOUNT,),
                                                 s.world.line1)),
     [("Defined", {"name_en": "Payments", "form": (AMOUNT,), "default_group_id": "line1"})]),
    ("an administrator changes a category's form", [],
     lambda s: (s.world.admin, sc.ChangeCategoryForm(s.world.contracts, (AMOUNT,))),
     [("FormChanged", {"form": (AMOUNT,)})]),
    ("an administrator gives a field of the form a help text, shown under it", [],
     lambda s: (s.world.admin, sc.ChangeCategoryForm(s.world.contracts, (AMOUNT,), None, (
         FieldHelp("amount", " Цена  контракта, в рублях ", "In roubles"),))),
     [("FormChanged", {"form": (AMOUNT,)}),
      ("HelpChanged", {"help": (FieldHelp("amount", "Цена контракта, в рублях", "In roubles"),)})]),
    ("an administrator sets the first routing rules", [],
     lambda s: (s.world.admin, sd.SetRoutingRules((rule(s),), 0)),
     [("Started", {}), ("RulesChanged", {"by": "admin"})]),
    ("an administrator sets the SLA up", [], lambda s: (s.world.admin, sla(s)),
     [("Started", {}), ("Changed", {"auto_close_days": 5})]),
    ("an analyst sets the trigger rules", [],
     lambda s: (Actor(uuid4(), frozenset({Role.ANALYST})), sd.SetTriggerRules((trigger(s),))),
     [("Started", {}), ("RulesChanged", {})]),
    ("a quality reviewer changes the checklist", [],
     lambda s: (s.world.quality, sd.SetQualityChecklist(ITEMS)),
     [("Started", {}), ("Changed", {"items": ITEMS, "by": "quality"})]),
    ("a methodologist drafts an article", [],
     lambda s: (s.world.methodologist, sk.DraftArticle(Kind.ARTICLE, PUBLIC)),
     [("Drafted", {"by": "methodologist", "kind": Kind.ARTICLE})]),
    ("a methodologist revises his draft", [drafted],
     lambda s: (s.world.methodologist, sk.ReviseArticle(a(s, "article"), 1, REVISED, "Опечатка")),
     [("Revised", {"note": "Опечатка"})]),
    ("a methodologist submits it for review", [drafted],
     lambda s: (s.world.methodologist, sk.SubmitArticle(a(s, "article"))),
     [("SubmittedForReview", {})]),
    ("a second editor approves it", [submitted],
     lambda s: (s.world.admin, sk.ApproveArticle(a(s, "article"), "Хорошо")),
     [("Approved", {"comment": "Хорошо"})]),
    ("a second editor sends it back", [submitted],
     lambda s: (s.world.admin, sk.SendBackArticle(a(s, "article"), "Нет ссылки")),
     [("SentBack", {"comment": "Нет ссылки"})]),
    ("a methodologist publishes the approved revision", [approved],
     lambda s: (s.world.methodologist, sk.PublishArticle(a(s, "article"))),
     [("Published", {})]),
    ("an administrator lets a lone methodologist publish without a second reviewer", [],
     lambda s: (s.world.admin, sk.SetReviewRule(ReviewRule.SELF_PUBLISH, 0)),
     [("Started", {}), ("ReviewRuleSet", {"by": "admin", "review": ReviewRule.SELF_PUBLISH})]),
    ("the lone methodologist publishes his draft himself, recorded as unreviewed",
     [self_publishing, drafted],
     lambda s: (s.world.methodologist, sk.SelfPublishArticle(a(s, "article"))),
     [("SelfPublished", {"by": "methodologist", "revision": 1})]),
    ("a methodologist archives an article", [drafted],
     lambda s: (s.world.methodologist, sk.ArchiveArticle(a(s, "article"), "Устарела")),
     [("Archived", {"reason": "Устарела"})]),
    ("a requester says a published article helped", [published],
     lambda s: (s.world.requester, sk.MarkHelpful(a(s, "article"))), [("Helped", {})]),
    ("an agent raises a knowledge gap from a request", [],
     lambda s: (s.world.agent, sk.RaiseKnowledgeGap("Нет статьи о подписи", "Спрашивают часто",
                                                    uuid4(), (s.ticket,))),
     [("Filed", {"subject": "Нет статьи о подписи"}), ("Assigned", {}), ("Linked", {})]),
    ("a quality reviewer scores a resolved request", [resolved],
     lambda s: (s.world.quality, sq.ReviewQuality(s.ticket, {"correct": 2, "complete": 1,
                                                             "polite": 2, "template": 0,
                                                             "sla": 2}, "Неполно")),
     [("QualityReviewed", {"by": "quality", "comment": "Неполно"})]),
    ("the follow-up process raises a low rating's follow-up", [rated_low],
     lambda s: (SYSTEM, sq.RaiseFollowUp(s.ticket, int(s.found["rated"]), 1)),
     [("FollowUpRaised", {})]),
    ("an agent of the group (it has no lead) follows up", [followed_up],
     lambda s: (s.world.agent, sq.FinishFollowUp(s.ticket, int(s.found["rated"]), "Позвонил")),
     [("FollowUpDone", {"by": "agent", "note": "Позвонил"})]),
    ("a methodologist plans a release", [],
     lambda s: (s.world.methodologist, sr.PlanRelease(scope(s))),
     [("Planned", {"by": "methodologist"})]),
    ("a curator renames it against the version he saw", [planned],
     lambda s: (s.world.curator, sr.EditRelease(a(s, "release"), scope(s, "ЕИС 14.2.1"), 1)),
     [("Edited", {})]),
    ("a line-1 agent adds a probable question", [planned],
     lambda s: (s.world.agent, sr.AddReleaseQuestion(a(s, "release"), "Как подписать контракт?",
                                                     (" подпис ", "ЭП"))),
     [("QuestionAdded", {})]),
    ("a methodologist links the question to its article", [asked, drafted],
     lambda s: (s.world.methodologist, sr.LinkQuestionArticle(a(s, "release"), a(s, "question"),
                                                              a(s, "article"))),
     [("QuestionLinked", {"by": "methodologist"})]),
    ("an analyst watches a trigger for the release", [planned],
     lambda s: (analyst(), sr.AddReleaseWatch(a(s, "release"), "Всплеск подписи",
                                              Criteria(s.world.contracts), 10, 30,
                                              (s.world.line2,))),
     [("WatchAdded", {})]),
    ("an administrator stops watching it", [watched],
     lambda s: (s.world.admin, sr.RemoveReleaseWatch(a(s, "release"), a(s, "rule"))),
     [("WatchRemoved", {"by": "admin"})]),
]  # fmt: skip


def then(s: Scene, before: int, aggregate: UUID) -> list[tuple[str, dict[str, Any]]]:
    """The events stored since log position `before` on `aggregate`, with their own values."""
    skip = {"originator_id", "originator_version", "timestamp", "chain", "originator_topic"}
    stored = s.desk.recorder.select_notifications(start=before + 1, limit=1000)
    events = [s.desk.mapper.to_domain_event(n) for n in stored if n.originator_id == aggregate]
    return [(type(e).__name__, {k: v for k, v in vars(e).items() if k not in skip})
            for e in events]  # fmt: skip


def expected(s: Scene, values: dict[str, Any]) -> dict[str, Any]:
    """The values with the scene's names ("agent", "line2"...) put for the ids they stand for."""
    w = s.world
    names = {"agent": w.agent.id, "admin": w.admin.id, "quality": w.quality.id,
             "methodologist": w.methodologist.id, "line1": w.line1, "line2": w.line2}  # fmt: skip
    return {k: names.get(x, x) if type(x) is str else x for k, x in values.items()}  # not enums


@pytest.mark.parametrize(("story", "given", "when", "events"), RECORDED,
                         ids=[r[0] for r in RECORDED])  # fmt: skip
def test_when_a_set_up_command_is_handled_then_its_events_are_recorded(
    scene: Scene, story: str, given: list[Step], when: When,
    events: list[tuple[str, dict[str, Any]]],
) -> None:  # fmt: skip
    for step in given:
        step(scene)
    actor, command = when(scene)
    before = position(scene.desk)
    written = scene.desk.handle(actor, command)
    recorded = then(scene, before, written.id)
    assert [name for name, _ in recorded] == [name for name, _ in events]
    for (_, got), (_, want) in zip(recorded, events, strict=True):
        want = expected(scene, want)
        assert {k: got[k] for k in want} == want
    assert written.version == scene.desk.repository.get(written.id).version
    assert written.position == position(scene.desk)


ADMINS_ONLY = "Only an administrator may change the desk's set-up."
EDITORS_ONLY = "Only methodologists edit and publish the knowledge base."
PLANNERS_ONLY = "Only methodologists, analysts, curators and administrators plan releases."

# (story, given, when, the refusal and its message): each writes nothing at all
REFUSED: list[tuple[str, list[Step], When, type[DeskError], str]] = [
    ("a requester saves no view of the desk", [],
     lambda s: (s.world.requester, sqv.SaveQueueView("Мои", "")), Forbidden,
     "Only the desk's staff save views of its queues."),
    ("a view of a line that does not exist is refused", [],
     lambda s: (s.world.agent, sqv.SaveQueueView("Линия 9", "line=9")), InvalidInput,
     "Choose from the list."),
    ("a view needs a name", [],
     lambda s: (s.world.agent, sqv.SaveQueueView("  ", "line=1")), InvalidInput,
     "Give the view a name."),
    ("another agent changes no shared view", [shared_view],
     lambda s: (s.world.engineer, sqv.SaveQueueView("Моё", "", False, a(s, "view"))),
     Forbidden, "Only its owner or an administrator may change a shared view."),
    ("another agent deletes no shared view", [shared_view],
     lambda s: (s.world.engineer, sqv.DeleteQueueView(a(s, "view"))), Forbidden,
     "Only its owner or an administrator may change a shared view."),
    ("a personal view is nobody else's to delete, an administrator's neither", [saved_view],
     lambda s: (s.world.admin, sqv.DeleteQueueView(a(s, "view"))), NotFound, "No such view."),
    ("a view changed since its form was shown conflicts", [saved_view],
     lambda s: (s.world.agent, sqv.SaveQueueView("Другое", "", False, a(s, "view"), 99)),
     DeskError, "you saw version 99"),
    ("an agent registers no organisation", [],
     lambda s: (s.world.agent, sp.RegisterOrganisation("ООО Ромашка", "7707083808")),
     Forbidden, ADMINS_ONLY),
    ("an agent edits no organisation", [],
     lambda s: (s.world.agent, sp.EditOrganisation(s.world.org, 1, "ООО Ромашка")),
     Forbidden, ADMINS_ONLY),
    ("an organisation with a wrong KPP is not registered", [],
     lambda s: (s.world.admin, sp.RegisterOrganisation("ООО Ромашка", "7707083808", "77070100")),
     InvalidInput, "KPP must be 9 characters"),
    ("an organisation form decided on another version conflicts", [],
     lambda s: (s.world.admin, sp.EditOrganisation(s.world.org, 7, "ГКУ Заказчик", "770701001")),
     DeskError, "you saw version 7"),
    ("an agent registers no account", [],
     lambda s: (s.world.agent, sp.RegisterAccount("x", "X", (Role.ADMIN,))), Forbidden,
     ADMINS_ONLY),
    ("an agent does not make himself an administrator", [],
     lambda s: (s.world.agent, sp.ChangeRoles(uid(s.world.agent), (Role.ADMIN,))), Forbidden,
     ADMINS_ONLY),
    ("an agent does not edit his own account", [],
     lambda s: (s.world.agent, sp.EditAccount(uid(s.world.agent), (Role.ADMIN,), ())), Forbidden,
     ADMINS_ONLY),
    ("an account form decided on another version conflicts", [],
     lambda s: (s.world.admin, sp.EditAccount(uid(s.world.agent), (Role.AGENT,), (), 99)),
     DeskError, "you saw version 99"),
    ("an account form names no unknown group", [],
     lambda s: (s.world.admin, sp.EditAccount(uid(s.world.agent), (Role.AGENT,), (uuid4(),))),
     InvalidInput, "No such group."),
    ("no help text for a field the form lacks", [],
     lambda s: (s.world.admin, sc.ChangeCategoryForm(s.world.contracts, (AMOUNT,), None, (
         FieldHelp("price", "Цена"),))),
     InvalidInput, "Not fields of this category: price."),
    ("a category's form decided on another version conflicts", [],
     lambda s: (s.world.admin, sc.ChangeCategoryForm(s.world.contracts, (AMOUNT,), 99)),
     DeskError, "you saw version 99"),
    ("a lead appointed on another version of the group conflicts", [],
     lambda s: (s.world.admin, sp.AppointGroupLead(s.world.line1, uid(s.world.agent), 99)),
     DeskError, "you saw version 99"),
    ("an agent does not join a group by himself", [],
     lambda s: (s.world.agent, sp.JoinGroup(uid(s.world.agent), s.world.line2)), Forbidden,
     ADMINS_ONLY),
    ("an agent does not leave his group by himself", [],
     lambda s: (s.world.agent, sp.LeaveGroup(uid(s.world.agent), s.world.line1)), Forbidden,
     ADMINS_ONLY),
    ("an agent disables nobody", [],
     lambda s: (s.world.agent, sp.DisableAccount(uid(s.world.admin))), Forbidden, ADMINS_ONLY),
    ("a quality reviewer enables nobody", [disabled],
     lambda s: (s.world.quality, sp.EnableAccount(uid(s.world.agent))), Forbidden, ADMINS_ONLY),
    ("an agent says nothing of a colleague's absence", [],
     lambda s: (s.world.agent, sp.SetAway(uid(s.world.engineer), True)), Forbidden,
     "You may only say whether you yourself are away."),
    ("an administrator chooses nobody else's notifications", [],
     lambda s: (s.world.admin, sp.SetNotificationPreferences(uid(s.world.agent), {}, "ru")),
     Forbidden, "You may only change your own notifications."),
    ("an agent marks no colleague's notifications read", [],
     lambda s: (s.world.agent, sp.MarkNotificationsRead(uid(s.world.engineer), 7)), Forbidden,
     "You may only change your own notifications."),
    ("an unknown notification kind is refused", [],
     lambda s: (s.world.agent, sp.SetNotificationPreferences(uid(s.world.agent),
                                                             {"gossip": "email"}, "ru")),
     InvalidInput, "Unknown notification kind: 'gossip'."),
    ("an agent sets no colleague's password", [],
     lambda s: (s.world.agent, sp.RecordPasswordChange(uid(s.world.engineer))), Forbidden,
     "Only the account itself or an administrator may set its password."),
    ("an agent forms no group", [],
     lambda s: (s.world.agent, sp.FormGroup("Своя", GroupKind.LINE_1)), Forbidden, ADMINS_ONLY),
    ("an agent appoints no lead", [],
     lambda s: (s.world.agent, sp.AppointGroupLead(s.world.line1, uid(s.world.agent))),
     Forbidden, ADMINS_ONLY),
    ("a lead must be an agent of the group", [],
     lambda s: (s.world.admin, sp.AppointGroupLead(s.world.line1, uid(s.world.engineer))),
     DeskError, "The lead must be an active agent of the group."),
    ("a methodologist defines no category", [],
     lambda s: (s.world.methodologist, sc.DefineCategory("Оплата", "Payments")), Forbidden,
     ADMINS_ONLY),
    ("a category's default group exists", [],
     lambda s: (s.world.admin, sc.DefineCategory("Оплата", "Payments", (), uuid4())),
     NotFound, "No such group."),
    ("an agent changes no category's form", [],
     lambda s: (s.world.agent, sc.ChangeCategoryForm(s.world.contracts, ())), Forbidden,
     ADMINS_ONLY),
    ("an agent sets no routing rules", [],
     lambda s: (s.world.agent, sd.SetRoutingRules((rule(s),))), Forbidden, ADMINS_ONLY),
    ("routing rules decided on another version conflict", [],
     lambda s: (s.world.admin, sd.SetRoutingRules((rule(s),), 3)), DeskError,
     "you saw version 3, it is now at 0."),
    ("an agent sets no SLA", [], lambda s: (s.world.agent, sla(s)), Forbidden,
     "Only an administrator may change the SLA policies."),
    ("an agent sets no trigger rules", [],
     lambda s: (s.world.agent, sd.SetTriggerRules((trigger(s),))), Forbidden,
     "Only administrators and analysts set the trigger rules."),
    ("an administrator changes no quality checklist", [],
     lambda s: (s.world.admin, sd.SetQualityChecklist(ITEMS)), Forbidden,
     "Only a quality reviewer may change the checklist."),
    ("an agent drafts no article", [],
     lambda s: (s.world.agent, sk.DraftArticle(Kind.ARTICLE, PUBLIC)), Forbidden, EDITORS_ONLY),
    ("the system drafts no article either (an editor signs it)", [],
     lambda s: (SYSTEM, sk.DraftArticle(Kind.ARTICLE, PUBLIC)), Forbidden, EDITORS_ONLY),
    ("an agent revises no article", [drafted],
     lambda s: (s.world.agent, sk.ReviseArticle(a(s, "article"), 1, PUBLIC)), Forbidden,
     EDITORS_ONLY),
    ("a curator submits nothing", [drafted],
     lambda s: (s.world.curator, sk.SubmitArticle(a(s, "article"))), Forbidden, EDITORS_ONLY),
    ("an agent approves nothing", [submitted],
     lambda s: (s.world.agent, sk.ApproveArticle(a(s, "article"))), Forbidden, EDITORS_ONLY),
    ("its author does not review his own revision", [submitted],
     lambda s: (s.world.methodologist, sk.ApproveArticle(a(s, "article"))), Forbidden,
     "A second methodologist reviews"),
    ("an agent sends nothing back", [submitted],
     lambda s: (s.world.agent, sk.SendBackArticle(a(s, "article"), "Нет")), Forbidden,
     EDITORS_ONLY),
    ("an agent publishes nothing", [approved],
     lambda s: (s.world.agent, sk.PublishArticle(a(s, "article"))), Forbidden, EDITORS_ONLY),
    ("a methodologist does not set the review rule", [],
     lambda s: (s.world.methodologist, sk.SetReviewRule(ReviewRule.SELF_PUBLISH)), Forbidden,
     ADMINS_ONLY),
    ("a review rule set on another version conflicts", [self_publishing],
     lambda s: (s.world.admin, sk.SetReviewRule(ReviewRule.SECOND_REVIEWER, 7)), DeskError,
     "you saw version 7"),
    ("while a second reviewer is required, nobody publishes unreviewed", [drafted],
     lambda s: (s.world.methodologist, sk.SelfPublishArticle(a(s, "article"))), Forbidden,
     "This desk requires a second methodologist's review"),
    ("an agent publishes nothing unreviewed either", [self_publishing, drafted],
     lambda s: (s.world.agent, sk.SelfPublishArticle(a(s, "article"))), Forbidden,
     EDITORS_ONLY),
    ("an agent archives nothing", [drafted],
     lambda s: (s.world.agent, sk.ArchiveArticle(a(s, "article"))), Forbidden, EDITORS_ONLY),
    ("a requester finds no unpublished article to find helpful", [drafted],
     lambda s: (s.world.requester, sk.MarkHelpful(a(s, "article"))), NotFound,
     "No such article."),
    ("an auditor raises no knowledge gap", [],
     lambda s: (s.world.auditor, sk.RaiseKnowledgeGap("Нет статьи", "Нет", uuid4(),
                                                      (s.ticket,))),
     Forbidden, "Knowledge gaps are raised by the support staff."),
    ("an agent does not review quality", [resolved],
     lambda s: (s.world.agent, sq.ReviewQuality(s.ticket, {"correct": 2})), Forbidden,
     "Only a quality reviewer may review requests."),
    ("another group's agent does not follow up", [followed_up],
     lambda s: (s.world.engineer, sq.FinishFollowUp(s.ticket, int(s.found["rated"]), "Я")),
     Forbidden, "Only the group's lead (or, without one, its agents) or a quality reviewer"),
    ("people do not send the follow-up process's command", [rated_low],
     lambda s: (s.world.agent, sq.RaiseFollowUp(s.ticket, int(s.found["rated"]), 1)),
     Forbidden, UNLISTED.message),
    ("an agent plans no release", [],
     lambda s: (s.world.agent, sr.PlanRelease(scope(s))), Forbidden, PLANNERS_ONLY),
    ("a release needs its categories or words", [],
     lambda s: (s.world.admin, sr.PlanRelease(Scope("ЕИС 14.2", RELEASE_DAY))), InvalidInput,
     "Say which categories or words"),
    ("a release edited on another version conflicts", [planned],
     lambda s: (s.world.admin, sr.EditRelease(a(s, "release"), scope(s, "ЕИС 15"), 7)),
     DeskError, "you saw version 7"),
    ("a line-2 engineer adds no question (line 1 prepares them)", [planned],
     lambda s: (s.world.engineer, sr.AddReleaseQuestion(a(s, "release"), "Вопрос?", ("х",))),
     Forbidden, "Only line 1 and the release's planners add questions."),
    ("a requester adds no question", [planned],
     lambda s: (s.world.requester, sr.AddReleaseQuestion(a(s, "release"), "Вопрос?", ("х",))),
     Forbidden, PLANNERS_ONLY),
    ("a question needs a keyword to be found", [planned],
     lambda s: (s.world.agent, sr.AddReleaseQuestion(a(s, "release"), "Вопрос?", (" ",))),
     InvalidInput, "at least one keyword"),
    ("an agent links no article", [asked, drafted],
     lambda s: (s.world.agent, sr.LinkQuestionArticle(a(s, "release"), a(s, "question"),
                                                      a(s, "article"))),
     Forbidden, PLANNERS_ONLY),
    ("a methodologist sets no trigger through a release", [planned],
     lambda s: (s.world.methodologist, sr.AddReleaseWatch(a(s, "release"), "Подпись",
                                                          Criteria(words=("подпис",)), 5)),
     Forbidden, "Only administrators and analysts set the trigger rules."),
    ("a watched trigger needs a category, a field or words", [planned],
     lambda s: (s.world.admin, sr.AddReleaseWatch(a(s, "release"), "Пусто", Criteria(), 5)),
     InvalidInput, "A rule needs a category"),
    ("an agent stops watching nothing", [watched],
     lambda s: (s.world.agent, sr.RemoveReleaseWatch(a(s, "release"), a(s, "rule"))),
     Forbidden, "Only administrators and analysts set the trigger rules."),
]  # fmt: skip


@pytest.mark.parametrize(("story", "given", "when", "error", "message"), REFUSED,
                         ids=[r[0] for r in REFUSED])  # fmt: skip
def test_when_a_set_up_command_is_refused_then_nothing_is_recorded(
    scene: Scene, story: str, given: list[Step], when: When, error: type[DeskError], message: str
) -> None:
    assert message in refused_story(scene.desk, scene, given, when, error).message


def test_every_set_up_command_has_a_story_and_a_refusal(scene: Scene) -> None:
    scene.found["article"] = uuid4()
    scene.found["rated"] = scene.found["view"] = uuid4()
    scene.found["release"] = scene.found["question"] = scene.found["rule"] = uuid4()
    told = {type(when(scene)[1]) for _, _, when, _ in RECORDED}
    assert told == set(COMMANDS), f"untold: {set(COMMANDS) - told}"
    refusals = {type(when(scene)[1]) for _, _, when, _, _ in REFUSED}
    assert refusals == set(COMMANDS), f"never refused: {set(COMMANDS) - refusals}"


# -- the policy: a line for every command, consulted before anything else ---------------------
def commands_without_a_line() -> list[str]:
    """Every registered command whose `policy` has no line in SETUP_POLICY (or that names
    none at all)."""
    return sorted(c.__name__ for c in COMMANDS if getattr(c, "policy", None) not in SETUP_POLICY)


def test_every_registered_command_has_its_line_in_the_policy() -> None:
    assert commands_without_a_line() == []
    incident = {c.policy for c in INCIDENT_COMMANDS}  # incident commands ask the same policy
    assert incident <= set(SETUP_POLICY), "an incident command without a line"
    used = {c.policy for c in COMMANDS} | incident
    assert used == set(Setup) == set(SETUP_POLICY), "a line unused"


def test_a_command_without_a_line_is_named_and_refused_to_everyone(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(SETUP_POLICY, Setup.FORM_GROUP)
    assert commands_without_a_line() == ["FormGroup"]
    with refused(scene.desk, Forbidden) as info:
        scene.desk.handle(SYSTEM, sp.FormGroup("Линия 4", GroupKind.LINE_3))
    assert info.value.message == UNLISTED.message


def test_the_policy_is_asked_before_anything_is_loaded(scene: Scene) -> None:
    """An agent naming an account that does not exist is refused, not told it does not exist."""
    with refused(scene.desk, Forbidden) as info:
        scene.desk.handle(scene.world.agent, sp.DisableAccount(uuid4()))
    assert info.value.message == ADMINS_ONLY


def test_a_command_that_changes_nothing_writes_nothing_and_answers_the_log_head(
    scene: Scene,
) -> None:
    before = position(scene.desk)
    written = scene.desk.handle(scene.world.admin, sp.EnableAccount(uid(scene.world.agent)))
    assert (written.position, position(scene.desk)) == (before, before)

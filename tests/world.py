"""A small support desk to tell stories against: the cast and the set of every test."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain.access import Actor
from domain.category import FieldSpec, FieldType
from domain.desk import SYSTEM, Desk
from domain.people import GroupKind, Role
from domain.results import FiledTicket

CONTRACT_FORM = (
    FieldSpec(
        "contract_number",
        "Реестровый номер контракта",
        "Contract registry number",
        FieldType.REGISTRY_NUMBER,
        required=True,
    ),
    FieldSpec("signed_on", "Дата подписания", "Date signed", FieldType.DATE),
    FieldSpec("amount", "Сумма", "Amount", FieldType.NUMBER),
    FieldSpec("law", "Закон", "Law", FieldType.CHOICE, choices=("44-FZ", "223-FZ")),
)


@dataclass
class World:
    desk: Desk
    org: UUID
    other_org: UUID
    line1: UUID
    line2: UUID
    line3: UUID
    contracts: UUID
    requester: Actor
    colleague: Actor  # same organisation as the requester
    stranger: Actor  # another organisation's requester
    agent: Actor  # line 1
    engineer: Actor  # line 2
    developer: Actor
    methodologist: Actor
    quality: Actor
    curator: Actor
    auditor: Actor
    admin: Actor

    @classmethod
    def build(cls, desk: Desk) -> World:
        org = desk.register_organisation(SYSTEM, "ГКУ Заказчик", "7707083893").id
        other = desk.register_organisation(SYSTEM, "ООО Поставщик", "500100732259").id
        groups = {
            kind: desk.form_group(SYSTEM, kind.value, kind).id
            for kind in (
                GroupKind.LINE_1,
                GroupKind.LINE_2,
                GroupKind.LINE_3,
                GroupKind.DEVELOPMENT,
                GroupKind.METHODOLOGY,
            )
        }

        def person(
            login: str, role: Role, org_id: UUID | None = None, group: GroupKind | None = None
        ) -> Actor:
            account = desk.register_account(SYSTEM, login, login.title(), (role,), org_id).id
            if group is not None:
                desk.add_to_group(SYSTEM, account, groups[group])
            return desk.actor_for(account)

        contracts = desk.define_category(
            SYSTEM,
            "Реестр контрактов",
            "Contracts register",
            CONTRACT_FORM,
            default_group_id=groups[GroupKind.LINE_1],
        ).id
        return cls(
            desk=desk,
            org=org,
            other_org=other,
            line1=groups[GroupKind.LINE_1],
            line2=groups[GroupKind.LINE_2],
            line3=groups[GroupKind.LINE_3],
            contracts=contracts,
            requester=person("ivanova", Role.REQUESTER, org),
            colleague=person("petrov", Role.REQUESTER, org),
            stranger=person("sidorov", Role.REQUESTER, other),
            agent=person("agent1", Role.AGENT, group=GroupKind.LINE_1),
            engineer=person("engineer2", Role.AGENT, group=GroupKind.LINE_2),
            developer=person("dev", Role.DEVELOPER, group=GroupKind.DEVELOPMENT),
            methodologist=person("method", Role.METHODOLOGIST, group=GroupKind.METHODOLOGY),
            quality=person("quality", Role.QUALITY),
            curator=person("curator", Role.CURATOR),
            auditor=person("auditor", Role.AUDITOR),
            admin=person("admin", Role.ADMIN),
        )

    def file(self, subject: str = "Контракт не публикуется", **fields: str) -> FiledTicket:
        values = {"contract_number": "1234567890123456789", **fields}
        return self.desk.file_ticket(
            self.requester, self.contracts, subject, "При публикации ошибка подписи.", values
        )

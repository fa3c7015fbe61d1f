"""A ticket's history as staff and as the requester see it, and search in Russian and English."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.access import Actor
from domain.results import FiledTicket
from domain.ticket import Attachment
from projections.search import search
from projections.system import Projections
from projections.timeline import timeline
from tests.world import World

SHA = "0" * 64


def test_staff_see_everything_the_requester_sees_only_what_is_his(
    world: World, projections: Projections
) -> None:
    d, agent, engineer = world.desk, world.agent, world.engineer
    filed = world.file(subject="Контракт не подписывается")
    d.note(agent, filed.id, "Клиент третий раз с этим, проверить токен")
    d.attach(agent, filed.id, Attachment("log.txt", 10, SHA, "text/plain", internal=True))
    d.transfer(agent, filed.id, world.line1, "Перекинуть на старшего", engineer.id)
    d.escalate(agent, filed.id, world.line2, "Похоже на сбой сервиса подписи")
    d.request_information(engineer, filed.id, ("signed_on",), ("Какой браузер?",), "Уточните")
    d.provide_information(world.requester, filed.id, {"signed_on": "2024-05-01"}, ("Chrome",))
    d.attach(world.requester, filed.id, Attachment("скрин.png", 20, SHA, "image/png"))
    d.reply(engineer, filed.id, "Сервис починили, попробуйте снова")
    last = d.resolve(engineer, filed.id, "Исправлено")
    projections.catch_up()
    with projections.db.read() as tx:
        staff = timeline(tx, str(filed.id), staff=True)
        public = timeline(tx, str(filed.id), staff=False)
        later = timeline(tx, str(filed.id), staff=False, after_version=8)
        nobody = timeline(tx, "no-such-ticket", staff=True)

    assert [e.event for e in staff] == [
        "Filed", "Assigned", "NoteAdded", "AttachmentAdded", "Transferred", "Escalated",
        "InformationRequested", "InformationProvided", "AttachmentAdded", "Replied", "Resolved",
    ]  # fmt: skip
    assert [e.version for e in staff] == list(range(1, 12))
    assert staff[-1].position == last.position
    assert [e.position for e in staff] == sorted(e.position for e in staff)
    assert [e.internal for e in staff] == [False, True, True, True] + [False] * 7
    assert staff[2].data["body"] == "Клиент третий раз с этим, проверить токен"
    assert staff[4].data["reason"] == "Перекинуть на старшего"
    assert staff[4].data["to_assignee_id"] == str(engineer.id)
    assert staff[5].data == {
        "by": str(agent.id), "from_line": 1, "to_line": 2, "to_group_id": str(world.line2),
        "reason": "Похоже на сбой сервиса подписи",
    }  # fmt: skip
    assert staff[4].actor_id == str(agent.id) and staff[0].actor_id is None

    assert [e.event for e in public] == [
        "Filed", "Transferred", "Escalated", "InformationRequested", "InformationProvided",
        "AttachmentAdded", "Replied", "Resolved",
    ]  # fmt: skip
    redacted = {e.event: e.data for e in public if e.event in ("Transferred", "Escalated")}
    assert redacted == {"Transferred": {}, "Escalated": {"from_line": 1, "to_line": 2}}
    assert not any("reason" in e.data or "токен" in str(e.data) for e in public)
    assert public[5].data["attachment"]["name"] == "скрин.png"
    assert public[4].data["values"] == {"signed_on": "2024-05-01"}
    assert [e.event for e in later] == ["AttachmentAdded", "Replied", "Resolved"]
    assert nobody == []


@pytest.fixture
def desk_of_words(world: World, projections: Projections) -> dict[str, FiledTicket]:
    d = world.desk
    values: dict[str, Any] = {"contract_number": "1234567890123456789"}
    ours = d.file_ticket(world.requester, world.contracts, "Ошибка подписи контракта",
                         "При отправке ошибка подписи.", values)  # fmt: skip
    d.reply(world.agent, ours.id, "Проверьте сертификаты в личном кабинете")
    d.note(world.agent, ours.id, "Внутренний обходной приём: перевыпуск ключа")
    theirs = d.file_ticket(world.stranger, world.contracts, "Signature rejected",
                           "The contract signatures are rejected by a portal", values)  # fmt: skip
    d.write(world.stranger, theirs.id, "Certificates were renewed yesterday")
    colleague = d.file_ticket(world.colleague, world.contracts, "Реестр не открывается",
                              "Пустая страница реестра", values)  # fmt: skip
    projections.catch_up()
    return {"ours": ours, "theirs": theirs, "colleague": colleague}


def found(projections: Projections, actor: Actor, query: str) -> list[int]:
    with projections.db.read() as tx:
        return [number for _, number in search(tx, actor, query)]


def test_search_finds_other_word_forms_in_both_languages(
    world: World, projections: Projections, desk_of_words: dict[str, FiledTicket]
) -> None:
    ours, theirs = desk_of_words["ours"].number, desk_of_words["theirs"].number
    colleague = desk_of_words["colleague"].number
    agent = world.agent
    assert found(projections, agent, "сертификатов") == [ours]  # the reply said "сертификаты"
    assert found(projections, agent, "подписей") == [ours]  # "подписи"
    assert found(projections, agent, "ОШИБКУ Подписи") == [ours]
    assert found(projections, agent, "реестре") == [colleague]
    assert found(projections, agent, "signature") == [theirs]  # "signatures", "Signature"
    assert found(projections, agent, "certificate") == [theirs]  # "Certificates"
    assert found(projections, agent, "rejecting") == [theirs]
    assert found(projections, agent, "контрактов") == [ours]
    assert found(projections, agent, "contracts") == [theirs]
    # Snowball stems "подписал" to "подписа" but "подписи" to "подпис": no match, on both.
    assert found(projections, agent, "подписал") == []
    assert found(projections, agent, "ошибка сертификатов") == [ours]  # every word must occur
    assert found(projections, agent, "ошибка signature") == []
    assert found(projections, agent, "перевыпуск ключа") == [ours]  # staff search notes too
    # Stop words and bare punctuation are not required to occur, on either backend.
    assert found(projections, agent, "ошибка и подписи") == [ours]
    assert found(projections, agent, "a signature of the contract") == [theirs]
    assert found(projections, agent, "подписи _ ²") == [ours]
    assert found(projections, agent, "и the") == []


def test_a_requester_finds_only_public_text_of_his_organisation(
    world: World, projections: Projections, desk_of_words: dict[str, FiledTicket]
) -> None:
    ours, theirs = desk_of_words["ours"].number, desk_of_words["theirs"].number
    colleague = desk_of_words["colleague"].number
    assert found(projections, world.requester, "подписи") == [ours]
    assert found(projections, world.requester, "сертификаты") == [ours]
    assert found(projections, world.requester, "перевыпуск") == []  # the internal note
    assert found(projections, world.requester, "обходной приём") == []
    assert found(projections, world.requester, "signatures") == []  # another organisation's
    assert found(projections, world.requester, "реестр") == [colleague]
    assert found(projections, world.colleague, "подписи") == [ours]
    assert found(projections, world.stranger, "подписи") == []
    assert found(projections, world.stranger, "signatures certificates") == [theirs]
    assert found(projections, world.stranger, "ключа") == []
    assert found(projections, Actor.visitor(desk_of_words["ours"].id), "подписи") == []
    assert found(projections, Actor.visitor(), "подписи") == []


GARBAGE = [
    "", "   ", "\n\t", "!!!", "?", '"', '""', "'", "''", "AND", "OR", "NOT", "AND OR NOT",
    "* \" ( )", "подпис*", '"подписи', "подписи)", "(", ")", "()", "NEAR(подписи ошибка)",
    "public: подписи", "internal : ключа", "{public internal}: ключа", "-подписи", "^ошибка",
    "a:b", "\\", "%", "_", "__init__", "'; DROP TABLE v_search; --", "ё", "²", "🙂", "\x00",
    "e\u0301", "ошибка AND OR NOT подписи", "x" * 5000, "подписи " * 3000, "a" * 100_000,
    " ".join(f"слово{i}" for i in range(2000)),
]  # fmt: skip


def test_odd_queries_never_raise(
    world: World, projections: Projections, desk_of_words: dict[str, FiledTicket]
) -> None:
    visible = {desk_of_words["ours"].number, desk_of_words["colleague"].number}
    failures: list[tuple[str, str]] = []
    results: dict[str, list[int]] = {}
    for query in GARBAGE:
        for actor in (world.agent, world.requester):
            try:
                result = found(projections, actor, query)
            except Exception as e:  # collected, so one run names every query that breaks
                failures.append((query[:30], repr(e)))
                continue
            assert len(result) == len(set(result))
            assert actor.is_staff or set(result) <= visible, query
            results[query] = result
    assert failures == []
    assert {q: results[q] for q in ("", "!!!", "AND OR NOT", "* \" ( )", "_", "\x00")} == {
        "": [], "!!!": [], "AND OR NOT": [], "* \" ( )": [], "_": [], "\x00": [],
    }  # fmt: skip
    ours = [desk_of_words["ours"].number]
    assert results["подписи)"] == results['"подписи'] == results["-подписи"] == ours
    assert results["NEAR(подписи ошибка)"] == []  # "near" is an ordinary word, and absent
    assert results["подписи " * 3000] == results["ошибка AND OR NOT подписи"] == ours


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text(max_size=60))
def test_any_text_is_a_query(
    world: World, projections: Projections, desk_of_words: dict[str, FiledTicket], query: str
) -> None:
    """Search is read-only, so the examples may share one desk."""
    visible = {desk_of_words["ours"].number, desk_of_words["colleague"].number}
    assert set(found(projections, world.requester, query)) <= visible
    assert len(found(projections, world.agent, query)) <= 3


def test_a_long_ticket_is_indexed_text_by_text_and_a_rebuild_equals_it(
    world: World, projections: Projections
) -> None:
    """Each message adds its own words to the ticket's index (the earlier text is not read
    again); written one batch at a time or replayed in one batch, the index is the same, and a
    query's words may come from any of the ticket's messages."""
    d, agent = world.desk, world.agent
    filed = world.file(subject="Контракт не подписывается")  # "...ошибка подписи."
    projections.catch_up()
    for i in range(30):
        d.reply(
            agent, filed.id, f"Ответ номер {i}: проверьте сертификат" + (" реестра" * (i == 29))
        )
        if i % 10 == 0:
            d.note(agent, filed.id, f"Заметка {i}: перевыпуск ключа")
        projections.catch_up()  # a batch per message, as live
    view = projections.runner("search").view
    with projections.db.read() as tx:
        live = sorted(map(tuple, tx.all(f"SELECT * FROM {view.tables[0]}")), key=repr)
    assert found(projections, agent, "контракт реестре подписи") == [filed.number]
    assert found(projections, agent, "перевыпуск реестра") == [filed.number]
    assert found(projections, world.requester, "контракт реестре") == [filed.number]
    assert found(projections, world.requester, "перевыпуск") == []  # the notes are internal

    projections.runner("search").rebuild()  # the whole log in one batch
    with projections.db.read() as tx:
        again = sorted(map(tuple, tx.all(f"SELECT * FROM {view.tables[0]}")), key=repr)
    assert again == live
    assert found(projections, agent, "контракт реестре подписи") == [filed.number]

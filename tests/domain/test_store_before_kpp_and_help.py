"""A store written before organisations had a KPP and addresses and categories' fields had help
texts (issue 18) still verifies, loads and takes the new commands.

tests/domain/old_stores/store_before_kpp_and_help.jsonl holds the stored rows (topic and state
bytes as written) of an organisation, a group, a requester, a category defined and its form
changed, and a request, made by the code of commit 48bf218^ (before either change). The new fields
are an organisation event's defaulted fields (an old event decodes without them, exactly as stored
and hashed) and a new category event with a new aggregate attribute (`Category.class_version` 2 and
`upcast_v1_v2` for an older snapshot); no stored field changed shape, so every chain holds."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import orjson
import pytest
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import StoredEvent

from domain.category import Category, FieldHelp
from domain.desk import SYSTEM, Desk
from domain.integrity import verify
from domain.people import Organisation
from domain.setup.categories import ChangeCategoryForm
from domain.setup.people import EditOrganisation
from tests.domain.support import memory_env

ROWS = Path(__file__).parent / "old_stores" / "store_before_kpp_and_help.jsonl"


@pytest.fixture
def old_store(tmp_path_factory: pytest.TempPathFactory) -> Desk:
    desk = Desk({k: v for k, v in memory_env(tmp_path_factory, "old").items()
                 if k != "SUZ_CHAIN_KEY"})  # fmt: skip  # the rows were stored unkeyed
    rows = [orjson.loads(line) for line in ROWS.read_text().splitlines()]
    desk.recorder.insert_events([
        StoredEvent(UUID(r["originator_id"]), r["originator_version"], r["topic"],
                    base64.b64decode(r["state"]))
        for r in rows
    ])  # fmt: skip
    return desk


def _ids(desk: Desk, topic: str) -> UUID:
    found = [n.originator_id for n in desk.recorder.select_notifications(start=1, limit=100)
             if n.topic == topic]  # fmt: skip
    assert len(found) == 1, topic
    return UUID(str(found[0]))


def test_the_old_store_verifies_and_loads_with_empty_kpp_addresses_and_help(
    old_store: Desk,
) -> None:
    report = verify(old_store)
    assert report.events == 10 and report.problems == []
    org = cast(Organisation, old_store.repository.get(
        _ids(old_store, "domain.people:Organisation.Registered")))  # fmt: skip
    assert (org.name, org.inn) == ("ГКУ «Центр закупок»", "7707083893")
    assert (org.kpp, org.legal_address, org.postal_address) == ("", "", "")
    category = cast(Category, old_store.repository.get(
        _ids(old_store, "domain.category:Category.Defined")))  # fmt: skip
    assert [s.key for s in category.form] == ["inn", "law", "kpp"] and category.help == ()


def test_the_new_commands_write_on_the_old_chains_and_the_store_still_verifies(
    old_store: Desk,
) -> None:
    org_id = _ids(old_store, "domain.people:Organisation.Registered")
    category_id = _ids(old_store, "domain.category:Category.Defined")
    address = "101000, г. Москва, ул. Мясницкая, д. 12"
    old_store.handle(
        SYSTEM, EditOrganisation(org_id, 1, "ГКУ «Центр закупок»", "770701001", address)
    )
    category = cast(Category, old_store.repository.get(category_id))
    help = (FieldHelp("inn", "10 цифр для организации", "10 digits"),
            FieldHelp("law", "", "  "))  # blank: no help for this one  # fmt: skip
    old_store.handle(SYSTEM, ChangeCategoryForm(category_id, category.form, 2, help))
    assert verify(old_store).problems == []
    category = cast(Category, old_store.repository.get(category_id))
    assert category.help == (FieldHelp("inn", "10 цифр для организации", "10 digits"),)
    org = cast(Organisation, old_store.repository.get(org_id))
    assert org.kpp == "770701001" and org.legal_address.startswith("101000")


def test_a_category_snapshot_of_version_1_upcasts_to_an_empty_help(old_store: Desk) -> None:
    category = old_store.repository.get(_ids(old_store, "domain.category:Category.Defined"))
    snapshot = Snapshot.take(category)
    state: dict[str, Any] = dict(snapshot.state)
    state.pop("help")  # as a snapshot taken before `help` existed holds it
    state["class_version"] = 1
    older = Snapshot(originator_id=snapshot.originator_id,
                     originator_version=snapshot.originator_version,
                     timestamp=snapshot.timestamp, topic=snapshot.topic, state=state)  # fmt: skip
    stored = old_store.mapper.to_stored_event(older)
    decoded: Any = old_store.mapper.to_domain_event(stored)
    assert cast(Category, decoded.mutate(None)).help == ()

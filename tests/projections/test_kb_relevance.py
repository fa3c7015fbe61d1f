"""The relevance of knowledge-base suggestions on the fixed set of scripts/kb_relevance_set.py
(the one `python -m scripts.bench_kb_relevance` measures), on both stores: every word form finds
its article first, the chosen category boosts and never filters, requesters are never offered an
internal article, and the sets' figures stay at least where they were recorded."""

from __future__ import annotations

from uuid import UUID

import pytest

from projections.knowledge import suggest
from projections.system import Projections
from scripts.kb_relevance_set import ARTICLES, QUESTIONS, Question, keys_of, measure, publish_all
from tests.world import World

Published = tuple[dict[str, UUID], dict[str, UUID]]


@pytest.fixture
def published(world: World, projections: Projections) -> Published:
    found = publish_all(world.desk, world.methodologist, world.admin)
    projections.catch_up()
    return found


def ask(projections: Projections, published: Published, text: str, *, staff: bool = False,
        category: str | None = None) -> list[str]:  # fmt: skip
    categories, ids = published
    with projections.db.read() as tx:
        found = suggest(tx, text, staff=staff,
                        category_id=str(categories[category]) if category else None)  # fmt: skip
    return keys_of(found, ids)


def test_each_word_form_finds_the_same_article_first(
    projections: Projections, published: Published
) -> None:
    for forms, article in [
        (("контракта исполнение", "контрактов исполнения", "контрактам исполнении",
          "контракт исполнением"), "contract_execution"),
        (("расторжение", "расторжения", "расторжением"), "contract_termination"),
        (("протокол", "протокола", "протоколов", "протоколами"), "protocol_upload"),
        (("certificate browser", "certificates browsers"), "cert_browser"),
    ]:  # fmt: skip
        offered = [ask(projections, published, form) for form in forms]
        assert all(o[:1] == [article] for o in offered), dict(zip(forms, offered, strict=True))
        assert all(set(o) == set(offered[0]) for o in offered), offered  # the same articles
    every = {f: ask(projections, published, f) for f in ("контракт", "контракта", "контрактов")}
    assert len({tuple(sorted(v)) for v in every.values()}) == 1, every
    assert "contract_execution" in every["контракт"]


def test_the_category_boosts_and_never_filters(
    projections: Projections, published: Published
) -> None:
    notices = ask(projections, published, "ошибка подписи", category="notices")
    contracts = ask(projections, published, "ошибка подписи", category="contracts")
    assert notices[0] == "notice_signature" and "sign_contract" in notices, notices
    assert contracts[0] == "sign_contract" and "notice_signature" in contracts, contracts
    plans = ask(projections, published, "внести изменения", category="plans")
    assert plans[0] == "plan_change" and "contract_changes" in plans, plans
    # an article of another category is offered, and first when it alone fits
    other = ask(projections, published, "не загружается файл протокола", category="contracts")
    assert other[0] == "protocol_upload", other
    unknown = ask(projections, published, "файл протокола", category=None)
    assert unknown[0] == "protocol_upload"


def test_requesters_never_get_internal_articles_and_the_figures_hold(
    projections: Projections, published: Published
) -> None:
    internal = {k for k, a in ARTICLES.items() if a.audience.value == "internal"}
    for text in ("переотправить контракт в казначейство", "сбой выгрузки плана-графика",
                 "resend the contract to the treasury"):  # fmt: skip
        assert not internal & set(ask(projections, published, text)), text
        assert internal & set(ask(projections, published, text, staff=True)), text
    for category in ("contracts", "plans"):
        offered = ask(projections, published, "казначейство выгрузка", category=category)
        assert not internal & set(offered), offered

    def asked(q: Question) -> list[str]:
        return ask(projections, published, q.text, staff=q.staff, category=q.category)

    figures = measure(asked)
    assert set(figures) == set(QUESTIONS)
    assert all(f.leaks == 0 for f in figures.values())
    # recorded in docs/performance.md (knowledge base: relevance); lower means a regression
    for name, f in figures.items():
        assert f.precision_at_k == 1.0, (name, f.misses)
        assert f.mrr >= 0.94, (name, f.mrr, f.misses)

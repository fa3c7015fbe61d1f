"""A NUL byte already in the log (written before the edge refused it; the chain keeps it forever)
is projected, not a view stalled: PostgreSQL text cannot hold NUL, so every view writes U+FFFD in
its place; SQLite keeps the text as it is."""

from __future__ import annotations

from domain.article import Audience, Content, Kind
from domain.settings import Settings
from projections.search import search
from projections.system import Projections
from projections.timeline import timeline
from tests.world import World

NUL = "\x00"


def test_every_view_projects_a_request_and_an_article_holding_nul(
    world: World, projections: Projections, settings: Settings
) -> None:
    d = world.desk
    filed = d.file_ticket(
        world.requester, world.contracts, f"Контракт{NUL}не публикуется",
        f"Ошибка{NUL}подписи", {"contract_number": "1234567890123456789"},
    )  # fmt: skip
    d.reply(world.agent, filed.id, f"Проверьте{NUL}сертификаты")
    d.note(world.agent, filed.id, f"Внутренняя{NUL}заметка")
    content = Content(f"Ошибка{NUL}подписи", "Signature error", f"Обновите{NUL}сертификат",
                      "Renew the certificate", Audience.PUBLIC)  # fmt: skip
    article = d.draft_article(world.methodologist, Kind.ARTICLE, content).id
    d.submit_article(world.methodologist, article)
    d.review_article(world.admin, article, True)
    d.publish_article(world.methodologist, article)
    after = world.file(subject="Следующая заявка")

    projections.catch_up()  # today on PostgreSQL: "PostgreSQL text fields cannot contain NUL"

    assert projections.wait_for(after.position, timeout=0.1), "every view reached the end"
    shown = NUL if settings.database_url is None else "\ufffd"
    with projections.db.read() as tx:
        subject = tx.one("SELECT subject FROM v_tickets WHERE id = %s", (str(filed.id),))
        assert subject == (f"Контракт{shown}не публикуется",)
        assert tx.one("SELECT subject FROM v_tickets WHERE id = %s", (str(after.id),)) == (
            "Следующая заявка",
        )
        staff = [e.event for e in timeline(tx, str(filed.id), staff=True)]
        assert staff == ["Filed", "Assigned", "Replied", "NoteAdded"]
        assert search(tx, world.agent, "сертификаты") == [(str(filed.id), filed.number)]

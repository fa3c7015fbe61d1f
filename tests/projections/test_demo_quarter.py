"""The demo (`suz demo`): today's small desk as before, and a quarter scaled down to 500 requests
through the same generator, on SQLite and PostgreSQL: nothing refused, the log in date order
and its chains intact, and the views' figures meaningful (several lines and channels, ratings,
SLA breaches, incidents, articles, knowledge gaps, quality reviews)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from eventsourcing.utils import get_topic

from domain.demo import load_demo
from domain.demo_quarter import QUARTER_DAYS
from domain.desk import Desk
from domain.integrity import verify
from domain.ticket import Ticket
from projections import analytics_queries as aq
from projections import incidents as incident_queries
from projections import kb_queries, quality
from projections.system import Projections


def test_the_small_demo_loads_as_before(desk: Desk, capsys: pytest.CaptureFixture[str]) -> None:
    assert load_demo(desk)
    printed = capsys.readouterr().out
    assert "demo data loaded" in printed and "quarter" not in printed
    assert desk.account_by_login("agent1") is not None
    filed = desk.recorder.select_notifications(start=1, limit=10_000,
                                               topics=[get_topic(Ticket.Filed)])  # fmt: skip
    tickets = {n.originator_id for n in filed}
    assert 10 <= len(tickets) <= 20  # today's few stories, no quarter
    assert not load_demo(desk, only_if_empty=True)  # a store with data is left alone


def test_a_scaled_down_quarter_shows_figures_on_every_report(
    desk: Desk, projections: Projections, capsys: pytest.CaptureFixture[str]
) -> None:
    before = datetime.now(UTC)
    assert load_demo(desk, quarter=500, seed=7)
    printed = capsys.readouterr().out
    assert "refused" not in printed, printed  # every generated command was accepted
    # ~500 requests: how many the days of the window hold (working days, the incidents'
    # bursts) depends on the day and hour it runs (499 at 16:58 UTC on 2026-12-04)
    counted = re.search(r"the quarter: (\d+) requests", printed)
    assert counted and 450 <= int(counted.group(1)) <= 600, printed

    head = desk.recorder.max_notification_id() or 0
    stamps = [cast(Any, desk.mapper.to_domain_event(n)).timestamp
              for n in desk.recorder.select_notifications(start=1, limit=head)]  # fmt: skip
    assert len(stamps) == head > 4000
    history = [t for t in stamps if t < before]
    assert history == sorted(history) and history == stamps[: len(history)]  # in date order
    assert len(history) > 4000  # the quarter, then today's stories
    assert stamps[0] < before - timedelta(days=QUARTER_DAYS)
    assert verify(desk).problems == []  # backdated and bulk-written, every chain holds

    projections.catch_up()
    start, end = (before - timedelta(days=QUARTER_DAYS)).date(), before.date()
    with projections.db.read() as tx:
        by_line = aq.report(tx, start, end, "line")
        by_channel = aq.report(tx, start, end, "channel")
        by_month = aq.report(tx, start, end, "month")
        by_org = aq.report(tx, start, end, "organisation")
        incidents = incident_queries.incidents(tx, ("resolved",))
        kb = kb_queries.kb_figures(tx, start, end)
        gaps = kb_queries.gap_figures(tx)
        reviews = quality.reviews(tx)
    total = by_line.total
    assert total.filed >= 480
    assert {r.key for r in by_line.rows} >= {"1", "2", "3"}  # escalated to lines 2 and 3
    assert {r.key for r in by_channel.rows} >= {"cabinet", "email", "phone", "public_form"}
    assert len(by_month.rows) >= 3  # three months of figures
    assert total.line1_share is not None and 0.5 < total.line1_share < 0.95
    assert total.rated > 100 and total.csi is not None and 3.5 < total.csi < 5
    assert total.sla_compliance is not None and 0.7 < total.sla_compliance < 1  # breaches
    assert total.reopened > 0 and total.info_requests > 0
    assert by_line.backlog  # the last days' requests are still open
    assert incidents, "no mass incident"
    assert kb.deflections > 0 and kb.articles and kb.used_in_replies > 0  # answer templates
    assert gaps.raised > 0
    assert reviews
    assert len(by_org.rows) >= 5  # many organisations, with valid INNs (else refused above)

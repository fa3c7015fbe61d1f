"""Notifications out (issue 16), end to end: 10,000 public replies written through the desk on
PostgreSQL, each a notification that the pump's notifications view puts in the outbox in its
own transaction and the mail sender (processes/mail_sender.py) renders, threads and hands to a
local aiosmtpd (tests/mail/smtp_server.py's, in a child process), a batch per connection.

Prints letters/s (from the first reply to the last acceptance) and the delay from each event
(its timestamp, taken when the command decided it) to the SMTP server's acceptance of its
letter (recorded when the batch's send returns), p50/p99. On a 2-CPU machine the writers, the
pump, the sender, PostgreSQL and the SMTP server share the CPUs: the writers are not throttled,
so the delay includes the queue the sender finds behind a burst.

    .venv/bin/python -m scripts.bench_mail [--replies 10000] [--requesters 50] [--writers 4]
        [--rate R]   (R replies a second: the delay at a steady rate rather than after a burst)
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from domain.desk import SYSTEM
from domain.people import GroupKind, Role
from processes.mail_sender import MailSender
from projections import notification_queries as nq
from scripts.bench_machine import DEFAULT_PG_URL, bench_desk, ms, pct, print_machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=10_000)
    parser.add_argument("--requesters", type=int, default=50)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--rate", type=float, default=0.0,
                        help="replies a second in all (0: as fast as the writers go)")  # fmt: skip
    parser.add_argument("--url", default=os.environ.get("SUZ_BENCH_PG_URL", DEFAULT_PG_URL))
    args = parser.parse_args()
    print_machine(args.url)
    child = subprocess.Popen(
        [sys.executable, "-m", "scripts.bench_mail_send", "--serve"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout is not None and child.stdin is not None
    smtp_url = child.stdout.readline().strip()
    try:
        with bench_desk(args.url, "bench_mail") as b:
            run(b, smtp_url, args)
    finally:
        child.stdin.close()
        received = child.stdout.readline().strip()
        child.wait(timeout=30)
    print(f"the SMTP server received {received} letters")


def run(b: object, smtp_url: str, args: argparse.Namespace) -> None:
    desk, projections = b.desk, b.projections  # type: ignore[attr-defined]
    settings = dataclasses.replace(projections.settings, smtp_url=smtp_url,
                                   mail_from="Support <support@desk.example.ru>")  # fmt: skip
    org = desk.register_organisation(SYSTEM, "ГКУ Заказчик", "7707083893").id
    line1 = desk.form_group(SYSTEM, "Линия 1", GroupKind.LINE_1).id
    agent_id = desk.register_account(SYSTEM, "agent", "Агент", (Role.AGENT,)).id
    desk.add_to_group(SYSTEM, agent_id, line1)
    agent = desk.actor_for(agent_id)
    category = desk.define_category(SYSTEM, "Контракты", "Contracts", (), default_group_id=line1).id
    tickets = []
    for n in range(args.requesters):
        email = f"user{n}@example.org"
        account = desk.register_account(SYSTEM, f"user{n}", f"Пользователь {n}",
                                        (Role.REQUESTER,), org, email).id  # fmt: skip
        who = desk.actor_for(account)
        tickets.append(desk.file_ticket(who, category, f"Заявка {n}", "Ошибка подписи.", {}).id)
    projections.start()
    sender = MailSender(desk, projections.db, settings, projections.positions)
    sender.start()  # the acknowledgements (one per requester) go first, outside the figure
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with projections.db.read() as tx:
            if nq.counts(tx)["sent"] >= args.requesters:
                break
        time.sleep(0.2)
    base = args.requesters
    pace = f", paced at {args.rate:,.0f}/s" if args.rate else ""
    print(f"{args.replies:,} replies on {len(tickets)} requests, {args.writers} writers{pace}")
    started = time.time()

    def write(i: int) -> None:
        if args.rate:  # paced: reply i is due at i / rate seconds
            delay = started + i / args.rate - time.time()
            if delay > 0:
                time.sleep(delay)
        desk.reply(agent, tickets[i % len(tickets)], f"Ответ {i}: переподпишите контракт.")

    with ThreadPoolExecutor(args.writers) as pool:
        list(pool.map(write, range(args.replies)))
    written = time.time() - started
    print(f"written: {args.replies / written:,.0f} replies/s ({written:,.1f} s)")
    done = threading.Event()
    deadline = time.monotonic() + 600
    while not done.is_set() and time.monotonic() < deadline:
        with projections.db.read() as tx:
            counts = nq.counts(tx)
        if counts["sent"] - base >= args.replies:
            done.set()
        else:
            time.sleep(0.2)
    sender.stop()
    spent = sender.spent
    print(f"sender: compose {spent['compose']:,.1f} s, send {spent['send']:,.1f} s,"
          f" record {spent['record']:,.1f} s, {spent['ticks']:,.0f} ticks")  # fmt: skip
    with projections.db.read() as tx:
        counts = nq.counts(tx)
        rows = tx.all("SELECT sent_at, sent_at - committed_at FROM mail_outbox"
                      " WHERE state = 'sent' AND kind = 'replied'")  # fmt: skip
    last = max(float(r[0]) for r in rows)
    delays = [float(r[1]) for r in rows]
    print(f"outbox: {counts}")
    print(f"letters out: {len(delays) / (last - started):,.0f} letters/s "
          f"({len(delays):,} in {last - started:,.1f} s from the first reply)")  # fmt: skip
    print(f"event -> SMTP acceptance: p50 {ms(pct(delays, 50))} ms, p99 {ms(pct(delays, 99))} ms,"
          f" max {ms(max(delays))} ms")  # fmt: skip
    projections.stop()


if __name__ == "__main__":
    main()

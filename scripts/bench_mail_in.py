"""Letters in per second: the mail intake (web/mail_in.py) over PostgreSQL, as the IMAP poller
and `suz mail-in` drive it: parse, find the sender and the request, store the files, write.

A desk with one organisation and 200 accounts of it (each with an e-mail address) takes N
letters, one after another on one thread (the poller's way): half file new requests (a new
sender's first letter: a contact, its category's data asked at once), half are replies threaded
into those requests by the reply token (the common case once a desk runs), every tenth with a
40 KB attachment. Then every letter is delivered again (a mail server's retry): each must be
answered DUPLICATE and write nothing. Prints letters/s and per-letter latency percentiles, with
the machine and its load. Measured, not asserted.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from email.message import EmailMessage
from email.utils import make_msgid
from uuid import UUID

from tqdm import tqdm

from domain.people import Role
from domain.settings import Settings
from domain.tickets.commands import SYSTEM
from mail.imap import Outcome
from mail.threads import reply_address, reply_token
from scripts.bench_machine import DEFAULT_PG_URL, bench_desk, ms, pct, print_machine, table
from web.attachments import FileBlobStore
from web.mail_in import Intake

DESK = "support@desk.example.ru"


def letter(sender: str, subject: str, text: str, to: str = DESK, file: bool = False) -> bytes:
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = sender, to, subject
    m["Message-ID"] = make_msgid(domain="org.example.ru")
    m.set_content(text)
    if file:
        m.add_attachment(os.urandom(40_000), maintype="application", subtype="octet-stream",
                         filename="журнал.bin")  # fmt: skip
    return m.as_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--letters", type=int, default=2_000)
    parser.add_argument("--url", default=os.environ.get("SUZ_BENCH_PG_URL", DEFAULT_PG_URL))
    args = parser.parse_args()
    print_machine(args.url)
    with bench_desk(args.url, "bench_mail_in") as b:
        desk = b.desk
        org = desk.register_organisation(SYSTEM, "ГКУ Заказчик", "7707083893").id
        for i in range(200):
            desk.register_account(SYSTEM, f"person{i}", f"Сотрудник {i}", (Role.REQUESTER,), org,
                                  email=f"person{i}@org.example.ru")  # fmt: skip
        desk.define_category(SYSTEM, "Общие вопросы", "General", ())
        b.projections.catch_up()
        settings = replace(Settings(data_dir=b.tmp, database_url=args.url), mail_from=DESK,
                           mail_rate=1_000_000)  # fmt: skip
        intake = Intake(desk, b.projections.db, FileBlobStore.from_settings(settings), settings)
        sent: list[bytes] = []
        filed: list[UUID] = []
        took: list[float] = []
        half = args.letters // 2
        for i in tqdm(range(args.letters), desc="letters in", unit="letter"):
            if i < half:
                raw = letter(f"Гость {i} <guest{i}@mail.example.com>", f"Вопрос {i}",
                             "Не публикуется.\n\n-- \nС уважением", file=i % 10 == 0)  # fmt: skip
            else:
                token = reply_token(desk.mail_secret, filed[i - half])
                raw = letter(f"person{i % 200}@org.example.ru", "Re: вопрос", "Ошибка 500.",
                             to=reply_address(DESK, token), file=i % 10 == 0)  # fmt: skip
            start = time.perf_counter()
            receipt = intake.receive(raw)
            took.append(time.perf_counter() - start)
            assert receipt.outcome is Outcome.STORED, receipt
            if i < half:
                assert receipt.ticket_id is not None
                filed.append(receipt.ticket_id)
            sent.append(raw)
        again = []
        for raw in tqdm(sent, desc="re-delivered", unit="letter"):
            start = time.perf_counter()
            assert intake.receive(raw).outcome is Outcome.DUPLICATE
            again.append(time.perf_counter() - start)
    rows = []
    for name, values in (("new and threaded letters", took), ("re-deliveries", again)):
        rows.append([name, str(len(values)), f"{len(values) / sum(values):.0f}",
                     ms(pct(values, 50)), ms(pct(values, 95)), ms(pct(values, 99))])  # fmt: skip
    print(table(["letters", "n", "letters/s", "p50", "p95", "p99"], rows))


if __name__ == "__main__":
    main()

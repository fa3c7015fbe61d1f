"""Sending letters (issue 16): 2,000 letters written by mail/outgoing.py and handed over by
mail/smtp.py to a local aiosmtpd on one connection (`send_many`), round by round; for
comparison a few hundred with `send` (a connection per letter).

The server (tests/mail/smtp_server.py's, keeping every letter) runs in a child process, so it
does not share the sender's interpreter; on a 2-CPU machine they still share the CPUs. The
figure is what the sending end manages against a server that answers at once, not a real
relay's speed (a relay across a network adds its round trips per letter, and its own checks).

    .venv/bin/python -m scripts.bench_mail_send [--letters 2000] [--rounds 3] [--single 200]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

from mail.outgoing import Outgoing, build
from mail.smtp import SmtpTarget
from scripts.bench_machine import cpu_model, load
from tests.mail.smtp_server import running_server

SENDER = "Служба поддержки <support@desk.example.ru>"
TEXT = (
    "Здравствуйте!\n\nПо вашей заявке №{n} получен ответ специалиста:\n\n"
    "Переподпишите документ и опубликуйте контракт повторно. Если ошибка останется, "
    "пришлите снимок экрана.\n\nОтветить можно прямо на это письмо.\n"
)


def letter(n: int) -> Outgoing:
    return Outgoing(
        to=f"Иван Петров <user{n}@example.org>",
        subject=f"Re: Заявка №{n}: ошибка подписи контракта",
        text=TEXT.format(n=n),
        html="<p>" + TEXT.format(n=n).replace("\n\n", "</p><p>") + "</p>",
        message_id=f"<suz.{n:032x}.{n}@desk.example.ru>",
        in_reply_to=f"<suz.{n:032x}.1@desk.example.ru>",
        references=(f"<suz.{n:032x}.1@desk.example.ru>",),
        reply_to=f"support+tok{n}@desk.example.ru",
    )


def serve() -> None:
    """The child: a server until stdin closes; prints its URL, then how many letters came."""
    with running_server() as server:
        print(server.url, flush=True)
        sys.stdin.read()
        print(len(server.received), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--letters", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--single", type=int, default=200, help="letters sent one by one")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return

    print(f"{'CPU':>10}: {cpu_model()}, {os.cpu_count()} logical CPUs")
    print(f"{'Python':>10}: {platform.python_implementation()} {platform.python_version()}")
    print(f"{'load avg':>10}: {load()}")
    print()

    started = time.perf_counter()
    letters = [build(letter(n), SENDER) for n in range(args.letters)]
    built = time.perf_counter() - started
    size = sum(len(m.as_bytes()) for m in letters[:100]) / min(100, len(letters))
    print(f"build: {args.letters / built:,.0f} letters/s (about {size:,.0f} bytes each)")

    rates = []
    child = subprocess.Popen(
        [sys.executable, "-m", "scripts.bench_mail_send", "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    try:
        target = SmtpTarget.from_url(child.stdout.readline().strip(), helo="bench.test")
        for r in range(args.rounds):
            started, cpu = time.perf_counter(), time.process_time()
            results = target.send_many(letters)
            seconds = time.perf_counter() - started
            cpu_ms = (time.process_time() - cpu) / args.letters * 1000
            failed = sum(f is not None for f in results)
            rates.append(args.letters / seconds)
            print(
                f"round {r + 1}: send_many {args.letters} letters, one connection: "
                f"{seconds:.2f} s, {rates[-1]:,.0f} letters/s, sender's CPU {cpu_ms:.2f} ms "
                f"a letter, {failed} failed"
            )
        started = time.perf_counter()
        for m in letters[: args.single]:
            target.send(m)
        single = args.single / (time.perf_counter() - started)
        child.stdin.close()
        received = int(child.stdout.readline())
    finally:
        child.stdin.close()
        child.wait(timeout=30)
    assert received == args.letters * args.rounds + args.single, received
    print(f"send_many: median {statistics.median(rates):,.0f} letters/s over {args.rounds} rounds")
    print(f"send (a connection per letter): {single:,.0f} letters/s over {args.single}")
    print(f"{'load avg':>10}: {load()} (after)")


if __name__ == "__main__":
    main()

# mypy: ignore-errors
# (runs in the peer's venv under /tmp/peer-dh, with Django; this project's mypy cannot see it)
"""Seed data for the django-helpdesk peer benchmark (run with the peer's venv).

    seed.py base            admin user + API token, 5 queues, one ticket with
                            exactly 1,000 follow-ups, a pool of 200 tickets for
                            the follow-up benchmark; writes bench-state.json.
                            Idempotent: a second run changes nothing.
    seed.py bulk --total N  add tickets (each with its "Ticket Opened" follow-up,
                            as helpdesk itself writes one) until the ticket
                            table holds N rows; ORM bulk_create in batches.
    seed.py counts          print row counts.

Rows are written through the ORM (bulk_create), so they are exactly what
helpdesk's own models would store; no helpdesk view or signal is bypassed that
matters for reads (no custom fields, no checklists, no attachments).
"""

import argparse
import json
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

PEER_ROOT = Path(os.environ.get("PEER_DH_ROOT", "/tmp/peer-dh"))
sys.path.insert(0, str(PEER_ROOT / "project"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peerdh.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.sites.models import Site  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from helpdesk.models import FollowUp, Queue, Ticket  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

STATE_FILE = PEER_ROOT / "bench-state.json"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "peer-dh-admin-pw"  # local benchmark instance only
BIG_TICKET_TITLE = "[bench] ticket with 1000 follow-ups"
BIG_FOLLOWUPS = 1000
POOL_SIZE = 200
POOL_PREFIX = "[bench-pool] "
QUEUES = [
    ("Support", "support"),
    ("Billing", "billing"),
    ("Hardware", "hardware"),
    ("Network", "network"),
    ("Accounts", "accounts"),
]

WORDS = [
    "printer",
    "network",
    "invoice",
    "refund",
    "password",
    "reset",
    "laptop",
    "screen",
    "error",
    "login",
    "account",
    "billing",
    "vpn",
    "email",
    "outlook",
    "server",
    "backup",
    "restore",
    "disk",
    "slow",
    "crash",
    "update",
    "license",
    "access",
    "denied",
    "timeout",
    "customer",
    "order",
    "delivery",
    "shipment",
    "replacement",
    "warranty",
    "configuration",
    "firewall",
    "router",
    "wifi",
    "mobile",
    "app",
    "sync",
    "calendar",
    "meeting",
    "report",
    "export",
    "import",
    "database",
    "query",
    "permission",
    "role",
    "please",
    "urgent",
    "thanks",
    "regards",
    "hello",
    "issue",
    "problem",
    "again",
    "still",
    "since",
    "today",
]


def words(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def paragraph(rng, lo, hi):
    text = words(rng, rng.randint(lo, hi))
    return text[:1].upper() + text[1:] + "."


def status_for(rng):
    # 30 % open, 5 % reopened, 25 % resolved, 40 % closed
    r = rng.random()
    if r < 0.30:
        return Ticket.OPEN_STATUS
    if r < 0.35:
        return Ticket.REOPENED_STATUS
    if r < 0.60:
        return Ticket.RESOLVED_STATUS
    return Ticket.CLOSED_STATUS


def ensure_admin():
    User = get_user_model()
    user = User.objects.filter(username=ADMIN_USER).first()
    if user is None:
        user = User.objects.create_superuser(ADMIN_USER, "admin@example.com", ADMIN_PASSWORD)
    token, _ = Token.objects.get_or_create(user=user)
    return user, token.key


def ensure_queues():
    queues = []
    for title, slug in QUEUES:
        q, _ = Queue.objects.get_or_create(
            slug=slug,
            defaults={"title": title, "allow_public_submission": True},
        )
        queues.append(q)
    return queues


def ensure_site():
    Site.objects.update_or_create(pk=1, defaults={"domain": "127.0.0.1:8101", "name": "peer-dh"})


@transaction.atomic
def ensure_big_ticket(user, queue):
    ticket = Ticket.objects.filter(title=BIG_TICKET_TITLE).first()
    if ticket is None:
        ticket = Ticket.objects.create(
            title=BIG_TICKET_TITLE,
            queue=queue,
            submitter_email="customer0@example.com",
            description="A long conversation used to time the detail views.",
            assigned_to=user,
            priority=3,
        )
    have = FollowUp.objects.filter(ticket=ticket).count()
    rng = random.Random(1000)
    start = timezone.now() - timedelta(days=90)
    rows = []
    for i in range(have, BIG_FOLLOWUPS):
        staff = i % 2 == 1
        rows.append(
            FollowUp(
                ticket=ticket,
                date=start + timedelta(minutes=120 * i),
                title="Comment" if staff else "E-Mail Received from customer0@example.com",
                comment=paragraph(rng, 30, 90),
                public=staff and i % 4 != 3,  # staff replies mostly public
                user=user if staff else None,
            )
        )
    FollowUp.objects.bulk_create(rows, batch_size=1000)
    return ticket


@transaction.atomic
def ensure_pool(user, queues):
    have = Ticket.objects.filter(title__startswith=POOL_PREFIX).count()
    rng = random.Random(200)
    make_tickets(
        rng, user, queues, POOL_SIZE - have, title_prefix=POOL_PREFIX, status=Ticket.OPEN_STATUS
    )
    return list(
        Ticket.objects.filter(title__startswith=POOL_PREFIX)
        .order_by("id")
        .values_list("id", flat=True)
    )


def make_tickets(rng, user, queues, n, title_prefix="", status=None):
    """bulk_create n tickets + one 'Ticket Opened' follow-up each."""
    if n <= 0:
        return 0
    tickets = []
    for _i in range(n):
        tickets.append(
            Ticket(
                title=title_prefix + paragraph(rng, 4, 9)[:190],
                queue=rng.choice(queues),
                submitter_email=f"customer{rng.randint(1, 20000)}@example.com",
                description=paragraph(rng, 40, 120),
                assigned_to=user if rng.random() < 0.5 else None,
                status=status if status is not None else status_for(rng),
                priority=rng.randint(1, 5),
            )
        )
    tickets = Ticket.objects.bulk_create(tickets, batch_size=2000)
    followups = [
        FollowUp(
            ticket=t,
            date=timezone.now(),
            title="Ticket Opened",
            comment=t.description,
            public=True,
            user=None,
        )
        for t in tickets
    ]
    FollowUp.objects.bulk_create(followups, batch_size=2000)
    return n


def cmd_base(_args):
    ensure_site()
    user, token = ensure_admin()
    queues = ensure_queues()
    big = ensure_big_ticket(user, queues[0])
    pool = ensure_pool(user, queues)
    state = {
        "base_url": "http://127.0.0.1:8101",
        "username": ADMIN_USER,
        "password": ADMIN_PASSWORD,
        "token": token,
        "queue_id": queues[0].id,
        "queue_ids": [q.id for q in queues],
        "big_ticket_id": big.id,
        "big_ticket_followups": FollowUp.objects.filter(ticket=big).count(),
        "pool_ticket_ids": pool,
    }
    STATE_FILE.write_text(json.dumps(state, indent=1))
    print(
        f"base seed ok: big ticket #{big.id} with "
        f"{state['big_ticket_followups']} follow-ups, pool of {len(pool)} tickets, "
        f"{Ticket.objects.count()} tickets in all; state in {STATE_FILE}"
    )


def cmd_bulk(args):
    user, _ = ensure_admin()
    queues = ensure_queues()
    rng = random.Random(args.seed)
    have = Ticket.objects.count()
    need = args.total - have
    t0 = time.perf_counter()
    max_before = Ticket.objects.order_by("-id").values_list("id", flat=True).first() or 0
    done = 0
    while done < need:
        n = min(args.batch, need - done)
        with transaction.atomic():
            make_tickets(rng, user, queues, n)
        done += n
        rate = done / (time.perf_counter() - t0)
        print(f"\r  seeded {done}/{need} tickets ({rate:,.0f}/s)", end="", flush=True)
    if need > 0:
        print()
        with connection.cursor() as cur:
            # auto_now_add overwrote `created`; spread the new tickets (and their
            # opening follow-up) over the last two years, as a real desk would be.
            cur.execute(
                "UPDATE helpdesk_ticket SET created = now() - random() * interval '730 days' "
                "WHERE id > %s",
                [max_before],
            )
            cur.execute(
                "UPDATE helpdesk_ticket SET modified = created + random() * interval '10 days' "
                "WHERE id > %s",
                [max_before],
            )
            cur.execute(
                "UPDATE helpdesk_followup f SET date = t.created FROM helpdesk_ticket t "
                "WHERE f.ticket_id = t.id AND t.id > %s",
                [max_before],
            )
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE helpdesk_ticket")
        cur.execute("VACUUM ANALYZE helpdesk_followup")
    print(
        f"bulk seed: +{max(need, 0)} tickets in {time.perf_counter() - t0:.1f}s; "
        f"{Ticket.objects.count()} tickets, {FollowUp.objects.count()} follow-ups"
    )


def cmd_counts(_args):
    print(
        json.dumps(
            {
                "tickets": Ticket.objects.count(),
                "open_or_reopened": Ticket.objects.filter(status__in=[1, 2]).count(),
                "followups": FollowUp.objects.count(),
                "queues": Queue.objects.count(),
            }
        )
    )


def main():
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("base").set_defaults(fn=cmd_base)
    b = sub.add_parser("bulk")
    b.add_argument("--total", type=int, default=100_000)
    b.add_argument("--batch", type=int, default=10_000)
    b.add_argument("--seed", type=int, default=42)
    b.set_defaults(fn=cmd_bulk)
    sub.add_parser("counts").set_defaults(fn=cmd_counts)
    args = p.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()

"""`python -m scripts.bench_kb_relevance`: how well knowledge-base suggestions find the right
article, on SQLite and PostgreSQL. Prints precision@3 and MRR per set of questions (Russian,
English, word forms, with a chosen category, the staff's) of scripts/kb_relevance_set.py, and
how many internal articles a requester was offered (must be 0). Measured, not asserted (the
test tests/projections/test_kb_relevance.py pins the clear cases).

The articles are drafted, reviewed and published through the Desk's commands on a fresh store
(a temporary directory; PostgreSQL: a throw-away schema), the knowledge view built by the
projections, and each question asked of `projections.knowledge.suggest` as the public form
(limit 5) or an agent (staff) would.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import psycopg

from domain.desk import Desk
from domain.settings import Settings
from processes.system import read_side
from projections.knowledge import suggest
from scripts.bench_machine import DEFAULT_PG_URL, table, temp_schema
from scripts.kb_relevance_set import QUESTIONS, Figures, K, Question, keys_of, measure, publish_all
from tests.world import World


def run(settings: Settings) -> tuple[dict[str, Figures], int]:
    """The figures of every set on this store, and how many articles were published."""
    desk = Desk(settings.store_env(create_tables=True))
    projections = read_side(desk, settings)
    projections.migrate()
    try:
        world = World.build(desk)
        categories, ids = publish_all(desk, world.methodologist, world.admin)
        projections.catch_up()

        def ask(question: Question) -> list[str]:
            category = str(categories[question.category]) if question.category else None
            with projections.db.read() as tx:
                found = suggest(tx, question.text, staff=question.staff, category_id=category)
            return keys_of(found, ids)

        return measure(ask), len(ids)
    finally:
        projections.stop()
        projections.db.close_all()
        desk.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench_kb_relevance", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("SUZ_TEST_DATABASE_URL",
                                                                 DEFAULT_PG_URL))  # fmt: skip
    parser.add_argument("--backend", choices=("all", "postgres", "sqlite"), default="all")
    parser.add_argument("--misses", action="store_true", help="list questions not answered first")
    args = parser.parse_args(argv)
    os.environ.setdefault("SUZ_MODE", "demo")  # a bench desk generates its keys
    rows: list[list[str]] = []
    misses: list[str] = []
    backends = ("SQLite", "PostgreSQL") if args.backend == "all" else (
        "SQLite" if args.backend == "sqlite" else "PostgreSQL",)  # fmt: skip
    articles = 0
    for store in backends:
        with ExitStack() as stack:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            url = None
            if store == "PostgreSQL":
                try:
                    schema = stack.enter_context(temp_schema(args.database_url, "bench_rel"))
                except psycopg.OperationalError as e:
                    print(f"PostgreSQL unreachable at {args.database_url}: {e}", file=sys.stderr)
                    continue
                os.environ["SUZ_DATABASE_SCHEMA"] = schema
                stack.callback(os.environ.pop, "SUZ_DATABASE_SCHEMA", None)
                url = args.database_url
            figures, articles = run(Settings(data_dir=tmp / "data", database_url=url))
        for name, f in figures.items():
            rows.append([store, name, str(f.questions), f"{f.precision_at_k:.3f}", f"{f.mrr:.3f}",
                         str(f.leaks)])  # fmt: skip
            misses += [f"{store} / {name}: {m}" for m in f.misses]
    total = sum(len(qs) for qs in QUESTIONS.values())
    print(f"suz bench kb relevance: {articles} articles, {total} questions"
          " (scripts/kb_relevance_set.py)\n")  # fmt: skip
    head = ["store", "set", "questions", f"precision@{K}", "MRR", "internal to requester"]
    print(table(head, rows, 2))
    if args.misses and misses:
        print("\nnot answered first (first three offered):")
        print("\n".join(misses))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

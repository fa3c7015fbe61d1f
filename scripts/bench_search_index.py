"""`python -m scripts.bench_search_index`: what indexing one more message of a ticket costs
PostgreSQL, as the ticket grows (issue 15; projections/search.py).

Two tables of the same tickets get the same messages, round by round (one message per ticket a
round, interleaved, one transaction each): "whole" does what the search view did before shape 2
(append the text, then `to_tsvector` of the ticket's whole text, public and staff), "appended"
what it does now (`doc || to_tsvector(new text)`, no text kept). Printed: ms of PostgreSQL's
statement time per message, the mean over the rounds since the row above (wall time of the
statements; this process does nothing else), and the load average. The words are Russian and
English, drawn Zipf-like from the vocabulary of the project's own translations, 40 a message.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import time
from pathlib import Path

import psycopg

from scripts.bench_machine import table

ROOT = Path(__file__).resolve().parents[1]
URL = os.environ.get("SUZ_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
SCHEMA = "bench_search_index"
DDL = """
CREATE TABLE whole (id INT PRIMARY KEY, pub TEXT NOT NULL, int TEXT NOT NULL,
  public_doc TSVECTOR NOT NULL, all_doc TSVECTOR NOT NULL);
CREATE TABLE appended (id INT PRIMARY KEY, public_doc TSVECTOR NOT NULL, all_doc TSVECTOR NOT NULL);
CREATE INDEX ON whole USING GIN (public_doc); CREATE INDEX ON whole USING GIN (all_doc);
CREATE INDEX ON appended USING GIN (public_doc); CREATE INDEX ON appended USING GIN (all_doc);
CREATE AGGREGATE v_search_concat (tsvector)
  (SFUNC = tsvector_concat, STYPE = tsvector, INITCOND = '');
"""
WHOLE = [
    "UPDATE whole SET pub = pub || %s, int = int || %s WHERE id = %s",
    "UPDATE whole SET public_doc = to_tsvector('russian', pub),"
    " all_doc = to_tsvector('russian', pub || E'\\n' || int) WHERE id = ANY(%s)",
]
DOC = ("(SELECT v_search_concat(to_tsvector('russian', x.t) ORDER BY x.n)"
       " FROM unnest(%s::text[]) WITH ORDINALITY AS x (t, n))")  # fmt: skip
APPENDED = (f"UPDATE appended SET public_doc = public_doc || {DOC},"
            f" all_doc = all_doc || {DOC} WHERE id = %s")  # fmt: skip


def vocabulary() -> list[str]:
    po = (ROOT / "locale/ru/LC_MESSAGES/messages.po").read_text()
    words = re.findall(r"[а-яёА-ЯЁa-zA-Z]{3,}", po)
    return list(dict.fromkeys(w.lower() for w in words))


def whole(text: str, note: bool, i: int) -> tuple[str, str, int]:
    return ("", "\n" + text, i) if note else ("\n" + text, "", i)


def appended(text: str, note: bool, i: int) -> tuple[list[str], list[str], int]:
    return ([] if note else [text], [text], i)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--words", type=int, default=40, help="a message's words")
    args = parser.parse_args()
    vocab, rng = vocabulary(), random.Random(15)
    weights = [1 / (k + 1) for k in range(len(vocab))]

    def message() -> str:
        return " ".join(rng.choices(vocab, weights, k=args.words))

    marks = {m for m in (1, 10, 25, 50, 100, 200, 400) if m < args.rounds} | {args.rounds}
    rows: list[list[str]] = []
    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
        conn.execute(f"CREATE SCHEMA {SCHEMA}")
        conn.execute(f"SET search_path = {SCHEMA}")
        conn.execute(DDL)
        ids = list(range(args.tickets))
        conn.cursor().executemany(
            "INSERT INTO whole VALUES (%s, '', '', '', '')", [(i,) for i in ids]
        )
        conn.cursor().executemany("INSERT INTO appended VALUES (%s, '', '')", [(i,) for i in ids])
        spent, last = {"whole": 0.0, "appended": 0.0}, 0
        for n in range(1, args.rounds + 1):
            texts = [(i, (message(), rng.random() < 0.3)) for i in ids]  # 30 % notes
            for side in ("whole", "appended") if n % 2 else ("appended", "whole"):
                t0 = time.perf_counter()
                with conn.transaction(), conn.cursor() as cur:
                    if side == "whole":
                        cur.executemany(WHOLE[0], [whole(t, note, i) for i, (t, note) in texts])
                        cur.execute(WHOLE[1], (ids,))
                    else:
                        cur.executemany(APPENDED, [appended(t, note, i) for i, (t, note) in texts])
                spent[side] += time.perf_counter() - t0
            if n in marks:
                per = {k: 1000 * v / len(ids) / (n - last) for k, v in spent.items()}
                spent, last = {"whole": 0.0, "appended": 0.0}, n
                rows.append([f"{n}", f"{per['whole']:.3f}", f"{per['appended']:.3f}",
                             f"{per['whole'] / per['appended']:.1f}x"])  # fmt: skip
        conn.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
    print(f"{args.tickets} tickets, {args.words} words a message, vocabulary {len(vocab):,};"
          f" load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")  # fmt: skip
    heads = ["messages in the ticket", "whole text, ms/message", "appended, ms/message", "ratio"]
    print(table(heads, rows))


if __name__ == "__main__":
    main()

"""`python -m scripts.bench_api_models`: the cost of answering through the typed models.

The routes build dicts and encode them with orjson; the models in web/api_schema/ describe
those dicts. Could the routes encode through the models instead (msgspec.json.encode of
Structs), and at what cost on the hot paths? Each case encodes the same answer:
  orjson            today: orjson.dumps of the dicts
  msgspec dicts     msgspec.json.encode of the same dicts (the encoder swapped, nothing typed)
  Structs           the answer built as Structs from the rows (no checks), then encoded
  Structs checked   msgspec.convert of the dicts into the Structs (types checked), then encoded
and decoding a command's body: orjson.loads (what web/body.py does before its own checks) against
msgspec.json.decode into the command's body Struct (typed, checked).
Prints microseconds per answer (the best of 25 short runs), building and encoding together, then
the encoding alone (the dicts or Structs built beforehand).
"""

from __future__ import annotations

import sys
import timeit
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import orjson

from domain.access import Actor, visible_state
from domain.people import Role
from projections.queues import TicketRow
from projections.timeline import Entry as EntryRow
from web.api_schema.common import Written
from web.api_schema.tickets import COMMAND_BODIES, Entry, QueuePage, TicketPage, TicketSummary

STAFF = Actor(id=uuid.uuid4(), roles=frozenset({Role.AGENT}))
REQUESTER = Actor(id=uuid.uuid4(), roles=frozenset({Role.REQUESTER}))
NOW = datetime(2026, 11, 6, 9, 30, tzinfo=UTC)


def rows(n: int) -> list[TicketRow]:
    return [TicketRow(str(uuid.uuid4()), 1000 + i, "Контракт не публикуется", "open", "normal",
                      1, str(uuid.uuid4()), None, str(uuid.uuid4()), str(uuid.uuid4()),
                      str(uuid.uuid4()), "cabinet", "", (NOW + timedelta(minutes=i)).isoformat(),
                      (NOW + timedelta(minutes=i + 5)).isoformat(), 4, "request")
            for i in range(n)]  # fmt: skip


def entries(n: int) -> list[EntryRow]:
    by = str(uuid.uuid4())
    return [EntryRow(v, 5000 + v, (NOW + timedelta(minutes=v)).isoformat(), "Replied", by,
                     False, {"by": by, "body": "Проверяем подпись, ответим сегодня. " * 4,
                             "attachments": [], "template": None})
            for v in range(1, n + 1)]  # fmt: skip


def per_call(f: Callable[[], Any], number: int) -> float:
    """Microseconds per call: the best of many short runs (the machine may be busy)."""
    return min(timeit.repeat(f, number=number, repeat=25)) / number * 1e6


def queue_cases(actor: Actor, page: list[TicketRow]) -> dict[str, Callable[[], Any]]:
    def dicts() -> dict[str, Any]:
        return {"tickets": [visible_state(actor, asdict(r)) for r in page], "next_after": 1049}

    return {
        "orjson": lambda: orjson.dumps(dicts()),
        "msgspec dicts": lambda: msgspec.json.encode(dicts()),
        "Structs": lambda: msgspec.json.encode(QueuePage(
            tickets=[TicketSummary(**visible_state(actor, asdict(r))) for r in page],
            next_after=1049)),
        "Structs checked": lambda: msgspec.json.encode(msgspec.convert(dicts(), QueuePage)),
    }  # fmt: skip


def ticket_cases(row: TicketRow, timeline: list[EntryRow]) -> dict[str, Callable[[], Any]]:
    def dicts() -> dict[str, Any]:
        return {"ticket": visible_state(STAFF, asdict(row)),
                "timeline": [asdict(e) for e in timeline]}  # fmt: skip

    return {
        "orjson": lambda: orjson.dumps(dicts()),
        "msgspec dicts": lambda: msgspec.json.encode(dicts()),
        "Structs": lambda: msgspec.json.encode(TicketPage(
            ticket=TicketSummary(**visible_state(STAFF, asdict(row))),
            timeline=[Entry(**asdict(e)) for e in timeline])),
        "Structs checked": lambda: msgspec.json.encode(msgspec.convert(dicts(), TicketPage)),
    }  # fmt: skip


def written_cases() -> dict[str, Callable[[], Any]]:
    w_id, position, version = uuid.uuid4(), 51234, 7
    return {
        "orjson": lambda: orjson.dumps({"id": str(w_id), "position": position,
                                        "version": version}),
        "msgspec dicts": lambda: msgspec.json.encode({"id": str(w_id), "position": position,
                                                      "version": version}),
        "Structs": lambda: msgspec.json.encode(Written(id=w_id, position=position,
                                                       version=version)),
    }  # fmt: skip


def main(argv: list[str]) -> int:
    page, timeline = rows(50), entries(30)
    groups = {
        "a queue page, 50 rows (staff)": (queue_cases(STAFF, page), 200),
        "a queue page, 50 rows (requester)": (queue_cases(REQUESTER, page), 200),
        "a ticket page, 30 timeline entries": (ticket_cases(page[0], timeline), 200),
        "a command's Written answer": (written_cases(), 20_000),
    }
    print("Building and encoding an answer, microseconds each\n")
    print(f"{'answer':38} {'orjson':>8} {'msgspec dicts':>14} {'Structs':>8} "
          f"{'Structs checked':>16}")  # fmt: skip
    for name, (cases, number) in groups.items():
        figures = {k: per_call(f, number) for k, f in cases.items()}
        cells = [f"{figures[k]:8.1f}" if k in figures else f"{'-':>8}"
                 for k in ("orjson", "msgspec dicts", "Structs", "Structs checked")]  # fmt: skip
        print(f"{name:38} {cells[0]} {cells[1]:>14} {cells[2]} {cells[3]:>16}")
    built = {"tickets": [asdict(r) for r in page], "next_after": 1049}
    structs = msgspec.convert(built, QueuePage)
    print("\nEncoding alone, a staff queue page built beforehand: orjson of the dicts "
          f"{per_call(lambda: orjson.dumps(built), 200):.1f}, msgspec of the dicts "
          f"{per_call(lambda: msgspec.json.encode(built), 200):.1f}, msgspec of the Structs "
          f"{per_call(lambda: msgspec.json.encode(structs), 200):.1f}")  # fmt: skip
    body = orjson.dumps({"body": "Проверяем подпись, ответим сегодня.", "version": 4})
    kind = COMMAND_BODIES["replies"]
    decode = msgspec.json.Decoder(kind)
    loads = per_call(lambda: orjson.loads(body), 20_000)
    typed = per_call(lambda: decode.decode(body), 20_000)
    print(f"\nDecoding a reply's body, microseconds each: orjson.loads {loads:.2f}, "
          f"msgspec into {kind.__name__} {typed:.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

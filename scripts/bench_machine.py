"""Shared by the benches: the machine, tables, percentiles, throw-away PostgreSQL schemas and a
Desk with its views on one."""

from __future__ import annotations

import os
import platform
import secrets
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

from domain.desk import Desk
from domain.settings import Settings
from processes.system import read_side
from projections.system import Projections

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1, 5, 15 min)"


def machine(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url, connect_timeout=3) as conn:
        pg = [
            str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
            for name in ("server_version", "shared_buffers", "work_mem", "synchronous_commit")
        ]
    return [
        ("CPU", f"{cpu_model()}, {os.cpu_count()} logical CPUs"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("PostgreSQL", f"{pg[0]} (shared_buffers={pg[1]}, work_mem={pg[2]}, sync={pg[3]})"),
        ("load avg", load()),
    ]


def print_machine(url: str) -> None:
    for key, value in machine(url):
        print(f"{key:>10}: {value}")
    print()


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def pct(values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`; 0 when there are none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f}"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


@contextmanager
def temp_schema(url: str, prefix: str, name: str | None = None, keep: bool = False
                ) -> Iterator[str]:  # fmt: skip
    """A fresh PostgreSQL schema, dropped (with everything in it) at the end; `name`: that one,
    made if missing (a bench reusing what an earlier run wrote); `keep`: not dropped."""
    name = name or f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{name}"')
    try:
        yield name
    finally:
        if not keep:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@dataclass(frozen=True)
class BenchDesk:
    schema: str
    tmp: Path
    desk: Desk
    projections: Projections


@contextmanager
def bench_desk(url: str, prefix: str, schema: str | None = None, keep: bool = False
               ) -> Iterator[BenchDesk]:  # fmt: skip
    """A Desk and its migrated views on a throw-away schema (`temp_schema`) and data directory;
    stopped, closed and dropped at the end."""
    with temp_schema(url, prefix, schema, keep) as schema, tempfile.TemporaryDirectory() as tmp:
        os.environ["SUZ_DATABASE_SCHEMA"] = schema
        settings = Settings(data_dir=Path(tmp), database_url=url)
        desk = Desk(settings.store_env(create_tables=True))
        projections = read_side(desk, settings)
        projections.migrate()
        try:
            yield BenchDesk(schema, Path(tmp), desk, projections)
        finally:
            projections.stop()
            projections.db.close_all()
            desk.close()

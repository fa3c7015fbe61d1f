"""The `suz` command: migrate, load demo data, verify the store, and drive the desk."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from tqdm import tqdm

from domain.desk import Desk
from domain.integrity import verify
from domain.settings import Settings


def migrate(settings: Settings) -> None:
    """Creates the event store's tables once, so concurrent start-ups never race on them."""
    Desk(settings.store_env(create_tables=True)).close()
    print(f"suz: store ready ({'PostgreSQL' if settings.uses_postgres else settings.data_dir})")


def run_verify(settings: Settings) -> int:
    desk = Desk(settings.store_env())
    total = desk.recorder.max_notification_id() or 0
    with tqdm(total=total, unit="event", desc="verifying", file=sys.stderr) as bar:
        report = verify(desk, progress=bar.update)
    for p in report.problems:
        print(
            f"TAMPERED {p.kind}: aggregate {p.aggregate_id} version {p.version} "
            f"(log position {p.position}): {p.detail}"
        )
    verdict = "OK" if report.ok else f"FAILED: {len(report.problems)} problem(s)"
    print(f"suz verify: {report.events} events in {report.aggregates} aggregates: {verdict}")
    return 0 if report.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="suz", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create the store's tables")
    demo = sub.add_parser("demo", help="load demo data")
    demo.add_argument("--if-empty", action="store_true", help="only when the store is empty")
    sub.add_parser("verify", help="recompute every hash chain and report tampering")
    sub.add_parser("serve", help="start suz")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.command == "migrate":
        migrate(settings)
        return 0
    if args.command == "verify":
        return run_verify(settings)
    from domain.demo import load_demo, show_demo

    if args.command == "demo":
        load_demo(Desk(settings.store_env()), only_if_empty=args.if_empty)
        return 0
    show_demo(Desk(settings.store_env()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

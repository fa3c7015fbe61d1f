"""The `suz` command: migrate, load demo data, verify the store, and drive the desk."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from tqdm import tqdm

from domain.desk import Desk
from domain.integrity import verify
from domain.settings import Settings


def migrate(settings: Settings) -> None:
    """Creates the store's and the views' tables once, so concurrent start-ups never race."""
    from projections.system import Projections
    from web.sessions import open_session_store

    desk = Desk(settings.store_env(create_tables=True))
    Projections(desk, settings).migrate()
    sessions = open_session_store(settings)
    sessions.migrate()
    sessions.close()
    desk.close()
    print(f"suz: store ready ({'PostgreSQL' if settings.uses_postgres else settings.data_dir})")


def run_verify(settings: Settings) -> int:
    desk = Desk(settings.store_env())
    try:
        desk.recorder.max_notification_id()
    except Exception as e:  # no tables, no server: either way there is nothing to verify yet
        print(f"suz verify: cannot read the event store ({e}); run `suz migrate` first?")
        return 2
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


def rebuild(settings: Settings, names: list[str]) -> int:
    """Rebuilds views from the whole event log, batch by batch, with a progress bar."""
    from projections.runner import Runner
    from projections.system import Projections

    desk = Desk(settings.store_env())
    projections = Projections(desk, settings)
    known = [r.view.name for r in projections.runners]
    unknown = [n for n in names if n not in known]
    if unknown:
        print(f"suz rebuild: unknown view(s) {', '.join(unknown)}; views: {', '.join(known)}")
        return 2
    total = desk.recorder.max_notification_id() or 0
    for runner in projections.runners:
        if names and runner.view.name not in names:
            continue
        with tqdm(total=total, unit="event", desc=f"rebuilding {runner.view.name}",
                  file=sys.stderr) as bar:  # fmt: skip

            def advance(_handled: int, runner: Runner = runner, bar: tqdm[Any] = bar) -> None:
                bar.update(runner.positions.reached(runner.view.name) - bar.n)

            runner.rebuild(progress=advance)
            bar.update(total - bar.n)
        print(f"suz rebuild: {runner.view.name} rebuilt up to position "
              f"{runner.positions.reached(runner.view.name)}")  # fmt: skip
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="suz", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create the store's tables")
    demo = sub.add_parser("demo", help="load demo data")
    demo.add_argument("--if-empty", action="store_true", help="only when the store is empty")
    sub.add_parser("verify", help="recompute every hash chain and report tampering")
    serve = sub.add_parser("serve", help="start the web service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--no-views",
        action="store_true",
        help="do not run view runners here (another worker process runs them)",
    )
    rebuild_cmd = sub.add_parser("rebuild", help="rebuild views from the event log")
    rebuild_cmd.add_argument("views", nargs="*", help="views to rebuild (default: all)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.command == "migrate":
        migrate(settings)
        return 0
    if args.command == "verify":
        return run_verify(settings)
    if args.command == "rebuild":
        return rebuild(settings, args.views)
    from domain.demo import load_demo

    if args.command == "demo":
        from web.passwords import Passwords

        load_demo(Desk(settings.store_env()), only_if_empty=args.if_empty,
                  hash_password=Passwords().hash)  # fmt: skip
        return 0
    return serve_web(args.host, args.port, args.workers, not args.no_views)


def serve_web(host: str, port: int, workers: int, run_views: bool) -> int:
    import os

    import uvicorn

    if not run_views:
        os.environ["SUZ_RUN_VIEWS"] = "n"
    # the pages this server serves are the origin cookie calls and websockets may come from
    os.environ.setdefault("SUZ_ORIGINS", f"http://{host}:{port} http://localhost:{port}")
    print(f"suz: open http://{host}:{port}/ in a browser (API under /api/v1, health at /health)")
    uvicorn.run("web.app:create_app", factory=True, host=host, port=port, workers=workers,
                ws_max_size=65_536, log_level="info")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())

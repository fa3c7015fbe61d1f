"""The `suz` command: migrate, set a fresh desk up (init, create-admin) or load the demo, set the
desk up, verify the store, seal it, serve the desk, and run its views apart (views).

Part of the composition root (suz/): the one package that may import every other one."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from tqdm import tqdm

from domain.desk import SYSTEM, Desk
from domain.integrity import verify
from domain.keys import KeyProblem, require_keys
from domain.seals import Seal, check_seals
from domain.settings import Settings
from suz import backup
from suz.init import run_create_admin, run_init
from suz.logs import configure as configure_logging
from suz.migrate import migrate
from suz.setup_command import SETUP_COMMANDS, run_setup
from suz.views_process import run_views


def run_verify(settings: Settings) -> int:
    require_keys(settings)  # the MACs are checked with the chain key
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


def run_seal(settings: Settings, check: bool, kept: Path | None, to: list[str]) -> int:
    """Seals the log's head now and ships every seal not yet shipped to each of `to` (default
    SUZ_SEAL_TO); with `check`, checks the store against the stored seals (or against a kept
    copy of them, JSON Lines from GET /api/v1/audit/seals?format=jsonl or `--to FILE`)."""
    from audit.keys import signing_key
    from audit.seals import all_seals, make_seal, report_json
    from audit.shipping import ship
    from projections.db import ViewDB

    require_keys(settings)
    desk, db = Desk(settings.store_env()), ViewDB(settings)
    try:
        if not check:
            seal = make_seal(settings, desk, db)
            if seal is None:
                print("suz seal: nothing new to seal: the log has not moved since the last seal")
            else:
                print(f"suz seal: seal {seal.number} covers log positions {seal.after + 1}.."
                      f"{seal.position} ({seal.events} events), sha256 {seal.digest}")  # fmt: skip
            failed = 0
            for target in to or ([settings.seal_to] if settings.seal_to else []):
                try:
                    shipped = ship(db, all_seals(db), target)
                    print(f"suz seal: shipped {shipped} seal(s) to {target}")
                except (OSError, ValueError, httpx.HTTPError) as e:
                    print(f"suz seal: could not ship the seals to {target}: {e}")
                    failed = 1
            return failed
        if kept is None:
            seals = all_seals(db)
        else:
            lines = kept.read_text().splitlines()
            seals = [Seal.from_json(json.loads(line)) for line in lines if line.strip()]
        report = check_seals(desk, seals, signing_key(settings).public_key())
    finally:
        db.close()
        desk.close()
    for p in report_json(report)["problems"]:
        print(f"TAMPERED {p['kind']}: seal {p['seal']} (log positions {p['after'] + 1}.."
              f"{p['position']}): {p['detail']}")  # fmt: skip
    verdict = "OK" if report.ok else f"FAILED: {len(report.problems)} problem(s)"
    print(f"suz seal --check: {report.seals} seal(s) up to log position {report.sealed_to} "
          f"(head {report.head}): {verdict}")  # fmt: skip
    return 0 if report.ok else 1


def rebuild(settings: Settings, names: list[str]) -> int:
    """Rebuilds views from the whole event log, batch by batch, with a progress bar."""
    from processes.system import read_side
    from projections.runner import Runner

    desk = Desk(settings.store_env())
    projections = read_side(desk, settings)
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
    sub.add_parser("init", help="make a fresh desk's lines and general category (no demo data)")
    admin = sub.add_parser("create-admin", help="make an administrator (asks in a terminal)")
    admin.add_argument("--login")
    admin.add_argument("--name", help="the name shown to others")
    admin.add_argument("--email")
    admin.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from stdin (else SUZ_ADMIN_PASSWORD, else ask)",
    )
    sub.add_parser("views", help="run the views and background processes only, until SIGTERM")
    sub.add_parser(
        "mail-in",
        help="take in one letter from standard input (for an MTA's pipe): exit 0 stored, "
        "75 try later, 65 refused",
    )
    demo = sub.add_parser("demo", help="load demo data (demo mode only)")
    demo.add_argument("--if-empty", action="store_true", help="only when the store is empty")
    demo.add_argument("--small", action="store_true",
                      help="only today's few requests (the tests'), not the quarter")  # fmt: skip
    demo.add_argument("--requests", type=int, default=20_000, metavar="N",
                      help="requests in the quarter (default 20,000)")  # fmt: skip
    demo.add_argument("--seed", type=int, default=18, help="the quarter's random seed")
    sub.add_parser("verify", help="recompute every hash chain and report tampering")
    seal = sub.add_parser("seal", help="seal the log's head now (a signed digest)")
    seal.add_argument("--check", action="store_true", help="check the store against the seals")
    seal.add_argument("--seals", type=Path, help="with --check: a kept copy (JSON Lines)")
    seal.add_argument("--to", action="append", default=[], metavar="FILE|URL",
                      help="ship new seals: append to FILE, POST to URL")  # fmt: skip
    serve = sub.add_parser("serve", help="start the web service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--no-views",
        action="store_true",
        help="do not run view runners here (another worker process runs them)",
    )
    serve.add_argument(
        "--forwarded-allow-ips",
        metavar="LIST",
        help="the reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For "
        "and X-Forwarded-Proto are believed (default: SUZ_FORWARDED_ALLOW_IPS, else 127.0.0.1)",
    )
    setup = sub.add_parser(
        "setup",
        help="send a set-up command (as the system, or --as LOGIN)",
        description="Fields as field=value; JSON for lists of objects.",
    )
    setup.add_argument(
        "name",
        choices=sorted(SETUP_COMMANDS),
        metavar="COMMAND",
        help=", ".join(sorted(SETUP_COMMANDS)),
    )
    setup.add_argument("fields", nargs="*", metavar="FIELD=VALUE")
    setup.add_argument("--as", dest="login", help="act as this account (its roles apply)")
    setup.add_argument(
        "--password-stdin",
        action="store_true",
        help="register-account: read the new account's password from stdin",
    )
    rebuild_cmd = sub.add_parser("rebuild", help="rebuild views from the event log")
    rebuild_cmd.add_argument("views", nargs="*", help="views to rebuild (default: all)")
    backup.add_parsers(sub)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    try:
        return _run(args, settings)
    except KeyProblem as e:  # production without its keys: say what to set, no traceback
        print(f"suz: {e}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "migrate":
        migrate(settings)
        return 0
    if args.command == "verify":
        return run_verify(settings)
    if args.command == "seal":
        return run_seal(settings, args.check, args.seals, args.to)
    if args.command in ("backup", "restore"):
        return backup.run(args, settings)
    if args.command == "rebuild":
        return rebuild(settings, args.views)
    if args.command == "setup":
        return run_setup(settings, args.name, args.fields, args.login, args.password_stdin)
    if args.command == "init":
        return run_init(settings)
    if args.command == "create-admin":
        return run_create_admin(settings, args.login, args.name, args.email, args.password_stdin)
    if args.command == "views":
        configure_logging(settings)  # before anything logs: one set-up for the process
        return run_views(settings)
    if args.command == "mail-in":
        from suz.mail_in import run_mail_in

        return run_mail_in(settings)
    if args.command == "demo":
        if not settings.demo:  # its passwords are published in the README
            print("suz demo: refused: the demo is loaded in demo mode only (SUZ_MODE=demo); "
                  "a production desk starts with `suz init` and `suz create-admin`",
                  file=sys.stderr)  # fmt: skip
            return 2
        quarter = 0 if args.small else max(0, args.requests)
        return load_demo_with_passwords(settings, only_if_empty=args.if_empty, quarter=quarter,
                                        seed=args.seed)  # fmt: skip
    if args.forwarded_allow_ips is not None:  # the flag wins over SUZ_FORWARDED_ALLOW_IPS
        settings = replace(settings, forwarded_allow_ips=args.forwarded_allow_ips.strip() or None)
    return serve_web(settings, args.host, args.port, args.workers, not args.no_views)


def load_demo_with_passwords(settings: Settings, *, only_if_empty: bool, quarter: int = 0,
                             seed: int = 18) -> int:  # fmt: skip
    """The demo desk, its accounts' password hashes in the credentials table (not events).

    With a quarter, the Desk keeps every aggregate it writes in its cache (one writer, so the
    cache is the truth: no read-back from the store before each command) and a progress bar
    counts the quarter's days on stderr."""
    from domain.demo import load_demo
    from domain.demo_quarter import QUARTER_DAYS
    from web.credentials import set_password
    from web.passwords import Passwords
    from web.sessions import open_session_store

    env = settings.store_env()
    if quarter:
        env |= {"AGGREGATE_CACHE_MAXSIZE": str(max(10_000, quarter * 3)),
                "AGGREGATE_CACHE_FASTFORWARD": "n", "SUZ_GROUP_COMMIT_US": "0"}  # fmt: skip
    desk, sessions = Desk(env), open_session_store(settings)
    passwords = Passwords()

    def give(account: UUID, password: str) -> None:
        set_password(desk, sessions, passwords, SYSTEM, account, password)

    started = time.perf_counter()
    try:
        if not quarter:
            load_demo(desk, only_if_empty=only_if_empty, set_password=give)
            return 0

        with tqdm(total=QUARTER_DAYS, unit=" дн.", desc="suz demo: квартал", file=sys.stderr,
                  mininterval=0.5) as bar:  # fmt: skip

            def days(n: int) -> None:
                bar.update(n)

            loaded = load_demo(
                desk,
                only_if_empty=only_if_empty,
                set_password=give,
                quarter=quarter,
                seed=seed,
                progress=days,
            )
        if loaded:
            seconds = time.perf_counter() - started
            events = int(desk.recorder.max_notification_id() or 0)
            print(f"suz: the demo desk holds {events} events, written in {seconds:.1f} s "
                  f"({events / seconds:,.0f} events/s)")  # fmt: skip
    finally:
        sessions.close()
        desk.close()
    return 0


def serve_web(settings: Settings, host: str, port: int, workers: int, run_views: bool) -> int:
    import uvicorn

    require_keys(settings)  # production without its keys: refused before the "open" line
    log_config = configure_logging(settings)  # here, and again in each worker (uvicorn)
    if "prometheus_client" in sys.modules:  # it chose single-process metrics already
        raise RuntimeError("prometheus_client was imported before suz serve set its metrics dir")
    made = None
    if settings.metrics_dir is None:  # every worker's metrics in a fresh folder of this server
        made = Path(tempfile.mkdtemp(prefix="suz-metrics-"))
    else:  # the operator's: what an earlier server left there would add to today's counts
        settings.metrics_dir.mkdir(parents=True, exist_ok=True)
        for stale in settings.metrics_dir.glob("*.db"):
            stale.unlink()

    # the pages this server serves are the origin cookie calls and websockets may come from
    origins = settings.origins
    if origins is None:
        origins = f"http://{host}:{port} http://localhost:{port}"
    # --no-views wins; else SUZ_RUN_VIEWS says (the workers read both back: Settings.publish)
    replace(settings, run_views=settings.run_views and run_views, origins=origins,
            metrics_dir=made or settings.metrics_dir).publish()  # fmt: skip
    print(f"suz: open http://{host}:{port}/ in a browser (API under /api/v1, health at /health)")
    try:  # uvicorn's access line is off: web/access.py writes one without the query (suz/logs.py)
        uvicorn.run("suz.bootstrap:web_app", factory=True, host=host, port=port, workers=workers,
                    ws_max_size=65_536, log_level="info", log_config=log_config,
                    access_log=False)  # fmt: skip
    finally:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

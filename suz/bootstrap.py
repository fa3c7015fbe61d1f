"""One place that builds a process from its settings: the store (a `Desk`), the views that follow
it (`Projections`), and everything the web service uses (`Services`); `web_app` wraps them in the
starlette application. `suz serve` (uvicorn's factory) and the tests' sites use it.

It lives here, above web/, so that web/ never imports the composition root: web.app only turns
built services into routes (`create_app(services)`), and what is built, and from which settings,
is decided in one module."""

from __future__ import annotations

from starlette.applications import Starlette

from domain.desk import Desk
from domain.keys import require_keys
from domain.links import derive
from domain.settings import Settings
from processes.purges import with_purges
from processes.system import read_side
from projections.db import ViewDB
from suz.mail_in import with_mailbox
from web import filing_limit
from web.app import create_app
from web.blobs import open_blob_store
from web.csrf import AllowedOrigins
from web.filing_limit import FilingLimit
from web.migrations import migrate
from web.passwords import Passwords
from web.services import Services
from web.sessions import open_session_store
from web.shared_throttle import (
    SharedRateLimiter,
    SharedSignInThrottle,
    SharedSocketLimit,
    SharedSpentTokens,
)
from web.throttle import (
    SOCKETS_PER_SESSION,
    LocalSocketLimit,
    RateLimiter,
    SignInThrottle,
    SocketLimit,
    SpentTokens,
    Throttle,
)
from web.ui import analytics_pages

LEFTOVERS = 24 * 3600.0  # seconds after which a staged upload is a crash's leftover


def bootstrap(settings: Settings, *, run_views: bool | None = None) -> Services:
    """A process's services over the store of `settings`; the views run here unless
    `run_views` (default: the settings' SUZ_RUN_VIEWS) says otherwise. Started by the app's
    lifespan (`Services.start`)."""
    require_keys(settings)  # production: refuse to start without both keys, kept apart
    migrate(settings)  # every table, before anything reads one
    desk = Desk(settings.store_env())
    projections = with_mailbox(read_side(desk, settings), settings)
    sessions = open_session_store(settings, views=projections.db)  # one pool for both
    blobs = open_blob_store(settings, projections.db)  # PostgreSQL's on PostgreSQL
    blobs.clear_leftovers(older_than=LEFTOVERS)
    # expired sessions and a sent-back form's held files, deleted where the views run
    with_purges(
        projections, settings.session_purge_interval, sessions.purge_expired, blobs.purge_held
    )
    key = getattr(desk.mapper, "key", None)  # the chain key, as the desk derives its own secrets
    proof_secret = derive(key, "filing-proofs")
    throttle, public_form_limit, socket_limit = brakes(settings, projections.db, proof_secret)
    return Services(
        settings=settings,
        desk=desk,
        projections=projections,
        sessions=sessions,
        passwords=Passwords(),
        throttle=throttle,
        public_form_limit=public_form_limit,
        socket_limit=socket_limit,
        origins=AllowedOrigins.parse(settings.allowed_origins),
        run_views=settings.run_views if run_views is None else run_views,
        blobs=blobs,
        held_secret=derive(key, "held-files"),
        proof_secret=proof_secret,
        after_priming=analytics_pages.warm,  # the analytics page's templates, once primed
    )


def brakes(
    settings: Settings, db: ViewDB, proof_secret: bytes
) -> tuple[Throttle, FilingLimit, SocketLimit]:
    """The sign-in throttle, the public form's limit (per address: web/filing_limit.py) and the
    /live sockets' limit (per session): in PostgreSQL when the store is, so that every host
    counts together, else in this process's memory."""
    plain, burst, window = filing_limit.PLAIN, filing_limit.BURST, filing_limit.WINDOW
    if settings.uses_postgres:
        return (
            SharedSignInThrottle(db),
            FilingLimit(
                SharedRateLimiter(db, "public_form", plain, window),
                SharedRateLimiter(db, "public_form_burst", burst, window),
                SharedSpentTokens(db, "filing_proof"),
                proof_secret,
            ),
            SharedSocketLimit(db, SOCKETS_PER_SESSION),
        )
    limit = FilingLimit(RateLimiter(plain, window), RateLimiter(burst, window), SpentTokens(),
                        proof_secret)  # fmt: skip
    return SignInThrottle(), limit, LocalSocketLimit(SOCKETS_PER_SESSION)


def web_app(settings: Settings | None = None, *, run_views: bool | None = None) -> Starlette:
    """The web service over `settings` (default: the environment's); `suz serve` names this
    factory to uvicorn, so each worker process builds its own."""
    return create_app(bootstrap(settings or Settings.from_env(), run_views=run_views))

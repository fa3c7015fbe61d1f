"""Where suz keeps its events and how a process runs: read from the environment here and nowhere
else (SUZ_DATA_DIR, SUZ_DATABASE_URL, SUZ_DATABASE_SCHEMA, SUZ_SEAL_INTERVAL, SUZ_MODE,
SUZ_CHAIN_KEY, SUZ_SIGNING_KEY, SUZ_SEAL_TO, SUZ_ORIGINS, SUZ_RUN_VIEWS, SUZ_MAX_UPLOAD_BYTES,
SUZ_ADMIN_PASSWORD, SUZ_SMTP_URL, SUZ_MAIL_FROM, SUZ_LOG_FORMAT, SUZ_READY_MAX_LAG,
SUZ_ANALYTICS_CACHE_MB, SUZ_ANALYTICS_PRIME,
PROMETHEUS_MULTIPROC_DIR...);
every other module reads the fields of a `Settings`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from email.headerregistry import AddressHeader, HeaderRegistry
from pathlib import Path
from urllib.parse import unquote, urlparse, urlsplit

DEFAULT_ORIGINS = "http://127.0.0.1:8000 http://localhost:8000"
DEFAULT_MAX_UPLOAD_BYTES = 25 * 1024 * 1024  # 25 MiB, as web/attachments.py's store defaults


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str | None = field(repr=False)  # may hold a password: not in the repr
    seal_interval: float = 300.0  # seconds between seals of the log's head; 0: none
    upload_limit: int = 100  # SUZ_UPLOAD_LIMIT: files one caller may upload per hour
    # "demo" (./scripts/run, the tests: keys generated into the data folder) or "production"
    # (the default of from_env: keys must be given, outside the data folder; domain/keys.py)
    mode: str = "demo"
    chain_key: Path | None = None  # SUZ_CHAIN_KEY: the HMAC key of the events' chain
    signing_key: Path | None = None  # SUZ_SIGNING_KEY: the Ed25519 PEM that signs seals, exports
    # SUZ_SEAL_TO: a file or URL every new seal is shipped to (a URL may hold a password);
    # SUZ_METRICS_TOKEN: /metrics wants it as a bearer token. Neither is shown in the repr
    seal_to: str | None = field(default=None, repr=False)
    metrics_token: str | None = field(default=None, repr=False)
    # PostgreSQL connections of one process (README "Connections"): the view side's pool (view
    # reads and batches, background processes, sessions), and the event store's pool + overflow
    db_pool_size: int = 10  # SUZ_DB_POOL_SIZE
    db_pool_timeout: float = 10.0  # SUZ_DB_POOL_TIMEOUT: seconds a caller waits for one (then 503)
    store_pool_size: int = 5  # SUZ_STORE_POOL_SIZE
    store_max_overflow: int = 5  # SUZ_STORE_MAX_OVERFLOW
    run_views: bool = True  # SUZ_RUN_VIEWS=n: this process runs no view runners (another does)
    # SUZ_ORIGINS: origins allowed for cookie calls and websockets; None: not given (`suz serve`
    # then allows its own address, anything else DEFAULT_ORIGINS: see allowed_origins)
    origins: str | None = None
    # SUZ_FORWARDED_ALLOW_IPS (or `suz serve --forwarded-allow-ips`): the reverse proxies whose
    # X-Forwarded-For/-Proto uvicorn believes, addresses or networks, comma-separated; None:
    # uvicorn's default, 127.0.0.1 and ::1 (docs/deployment.md, "Container")
    forwarded_allow_ips: str | None = None
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES  # SUZ_MAX_UPLOAD_BYTES: one attachment's cap
    # SUZ_GROUP_COMMIT_US: commands saved together are written in one transaction, a batch's
    # leader waiting up to this many microseconds for more (domain/group_commit.py); 0: off
    group_commit_us: int = 200
    # SUZ_ADMIN_PASSWORD: `suz create-admin` without a terminal takes the first administrator's
    # password from here (or --password-stdin); never shown in the settings' repr
    admin_password: str | None = field(default=None, repr=False)
    # SUZ_SMTP_URL: the server letters go out through (mail/smtp.py; `smtp_server` reads it):
    # smtp://user:pass@host:port (no TLS: a password only to a loopback host), smtps:// (TLS
    # from the start, port 465), smtp+starttls:// (STARTTLS, port 587); user and password
    # percent-encoded. None: no mail is sent. Never shown in the settings' repr (a password)
    smtp_url: str | None = field(default=None, repr=False)
    # SUZ_MAIL_FROM: the From of every letter and its envelope sender, "suz@localhost" or
    # "Support <support@desk.ru>"; its domain (`mail_domain`) ends our Message-IDs
    mail_from: str = "suz@localhost"
    # SUZ_IMAP_URL: the mailbox the desk reads letters from (mail/imap.py `Mailbox.from_url`):
    # imap://user:pass@host:port/FOLDER, imaps://..., imap+starttls://...; None: no polling
    # (an MTA may still pipe letters to `suz mail-in`). Never shown in the repr (a password)
    imap_url: str | None = field(default=None, repr=False)
    imap_interval: float = 30.0  # SUZ_IMAP_INTERVAL: seconds between polls of the mailbox
    # SUZ_MAIL_CATEGORY: the category (an id, or its Russian or English name) of requests filed
    # by letter; None: the first category in use
    mail_category: str | None = None
    mail_rate: int = 20  # SUZ_MAIL_RATE: letters a minute one address may send; more are refused
    # SUZ_PUBLIC_URL: where people reach the desk (no trailing slash): letters' links are
    # absolute, made from it (processes/mail_sender.py)
    public_url: str = "http://127.0.0.1:8000"
    # SUZ_AUTH_CACHE_TTL: seconds a process remembers who a session or API token is (web/
    # caller_cache.py): a revocation elsewhere holds here within it (docs/security.md); 0: off
    auth_cache_ttl: float = 2.0
    auth_cache_size: int = 10_000  # SUZ_AUTH_CACHE_SIZE: sessions and tokens remembered at most
    # SUZ_SESSION_PURGE_INTERVAL: seconds between deletions of expired sessions by the process
    # that runs the views (processes/purges.py); 0: never
    session_purge_interval: float = 600.0
    # SUZ_LOG_FORMAT: "json" (one JSON object a line) or "text"; None: JSON in production, text
    # in the demo (suz/logs.py). SUZ_LOG_LEVEL: the level of suz's own loggers
    log_format: str | None = None
    log_level: str = "INFO"
    # PROMETHEUS_MULTIPROC_DIR: where the worker processes of one `suz serve` keep their metrics
    # (prometheus-client's multiprocess mode); None: `suz serve` makes a fresh one (web/metrics.py)
    metrics_dir: Path | None = None
    # SUZ_READY_MAX_LAG: /ready answers 503 while a view is more events behind the log than this
    ready_max_lag: int = 1000
    # SUZ_ANALYTICS_CACHE_MB: megabytes of the analytics rows' durations a process keeps between
    # dashboard reads (projections/analytics_cache.py; PostgreSQL only); 0: off
    analytics_cache_mb: int = 256
    # SUZ_ANALYTICS_PRIME=y|n: a serving process reads the analytics' default month and the year
    # to date once its views caught up (and after each UTC midnight), in the background, so that
    # a person's first look is read from the cache (projections/analytics_prime.py; PostgreSQL).
    # Unset: on in production, off in demo mode (the demo, the tests' many servers); off here
    # for settings built in code (the tests' sites)
    analytics_prime: bool = False

    @classmethod
    def from_env(cls) -> Settings:
        def path(name: str) -> Path | None:
            value = os.environ.get(name, "").strip()
            return Path(value) if value else None

        def key_path(name: str) -> Path | None:  # a key is a file already: SUZ_X or SUZ_X_FILE
            given, named = path(name), path(f"{name}_FILE")
            if given is not None and named is not None:
                raise ValueError(f"{name} and {name}_FILE are both set: give one")
            return given or named

        mode = os.environ.get("SUZ_MODE", "").strip() or "production"
        prime = os.environ.get("SUZ_ANALYTICS_PRIME", "").strip().lower()
        return cls(
            data_dir=Path(os.environ.get("SUZ_DATA_DIR", "./data")),
            database_url=secret("SUZ_DATABASE_URL") or None,
            seal_interval=float(os.environ.get("SUZ_SEAL_INTERVAL", "300") or 300),
            upload_limit=int(os.environ.get("SUZ_UPLOAD_LIMIT", "100") or 100),
            mode=mode,
            chain_key=key_path("SUZ_CHAIN_KEY"),
            signing_key=key_path("SUZ_SIGNING_KEY"),
            seal_to=(secret("SUZ_SEAL_TO") or "").strip() or None,
            metrics_token=(secret("SUZ_METRICS_TOKEN") or "").strip() or None,
            db_pool_size=int(os.environ.get("SUZ_DB_POOL_SIZE", "") or 10),
            db_pool_timeout=float(os.environ.get("SUZ_DB_POOL_TIMEOUT", "") or 10),
            store_pool_size=int(os.environ.get("SUZ_STORE_POOL_SIZE", "") or 5),
            store_max_overflow=int(os.environ.get("SUZ_STORE_MAX_OVERFLOW", "") or 5),
            run_views=os.environ.get("SUZ_RUN_VIEWS", "y") != "n",
            origins=os.environ.get("SUZ_ORIGINS"),
            forwarded_allow_ips=os.environ.get("SUZ_FORWARDED_ALLOW_IPS", "").strip() or None,
            max_upload_bytes=int(os.environ.get("SUZ_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES)),
            group_commit_us=int(os.environ.get("SUZ_GROUP_COMMIT_US", "") or 200),
            admin_password=secret("SUZ_ADMIN_PASSWORD") or None,
            smtp_url=_checked_smtp_url((secret("SUZ_SMTP_URL") or "").strip() or None),
            mail_from=_checked_mail_from(os.environ.get("SUZ_MAIL_FROM", "").strip()),
            imap_url=(secret("SUZ_IMAP_URL") or "").strip() or None,
            imap_interval=float(os.environ.get("SUZ_IMAP_INTERVAL", "") or 30),
            mail_category=os.environ.get("SUZ_MAIL_CATEGORY", "").strip() or None,
            mail_rate=int(os.environ.get("SUZ_MAIL_RATE", "") or 20),
            public_url=(
                os.environ.get("SUZ_PUBLIC_URL", "").strip().rstrip("/") or "http://127.0.0.1:8000"
            ),
            auth_cache_ttl=float(os.environ.get("SUZ_AUTH_CACHE_TTL", "") or 2.0),
            auth_cache_size=int(os.environ.get("SUZ_AUTH_CACHE_SIZE", "") or 10_000),
            session_purge_interval=float(os.environ.get("SUZ_SESSION_PURGE_INTERVAL", "") or 600),
            log_format=_checked_log_format(os.environ.get("SUZ_LOG_FORMAT", "").strip()),
            log_level=os.environ.get("SUZ_LOG_LEVEL", "").strip().upper() or "INFO",
            metrics_dir=path("PROMETHEUS_MULTIPROC_DIR"),
            ready_max_lag=int(os.environ.get("SUZ_READY_MAX_LAG", "") or 1000),
            analytics_cache_mb=int(os.environ.get("SUZ_ANALYTICS_CACHE_MB", "") or 256),
            analytics_prime=_yes_no("SUZ_ANALYTICS_PRIME", prime) if prime else mode != "demo",
        )

    def publish(self) -> None:
        """Writes what `suz serve` decided (views here or not, the allowed origins) into this
        process's environment: uvicorn's worker processes build their own `Settings.from_env`
        from the environment they inherit, and must agree with it."""
        os.environ["SUZ_RUN_VIEWS"] = "y" if self.run_views else "n"
        if self.origins is not None:
            os.environ["SUZ_ORIGINS"] = self.origins
        if self.forwarded_allow_ips is not None:  # read by uvicorn's Config (proxy headers)
            os.environ["FORWARDED_ALLOW_IPS"] = self.forwarded_allow_ips
        if self.metrics_dir is not None:  # prometheus-client reads it before its first metric
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(self.metrics_dir)

    @property
    def allowed_origins(self) -> str:
        """The origins cookie calls and websockets may come from (SUZ_ORIGINS, else the
        default's local addresses)."""
        return DEFAULT_ORIGINS if self.origins is None else self.origins

    @property
    def mail_domain(self) -> str:
        """The domain of SUZ_MAIL_FROM, lower case, a Cyrillic one in its IDNA form
        (xn--...): the right side of our Message-IDs."""
        domain = mail_address(self.mail_from)[1].rpartition("@")[2].lower()
        return domain.encode("idna").decode("ascii")

    @property
    def demo(self) -> bool:
        return self.mode == "demo"

    @property
    def log_json(self) -> bool:
        """Log lines as JSON objects (SUZ_LOG_FORMAT, else: in production)."""
        return self.log_format == "json" if self.log_format else not self.demo

    @property
    def chain_key_file(self) -> Path:
        """Where the chain key is: SUZ_CHAIN_KEY, else (demo mode) in the data folder."""
        return self.chain_key or self.data_dir / "chain_key"

    @property
    def signing_key_file(self) -> Path:
        """Where the signing key is: SUZ_SIGNING_KEY, else (demo mode) in the data folder."""
        return self.signing_key or self.data_dir / "signing_key.pem"

    @property
    def schema(self) -> str | None:
        """The PostgreSQL schema (SUZ_DATABASE_SCHEMA), if not the default."""
        return os.environ.get("SUZ_DATABASE_SCHEMA") or None

    @property
    def uses_postgres(self) -> bool:
        return self.database_url is not None

    def store_env(self, *, create_tables: bool = False) -> dict[str, str]:
        """The eventsourcing environment for the Desk application's event store."""
        env = {
            "TRANSCODER_TOPIC": "domain.transcoder:OrjsonTranscoder",
            "CREATE_TABLE": "y" if create_tables else "n",
            "AGGREGATE_CACHE_MAXSIZE": "2000",
            "SUZ_CHAIN_KEY": str(self.chain_key_file),  # read by the Desk's mapper
            "SUZ_MODE": self.mode,  # demo: a missing chain key is generated
            "SUZ_GROUP_COMMIT_US": str(self.group_commit_us),  # read by domain/group_commit.py
        }
        if self.database_url is None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            env["PERSISTENCE_MODULE"] = "eventsourcing.sqlite"
            env["SQLITE_DBNAME"] = str(self.data_dir / "events.sqlite")
            env["SQLITE_LOCK_TIMEOUT"] = "10"
            return env
        url = urlparse(self.database_url)
        if url.scheme not in ("postgresql", "postgres"):
            raise ValueError("SUZ_DATABASE_URL must start with postgresql://")
        env.update(
            PERSISTENCE_MODULE="eventsourcing.postgres",
            POSTGRES_DBNAME=url.path.lstrip("/") or "postgres",
            POSTGRES_HOST=url.hostname or "127.0.0.1",
            POSTGRES_PORT=str(url.port or 5432),
            POSTGRES_USER=unquote(url.username or "postgres"),
            POSTGRES_PASSWORD=unquote(url.password or ""),
            POSTGRES_POOL_SIZE=str(self.store_pool_size),
            POSTGRES_MAX_OVERFLOW=str(self.store_max_overflow),
            # no PRE_PING: a round trip before every use (~10% of a command); the recorder retries
            # a dead connection on a new one, so an outage heals without it (test_database_outage)
            POSTGRES_PRE_PING="n",
            POSTGRES_CONNECT_TIMEOUT=str(max(1, round(self.db_pool_timeout))),
        )
        if self.schema:
            env["POSTGRES_SCHEMA"] = self.schema
        return env


# -- secrets: from the environment, or from a file the environment names ----------------------

# Each may be given as SUZ_X=value or as SUZ_X_FILE=/run/secrets/x (a file holding the value, as
# docker and Kubernetes mount secrets: the value then shows in no process's environment); the
# keys SUZ_CHAIN_KEY and SUZ_SIGNING_KEY are files already, and take SUZ_X_FILE as another name.
SECRETS = (
    "SUZ_DATABASE_URL",
    "SUZ_METRICS_TOKEN",
    "SUZ_ADMIN_PASSWORD",
    "SUZ_SMTP_URL",
    "SUZ_IMAP_URL",
    "SUZ_SEAL_TO",
)


def secret(name: str) -> str | None:
    """The secret `name` from the environment (SUZ_X), or read from the file SUZ_X_FILE names
    (one line end at its end dropped); None when neither is set. ValueError when both are, or
    when the file cannot be read: it names the variable and the file, never the value."""
    given = os.environ.get(name) or None
    named = os.environ.get(f"{name}_FILE", "").strip()
    if not named:
        return given
    if given is not None:
        raise ValueError(f"{name} and {name}_FILE are both set: give one")
    try:
        value = Path(named).read_text(encoding="utf-8")
    except (OSError, UnicodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else "not UTF-8 text"
        raise ValueError(f"{name}_FILE: cannot read {named}: {reason}") from None
    value = value.removesuffix("\n").removesuffix("\r")
    if not value:
        raise ValueError(f"{name}_FILE: {named} is empty")
    return value


# -- mail (SUZ_SMTP_URL, SUZ_MAIL_FROM): parsed here so a wrong value stops the start, saying why

SMTP_SCHEMES = {"smtp": ("plain", 25), "smtps": ("tls", 465), "smtp+starttls": ("starttls", 587)}
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class SmtpServer:
    """SUZ_SMTP_URL's parts. `security`: "plain", "tls" (smtps://) or "starttls"."""

    security: str
    host: str
    port: int
    user: str | None = None
    password: str | None = field(default=None, repr=False)


def smtp_server(url: str) -> SmtpServer:
    """The parts of an SMTP URL, or ValueError naming SUZ_SMTP_URL and what is wrong (never
    repeating the URL: it may hold a password)."""

    def wrong(what: str) -> ValueError:
        return ValueError(f"SUZ_SMTP_URL: {what}")

    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise wrong("spaces or control characters in the URL")
    parts = urlsplit(url)
    if parts.scheme.lower() not in SMTP_SCHEMES:
        raise wrong("must start with smtp://, smtps:// or smtp+starttls://")
    security, default_port = SMTP_SCHEMES[parts.scheme.lower()]
    try:
        port = parts.port or default_port
    except ValueError:
        raise wrong("the port must be a number from 1 to 65535") from None
    host = parts.hostname
    if not host:
        raise wrong("no host (smtp://user:password@host:port)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise wrong("no path, query or fragment after host:port")
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if (user is None) != (password is None):
        raise wrong("give both user and password (smtp://user:password@host), or neither")
    if password is not None and security == "plain" and host not in _LOOPBACK:
        raise wrong(
            "a password over smtp:// would cross the network in clear text: "
            "use smtps:// or smtp+starttls:// (smtp:// with a password: loopback hosts only)"
        )
    return SmtpServer(security, host, port, user, password)


def mail_address(value: str) -> tuple[str, str]:
    """(display name, addr-spec) of one address "Name <a@b>" or "a@b"; ValueError if the value
    is not exactly one clean address."""
    if any(ord(c) < 32 or ord(c) == 127 or c in "\u2028\u2029\x85" for c in value):
        raise ValueError("control characters or line breaks in an address")
    header = _ADDRESSES("to", value)
    assert isinstance(header, AddressHeader)
    if header.defects or len(header.addresses) != 1:
        raise ValueError(f"not one address: {value!r}")
    address = header.addresses[0]
    if not address.username or not address.domain:
        raise ValueError(f"an address needs a local part and a domain: {value!r}")
    return address.display_name, address.addr_spec


_ADDRESSES = HeaderRegistry()


def _checked_smtp_url(url: str | None) -> str | None:
    if url is not None:
        smtp_server(url)
    return url


def _checked_mail_from(value: str) -> str:
    if not value:
        return "suz@localhost"
    try:
        mail_address(value)[1].rpartition("@")[2].encode("idna")
    except (ValueError, UnicodeError) as e:
        raise ValueError(f"SUZ_MAIL_FROM: {e} (e.g. Support <support@desk.ru>)") from None
    return value


def _yes_no(name: str, value: str) -> bool:
    if value not in ("y", "yes", "1", "true", "on", "n", "no", "0", "false", "off"):
        raise ValueError(f"{name}: {value!r}: use y or n")
    return value in ("y", "yes", "1", "true", "on")


def _checked_log_format(value: str) -> str | None:
    if value and value.lower() not in ("json", "text"):
        raise ValueError(f"SUZ_LOG_FORMAT: {value!r}: use json or text")
    return value.lower() or None

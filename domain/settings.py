"""Where suz keeps its events and how a process runs: read from the environment here and nowhere
else (SUZ_DATA_DIR, SUZ_DATABASE_URL, SUZ_DATABASE_SCHEMA, SUZ_SEAL_INTERVAL, SUZ_MODE,
SUZ_CHAIN_KEY, SUZ_SIGNING_KEY, SUZ_SEAL_TO, SUZ_ORIGINS, SUZ_RUN_VIEWS, SUZ_MAX_UPLOAD_BYTES,
SUZ_ADMIN_PASSWORD...);
every other module reads the fields of a `Settings`."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

DEFAULT_ORIGINS = "http://127.0.0.1:8000 http://localhost:8000"
DEFAULT_MAX_UPLOAD_BYTES = 25 * 1024 * 1024  # 25 MiB, as web/attachments.py's store defaults


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str | None
    seal_interval: float = 300.0  # seconds between seals of the log's head; 0: none
    upload_limit: int = 100  # SUZ_UPLOAD_LIMIT: files one caller may upload per hour
    # "demo" (./scripts/run, the tests: keys generated into the data folder) or "production"
    # (the default of from_env: keys must be given, outside the data folder; domain/keys.py)
    mode: str = "demo"
    chain_key: Path | None = None  # SUZ_CHAIN_KEY: the HMAC key of the events' chain
    signing_key: Path | None = None  # SUZ_SIGNING_KEY: the Ed25519 PEM that signs seals, exports
    seal_to: str | None = None  # SUZ_SEAL_TO: a file or URL every new seal is shipped to
    metrics_token: str | None = None  # SUZ_METRICS_TOKEN: /metrics wants it as a bearer token
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
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES  # SUZ_MAX_UPLOAD_BYTES: one attachment's cap
    # SUZ_GROUP_COMMIT_US: commands saved together are written in one transaction, a batch's
    # leader waiting up to this many microseconds for more (domain/group_commit.py); 0: off
    group_commit_us: int = 200
    # SUZ_ADMIN_PASSWORD: `suz create-admin` without a terminal takes the first administrator's
    # password from here (or --password-stdin); never shown in the settings' repr
    admin_password: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls) -> Settings:
        def path(name: str) -> Path | None:
            value = os.environ.get(name, "").strip()
            return Path(value) if value else None

        return cls(
            data_dir=Path(os.environ.get("SUZ_DATA_DIR", "./data")),
            database_url=os.environ.get("SUZ_DATABASE_URL") or None,
            seal_interval=float(os.environ.get("SUZ_SEAL_INTERVAL", "300") or 300),
            upload_limit=int(os.environ.get("SUZ_UPLOAD_LIMIT", "100") or 100),
            mode=os.environ.get("SUZ_MODE", "").strip() or "production",
            chain_key=path("SUZ_CHAIN_KEY"),
            signing_key=path("SUZ_SIGNING_KEY"),
            seal_to=os.environ.get("SUZ_SEAL_TO", "").strip() or None,
            metrics_token=os.environ.get("SUZ_METRICS_TOKEN", "").strip() or None,
            db_pool_size=int(os.environ.get("SUZ_DB_POOL_SIZE", "") or 10),
            db_pool_timeout=float(os.environ.get("SUZ_DB_POOL_TIMEOUT", "") or 10),
            store_pool_size=int(os.environ.get("SUZ_STORE_POOL_SIZE", "") or 5),
            store_max_overflow=int(os.environ.get("SUZ_STORE_MAX_OVERFLOW", "") or 5),
            run_views=os.environ.get("SUZ_RUN_VIEWS", "y") != "n",
            origins=os.environ.get("SUZ_ORIGINS"),
            max_upload_bytes=int(os.environ.get("SUZ_MAX_UPLOAD_BYTES", DEFAULT_MAX_UPLOAD_BYTES)),
            group_commit_us=int(os.environ.get("SUZ_GROUP_COMMIT_US", "") or 200),
            admin_password=os.environ.get("SUZ_ADMIN_PASSWORD") or None,
        )

    def publish(self) -> None:
        """Writes what `suz serve` decided (views here or not, the allowed origins) into this
        process's environment: uvicorn's worker processes build their own `Settings.from_env`
        from the environment they inherit, and must agree with it."""
        os.environ["SUZ_RUN_VIEWS"] = "y" if self.run_views else "n"
        if self.origins is not None:
            os.environ["SUZ_ORIGINS"] = self.origins

    @property
    def allowed_origins(self) -> str:
        """The origins cookie calls and websockets may come from (SUZ_ORIGINS, else the
        default's local addresses)."""
        return DEFAULT_ORIGINS if self.origins is None else self.origins

    @property
    def demo(self) -> bool:
        return self.mode == "demo"

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

"""The attachment store a process uses, chosen once from its settings (by suz/bootstrap.py, the
backup and the mail intake): PostgreSQL's when the store is PostgreSQL, so that every web host
serves every file; files under the data folder with SQLite (web/attachments.py, web/pg_blobs.py).
"""

from __future__ import annotations

from domain.settings import Settings
from projections.db import ViewDB
from web.attachments import BlobStore, FileBlobStore
from web.pg_blobs import PgBlobStore


def open_blob_store(settings: Settings, views: ViewDB) -> BlobStore:
    """The store of `settings`; on PostgreSQL it borrows the views' pool (`views`), so a
    process's connections stay bounded."""
    if views.dialect == "postgres":
        return PgBlobStore(views.pool)
    return FileBlobStore.from_settings(settings)

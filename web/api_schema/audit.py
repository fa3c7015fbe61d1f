"""The auditors' routes (web/audit_export.py, web/audit_seals.py): signed exports, the public
key, integrity checks and the seals of the log's head (docs/audit.md)."""

from __future__ import annotations

import typing
from datetime import date
from typing import Annotated

from msgspec import Meta

from web.api_schema.common import Answer, Moment, Operation, Raw, in_query
from web.api_schema.tickets import ZIP


class IntegrityProblem(Answer, kw_only=True):
    aggregate_id: str
    version: int
    position: int
    kind: str
    detail: str


class IntegrityCheck(Answer, kw_only=True):
    """A full check of the event log (`ok`: finished without a problem)."""

    id: int
    started_at: Moment
    finished_at: Moment | None
    running: bool
    ok: bool
    events: int
    aggregates: int
    problems: list[IntegrityProblem]


class LastCheck(Answer, kw_only=True):
    last: IntegrityCheck | None


class Seal(Answer, kw_only=True):
    """A signed seal of the log's head: what scripts/verify_export.py checks."""

    format: str
    number: int
    after: int
    position: int
    events: int
    digest: str
    previous: str
    sealed_at: Moment
    signature: Annotated[str, Meta(description="Base64 Ed25519 over the other fields.")]


class Seals(Answer, kw_only=True):
    seals: list[Seal]
    public_key: Annotated[str, Meta(description="The PEM key that verifies them.")]


class SealProblem(Answer, kw_only=True):
    seal: int
    after: int
    position: int
    kind: str
    detail: str


class SealReport(Answer, kw_only=True):
    ok: bool
    seals: int
    events: int
    sealed_to: int
    head: int
    problems: list[SealProblem]


class SealCheck(Answer, kw_only=True):
    id: int
    started_at: Moment
    finished_at: Moment | None
    running: bool
    report: SealReport | None


class LastSealCheck(Answer, kw_only=True):
    last: SealCheck | None


AUDITORS = (401, 403)
OPERATIONS = [
    Operation("get", "/api/v1/audit/public-key",
              "The public key that verifies export manifests and seals",
              Raw("application/x-pem-file", "the Ed25519 public key, PEM"), refusals=()),
    Operation("get", "/api/v1/audit/export",
              "Every event of a period (UTC days, both included), signed (auditors, curators, "
              "admins)", ZIP, params=(in_query("from", date), in_query("to", date)),
              refusals=(401, 403, 422)),
    Operation("get", "/api/v1/audit/checks/last", "The last full integrity check (auditors)",
              LastCheck, refusals=AUDITORS),
    Operation("get", "/api/v1/audit/seals",
              "Every signed seal of the log's head (auditors, curators, admins); JSON, or JSON "
              "Lines with format=jsonl, to keep and check later", Seals,
              params=(in_query("format", typing.Literal["json", "jsonl"]),), refusals=AUDITORS,
              also=(Raw("application/jsonl", "format=jsonl: one seal a line"),)),
    Operation("get", "/api/v1/audit/seals/checks/last",
              "The last check of the store against the seals (auditors)", LastSealCheck,
              refusals=AUDITORS),
]  # fmt: skip

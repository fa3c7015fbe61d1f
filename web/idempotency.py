"""`Idempotency-Key`: a command sent again with the same key gets the first answer, written once.

Every POST, PUT, PATCH or DELETE that carries the header is run at most once per caller and key:
the first one runs and its answer (status, the headers that matter, body) is kept for 24 hours;
a repeat with the same method, path, query and body gets that answer back (with
`Idempotent-Replayed: true`) and nothing runs; the same key with another request is refused
(422); a repeat while the first still runs waits for it (up to `WAIT` seconds, then 409). Answers
of 5xx, 429 and vanished clients are not kept, so a retry runs again.

The caller is who the credentials say (API token, session cookie, private-link key; an anonymous
caller also by address). Rows live beside the sessions, in the same database and through the
same connections (`web.sessions`); a row is found by a hash of the credentials and the key, and
the answer is encrypted with another key derived from both (AES-GCM): answers carry secrets shown
once (a private link's key), and a copy of the table reveals none of them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from anyio import to_thread
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.errors import error_response
from web.sessions import SessionStore
from web.ui import i18n

HEADER = b"idempotency-key"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TTL = 24 * 3600.0  # a key is remembered this long
WAIT = 10.0  # a repeat waits this long for the first request to finish
ABANDONED = 120.0  # a row still running after this long lost its process (killed): run again
MAX_BODY = 64 * 1024 * 1024  # a request body held in memory to compare repeats
KEPT_HEADERS = (b"content-type", b"location", b"content-disposition", b"etag")
NOT_KEPT = frozenset({429, 499})


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass(frozen=True)
class Claimed:
    """The key is ours: run the command, then `finish` or `abandon`."""


@dataclass(frozen=True)
class Busy:
    """The first request with this key is still running."""


@dataclass(frozen=True)
class Mismatch:
    """The key was used for another request."""


Outcome = Claimed | Busy | Mismatch | Answer


class IdempotencyStore:
    """Rows keyed by (caller, key), in the sessions' database and through its connections (the
    table is made with the sessions': web/sessions.py)."""

    def __init__(self, sessions: SessionStore, clock: Callable[[], float] = time.time) -> None:
        self._sessions = sessions
        self._table = sessions._tables()["i"]
        self._clock = clock

    def _run(self, sql: str, *params: object) -> tuple[list[Any], int]:
        return self._sessions._execute(sql.replace("{i}", self._table), params)

    def begin(self, secret: bytes, fingerprint: str) -> Outcome:
        """Claims the key, or says what became of the request that claimed it first."""
        row_key, now = _row_key(secret), self._clock()
        for _ in range(3):
            inserted = self._run(
                "INSERT INTO {i} VALUES (?, ?, ?, 0, '') ON CONFLICT (key_hash) DO NOTHING",
                row_key,
                fingerprint,
                now,
            )[1]
            if inserted:
                return Claimed()
            rows = self._run(
                "SELECT fingerprint, created, done, answer FROM {i} WHERE key_hash = ?", row_key
            )[0]
            if not rows:
                continue  # finished with an answer not kept, or expired, meanwhile
            stored_fingerprint, created, done, answer = rows[0]
            stale = created <= now - (TTL if done else ABANDONED)
            if stale:
                self._run("DELETE FROM {i} WHERE key_hash = ? AND created = ?", row_key, created)
                continue
            if stored_fingerprint != fingerprint:
                return Mismatch()
            return _decrypt(secret, answer) if done else Busy()
        return Busy()

    def finish(self, secret: bytes, answer: Answer) -> None:
        self._run(
            "UPDATE {i} SET done = 1, answer = ? WHERE key_hash = ?",
            _encrypt(secret, answer),
            _row_key(secret),
        )

    def abandon(self, secret: bytes) -> None:
        self._run("DELETE FROM {i} WHERE key_hash = ? AND done = 0", _row_key(secret))

    def purge_expired(self) -> int:
        return self._run("DELETE FROM {i} WHERE created <= ?", self._clock() - TTL)[1]


def _row_key(secret: bytes) -> str:
    return hashlib.sha256(b"suz-idempotency-row\0" + secret).hexdigest()


def _cipher(secret: bytes) -> AESGCM:
    return AESGCM(hashlib.sha256(b"suz-idempotency-answer\0" + secret).digest())


def _encrypt(secret: bytes, answer: Answer) -> str:
    plain = orjson.dumps(
        {
            "status": answer.status,
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in answer.headers],
            "body": base64.b64encode(answer.body).decode(),
        }
    )
    nonce = os.urandom(12)
    return base64.b64encode(nonce + _cipher(secret).encrypt(nonce, plain, None)).decode()


def _decrypt(secret: bytes, stored: str) -> Answer | Mismatch:
    raw = base64.b64decode(stored)
    try:
        plain = orjson.loads(_cipher(secret).decrypt(raw[:12], raw[12:], None))
    except InvalidTag:  # cannot happen for the same secret: the row key derives from it too
        return Mismatch()
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in plain["headers"]]
    return Answer(plain["status"], headers, base64.b64decode(plain["body"]))


def _secret(scope: Scope, key: bytes) -> bytes:
    """Who calls (every credential the request presents) and the key, as one byte string."""
    headers = dict(scope.get("headers") or [])
    parts = [
        headers.get(b"authorization", b""),
        headers.get(b"cookie", b"").split(b";"),
        headers.get(b"x-ticket-key", b""),
        scope.get("query_string", b""),
    ]
    cookie = next((c.strip() for c in parts[1] if c.strip().startswith(b"suz_session=")), b"")
    who = [parts[0], cookie, parts[2], _link_key(parts[3])]
    if not any(who):  # anonymous: also by address, so a guessed key shows nobody's answer
        who.append(str((scope.get("client") or ("", 0))[0]).encode())
    return b"\0".join([*who, key])


def _link_key(query: bytes) -> bytes:
    for pair in query.split(b"&"):
        name, _, value = pair.partition(b"=")
        if name == b"key":
            return value
    return b""


def _fingerprint(scope: Scope, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (
        scope["method"].encode(),
        scope["path"].encode(),
        scope.get("query_string", b""),
        dict(scope.get("headers") or []).get(b"content-type", b""),
        body,
    ):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


class Idempotency:
    """The ASGI middleware: commands with an `Idempotency-Key` run at most once."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _key(scope)
        if key is None:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        cookies = headers.get(b"cookie", b"").decode("latin-1")
        lang = next(
            (
                c.strip()[len(i18n.COOKIE) + 1 :]
                for c in cookies.split(";")
                if c.strip().startswith(i18n.COOKIE + "=")
            ),
            None,
        )
        i18n.use(i18n.choose(lang, headers.get(b"accept-language", b"").decode("latin-1")))
        if not (1 <= len(key) <= 255 and all(0x21 <= c <= 0x7E for c in key)):
            await _refuse(
                scope,
                send,
                422,
                "invalid_input",
                i18n.gettext(
                    "The Idempotency-Key header must be 1 to 255 visible ASCII characters "
                    "(a UUID is best)."
                ),
                ("Idempotency-Key",),
            )
            return
        body = await _read_body(receive)
        if body is None:
            await _refuse(
                scope,
                send,
                413,
                "too_large",
                i18n.gettext("A request with an Idempotency-Key may carry at most 64 MiB."),
            )
            return
        store = IdempotencyStore(scope["app"].state.services.sessions)
        secret = _secret(scope, key)
        outcome = await self._claim(store, secret, _fingerprint(scope, body))
        if not isinstance(outcome, Claimed):
            await _answer_outcome(scope, send, outcome)
            return
        await self._run(scope, body, receive, send, store, secret)

    async def _claim(self, store: IdempotencyStore, secret: bytes, fingerprint: str) -> Outcome:
        deadline = time.monotonic() + WAIT
        while True:
            outcome = await to_thread.run_sync(store.begin, secret, fingerprint)
            if not isinstance(outcome, Busy) or time.monotonic() >= deadline:
                return outcome
            await asyncio.sleep(0.1)

    async def _run(
        self,
        scope: Scope,
        body: bytes,
        receive: Receive,
        send: Send,
        store: IdempotencyStore,
        secret: bytes,
    ) -> None:
        status, headers, chunks = 500, [], []
        sent_body = False

        async def replay() -> Message:
            nonlocal sent_body
            if sent_body:
                return await receive()  # the body was read: only the client's disconnect is left
            sent_body = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def keep(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status, headers = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay, keep)
        except BaseException:
            await to_thread.run_sync(store.abandon, secret)
            raise
        if status >= 500 or status in NOT_KEPT:
            await to_thread.run_sync(store.abandon, secret)
            return
        kept = [(k, v) for k, v in headers if k.lower() in KEPT_HEADERS]
        await to_thread.run_sync(store.finish, secret, Answer(status, kept, b"".join(chunks)))


def _key(scope: Scope) -> bytes | None:
    if scope["type"] != "http" or scope["method"] not in WRITES:
        return None
    return dict(scope.get("headers") or []).get(HEADER)


async def _read_body(receive: Receive) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _answer_outcome(scope: Scope, send: Send, outcome: Outcome) -> None:
    if isinstance(outcome, Answer):
        headers = [
            *outcome.headers,
            (b"idempotent-replayed", b"true"),
            (b"content-length", str(len(outcome.body)).encode()),
        ]
        await send({"type": "http.response.start", "status": outcome.status, "headers": headers})
        await send({"type": "http.response.body", "body": outcome.body})
    elif isinstance(outcome, Mismatch):
        await _refuse(
            scope,
            send,
            422,
            "idempotency_key_reused",
            i18n.gettext(
                "This Idempotency-Key was already used for a different request (another method, "
                "address or body). Use a new key for a new request."
            ),
            ("Idempotency-Key",),
        )
    else:
        await _refuse(
            scope,
            send,
            409,
            "idempotency_key_in_progress",
            i18n.gettext(
                "A request with this Idempotency-Key is still being processed. Send it again in a "
                "moment to get its answer."
            ),
            headers={"Retry-After": "1"},
        )


async def _refuse(
    scope: Scope,
    send: Send,
    status: int,
    code: str,
    message: str,
    fields: tuple[str, ...] = (),
    headers: dict[str, str] | None = None,
) -> None:
    response = error_response(
        status, code, message, fields, headers=headers, instance=scope.get("path", "")
    )
    await response(scope, _no_receive, send)


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}

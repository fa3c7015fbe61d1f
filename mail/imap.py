"""E-mail in over IMAP: the poller reads the unseen letters of one mailbox folder and gives each
one's raw bytes to a handler (the intake), which says what became of it.

What a poll does with each unseen letter, oldest first (UID order):

- it fetches the letter with `BODY.PEEK[]`, so nothing is marked read before the handler decided;
- STORED or DUPLICATE: the letter is marked `\\Seen` (it is done);
- REFUSED: marked `\\Seen` and moved to the folder `suz-refused` (created when missing), where a
  person can look at it; a server without MOVE gets a copy there instead, and without the folder
  (it cannot be created) the letter only stays read;
- RETRY, or the handler raising: the letter stays unseen and the poll stops (the store is down:
  the next poll tries again, the server is not hammered meanwhile). A raised exception goes on to
  the caller after the poll logged out, so that the supervisor records the failure.

Exactly once is the domain's business, not the transport's: the intake records each Message-ID
and answers DUPLICATE for a letter it already has, so a crash between the handler and `\\Seen`
only delivers the letter again, harmlessly.

The mailbox is named by a URL (the setting SUZ_IMAP_URL):

- `imaps://user:password@host[:993]/FOLDER`: TLS from the first byte, certificate and host name
  verified against the system's trusted certificates (SSL_CERT_FILE names others);
- `imap+starttls://user:password@host[:143]/FOLDER`: plain connection upgraded with STARTTLS,
  verified the same way; a server that does not offer STARTTLS is an error, never a silent
  fallback to plain text;
- `imap://user:password@host[:143]/FOLDER`: plain text, no TLS at all, for a server on the same
  host or a private network. It does not try STARTTLS on its own: an upgrade that is not
  verified protects nothing, and one that is verified breaks on the self-signed certificate
  a local dovecot usually has; say imap+starttls:// to want it.

User and password are percent-decoded (`%40` for `@`); the folder defaults to INBOX.

The standard library's imaplib, not imap-tools: a poll needs six commands (LOGIN or
AUTHENTICATE, SELECT, UID SEARCH, UID FETCH with BODY.PEEK, UID STORE, UID MOVE/COPY) and exact
control over when `\\Seen` is set; imap-tools wraps the same imaplib, marks letters read on
fetch unless told otherwise and parses each letter into its own message object, which the
intake does itself (mail/), so it would add a dependency for nothing the poller uses.
"""

from __future__ import annotations

import base64
import contextlib
import imaplib
import logging
import re
import ssl
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import unquote, urlsplit

log = logging.getLogger("suz.mail")

REFUSED_FOLDER = "suz-refused"
SETTING = "SUZ_IMAP_URL"
_PORTS = {"imap": 143, "imap+starttls": 143, "imaps": 993}


class Outcome(StrEnum):
    """What the handler made of one letter."""

    STORED = "stored"  # a new letter, taken in
    DUPLICATE = "duplicate"  # already taken in (the same Message-ID): done
    REFUSED = "refused"  # never will be taken in (not a letter, not allowed): set aside
    RETRY = "retry"  # could not be taken in now (the store is down): ask again later


class ImapError(Exception):
    """The mailbox cannot be read now: connection, TLS, login or folder. The message names the
    mailbox without its password."""


@dataclass(frozen=True)
class Mailbox:
    """One folder of one IMAP account."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    folder: str = "INBOX"
    security: str = "imap"  # imap (plain), imap+starttls or imaps

    @classmethod
    def from_url(cls, url: str) -> Mailbox:
        """Reads `imap[s]://user:password@host[:port]/FOLDER`; a ValueError says what is wrong
        (never repeating the password)."""

        def bad(why: str) -> ValueError:
            return ValueError(
                f"{SETTING} must look like imaps://user:password@host[:port]/FOLDER "
                f"(or imap+starttls://, imap://): {why}"
            )

        if not isinstance(url, str) or not url.strip():
            raise bad("it is empty")
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError as e:
            raise bad(f"it cannot be read ({e})") from None
        scheme = parts.scheme.lower()
        if scheme not in _PORTS:
            raise bad(f"the scheme is {scheme!r}" if scheme else "the scheme is missing")
        if not parts.hostname:
            raise bad("the host is missing")
        if parts.username is None or parts.password is None:
            raise bad("the user and the password are missing")
        user, password = unquote(parts.username), unquote(parts.password)
        if not user:
            raise bad("the user is empty")
        if parts.query or parts.fragment:
            raise bad("a query (?...) or fragment (#...) is not understood")
        folder = unquote(parts.path.removeprefix("/")) or "INBOX"
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in folder):
            raise bad("the folder has control characters")
        return cls(
            host=parts.hostname,
            port=port or _PORTS[scheme],
            user=user,
            password=password,
            folder=folder,
            security=scheme,
        )

    def __str__(self) -> str:
        """The mailbox for a log line: no password."""
        return f"{self.security}://{self.user}@{self.host}:{self.port}/{self.folder}"


def poll_once(
    box: Mailbox,
    handle: Callable[[bytes], Outcome],
    *,
    batch: int = 50,
    timeout: float = 30.0,
) -> Counter[Outcome]:
    """Gives the oldest `batch` unseen letters of `box` to `handle`, one by one (see the module's
    docstring); returns how many came to each outcome. Raises ImapError when the mailbox cannot
    be read, and whatever `handle` raised."""
    if batch < 1:
        raise ValueError(f"batch must be at least 1, not {batch}")
    counts: Counter[Outcome] = Counter()
    client = _open(box, timeout)
    try:
        uids = _unseen(client, box)[:batch]
        aside: _Aside | None = None
        for uid in uids:
            raw = _fetch(client, box, uid)
            if raw is None:  # expunged by someone else since the search
                continue
            outcome = Outcome(handle(raw))  # raising: the letter stays unseen, the poll stops
            counts[outcome] += 1
            if outcome is Outcome.RETRY:
                log.info("%s: letter %s to be retried; poll stopped", box, uid)
                break
            _ok(box, "mark as read", client.uid, "STORE", uid, "+FLAGS.SILENT", r"(\Seen)")
            if outcome is Outcome.REFUSED:
                aside = aside or _Aside(client, box)
                aside.put(uid)
    finally:
        _close(client)
    return counts


# -- the IMAP conversation ----------------------------------------------------------------------


def _open(box: Mailbox, timeout: float) -> imaplib.IMAP4:
    """Connected, logged in, with the folder selected."""
    try:
        if box.security == "imaps":
            client: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                box.host, box.port, ssl_context=ssl.create_default_context(), timeout=timeout
            )
        else:
            client = imaplib.IMAP4(box.host, box.port, timeout=timeout)
    except (OSError, imaplib.IMAP4.error) as e:
        raise ImapError(f"IMAP {box}: cannot connect: {e}") from e
    try:
        if box.security == "imap+starttls":
            if "STARTTLS" not in client.capabilities:
                raise ImapError(f"IMAP {box}: the server does not offer STARTTLS")
            client.starttls(ssl.create_default_context())
        _login(client, box)
        _capabilities(client, box)
        typ, data = client.select(_folder_arg(box.folder))
        if typ != "OK":
            raise ImapError(f"IMAP {box}: cannot open the folder: {_text(data)}")
        return client
    except BaseException as e:
        _close(client)
        if isinstance(e, (OSError, imaplib.IMAP4.error)):
            raise ImapError(f"IMAP {box}: {e}") from e
        raise


def _login(client: imaplib.IMAP4, box: Mailbox) -> None:
    """AUTHENTICATE PLAIN when offered (any characters, UTF-8), LOGIN otherwise."""
    try:
        if "AUTH=PLAIN" in client.capabilities:
            secret = f"\0{box.user}\0{box.password}".encode()
            client.authenticate("PLAIN", lambda _challenge: secret)
        elif "LOGINDISABLED" in client.capabilities:
            raise ImapError(
                f"IMAP {box}: the server refuses to log in without TLS; use imaps:// "
                "or imap+starttls://"
            )
        else:
            client.login(_quote(box.user), box.password)
    except imaplib.IMAP4.abort:
        raise
    except imaplib.IMAP4.error as e:
        raise ImapError(f"IMAP {box}: the login was refused: {_text([e.args[0]])}") from e


def _capabilities(client: imaplib.IMAP4, box: Mailbox) -> None:
    """Asks again after the login: a server tells its full set (MOVE...) to a logged-in user
    only, and imaplib keeps the greeting's."""
    data = _ok(box, "capability", client.capability)
    words = b" ".join(d for d in data if isinstance(d, bytes)).decode(errors="replace")
    client.capabilities = tuple(words.upper().split())


def _unseen(client: imaplib.IMAP4, box: Mailbox) -> list[str]:
    data = _ok(box, "search", client.uid, "SEARCH", "UNSEEN")
    found = b" ".join(d for d in data if isinstance(d, bytes)).split()
    return [u.decode() for u in sorted(found, key=int)]


def _fetch(client: imaplib.IMAP4, box: Mailbox, uid: str) -> bytes | None:
    data = _ok(box, "fetch", client.uid, "FETCH", uid, "(BODY.PEEK[])")
    for item in data:
        if isinstance(item, tuple) and re.search(rb"\bBODY\[\] ", item[0] + b" "):
            return bytes(item[1])
    return None


class _Aside:
    """The REFUSED letters' folder, created on first use within a poll."""

    def __init__(self, client: imaplib.IMAP4, box: Mailbox) -> None:
        self.client, self.box = client, box
        self.folder = _folder_arg(REFUSED_FOLDER)
        typ, data = _call(box, "list", client.list, '""', self.folder)
        exists = typ == "OK" and any(d for d in data)
        if not exists:
            typ, data = _call(box, "create", client.create, self.folder)
            exists = typ == "OK"
            if not exists:
                log.warning("%s: cannot create %s: %s", box, REFUSED_FOLDER, _text(data))
        self.exists = exists

    def put(self, uid: str) -> None:
        if not self.exists:
            return
        # without MOVE the letter also stays here, read
        verb = "MOVE" if "MOVE" in self.client.capabilities else "COPY"
        typ, data = _call(self.box, verb, self.client.uid, verb, uid, self.folder)
        if typ != "OK":
            log.warning("%s: cannot %s letter %s aside: %s", self.box, verb, uid, _text(data))


def _call(
    box: Mailbox, what: str, command: Callable[..., tuple[str, list[Any]]], *args: str
) -> tuple[str, list[Any]]:
    """One IMAP command; a broken connection or a BAD answer becomes an ImapError."""
    try:
        return command(*args)
    except (OSError, imaplib.IMAP4.error) as e:
        raise ImapError(f"IMAP {box}: {what} failed: {e}") from e


def _ok(
    box: Mailbox, what: str, command: Callable[..., tuple[str, list[Any]]], *args: str
) -> list[Any]:
    """One IMAP command that must succeed."""
    typ, data = _call(box, what, command, *args)
    if typ != "OK":
        raise ImapError(f"IMAP {box}: {what} failed: {_text(data)}")
    return data


def _close(client: imaplib.IMAP4) -> None:
    with contextlib.suppress(OSError, imaplib.IMAP4.error):  # the connection is gone already
        client.logout()


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _folder_arg(name: str) -> str:
    """A folder name as an IMAP argument: modified UTF-7 (RFC 3501 5.1.3), quoted."""
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            coded = base64.b64encode("".join(run).encode("utf-16-be")).rstrip(b"=")
            out.append("&" + coded.replace(b"/", b",").decode() + "-")
            run.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    flush()
    return _quote("".join(out))


def _text(data: Sequence[object]) -> str:
    return " ".join(
        d.decode(errors="replace") if isinstance(d, bytes) else str(d)
        for d in data
        if d is not None
    )

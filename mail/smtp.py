"""Handing letters to an SMTP server (SUZ_SMTP_URL) and saying what became of each.

The standard library's smtplib, not aiosmtplib: the sender runs in a background thread of the
notifications process (blocking calls there hold up nothing else), smtplib is what the rest of
the Python world has tested against real servers for decades, and one more asyncio dependency
would buy nothing a thread does not already give.

Every failure is a `SendFailure`, `temporary` or not, which the caller turns into a retry with
backoff or a dead letter:
- the channel (connecting, TLS, EHLO, STARTTLS, AUTH): always temporary, whatever the code.
  Nothing is wrong with the letter; the operator fixes the server, the password or the
  certificate and the letters waiting go out. That includes 535 (wrong password; also 530
  "authentication required", 534 and 538 at any stage) and a refusal at the greeting:
  "permanent" would dead-letter every letter of the outage. `stage` ("connect" or "auth")
  tells the caller to alert someone rather than blame the letter.
- the letter's own transaction (MAIL, RCPT, DATA; `stage` "mail", "rcpt", "data"): 5xx is
  permanent (this recipient or this content is refused), 4xx temporary (greylisting, mailbox
  busy, 421 the server closing).
- a dropped connection or a timeout: temporary (`stage` "send"). A letter whose DATA went out
  but whose answer never came may have been delivered: retrying it (here once, or by the
  caller later) can deliver it twice. SMTP gives nothing better; a duplicate notification is
  the lesser harm next to a lost one.

TLS: smtps:// wraps the connection from the start, smtp+starttls:// insists on STARTTLS (a
server that does not offer it is a channel failure: never a silent fallback to clear text);
certificates and host names are verified with the system's trust store unless a context is given.
"""

from __future__ import annotations

import base64
import contextlib
import smtplib
import ssl
from collections.abc import Sequence
from email.headerregistry import AddressHeader
from email.message import EmailMessage

from domain.settings import SmtpServer, smtp_server

_CHANNEL = ("connect", "auth")
# answers about our credentials, whenever they come (530 "authentication required" arrives at
# MAIL when no password was configured): the channel's, so temporary, with stage "auth"
_AUTH_CODES = frozenset({530, 534, 535, 538})


class SendFailure(Exception):
    """A letter not handed over. `temporary`: try again later (with backoff); else dead letter.
    `code`: the server's reply code, if it answered; `stage`: where it failed (connect, auth,
    mail, rcpt, data, send)."""

    def __init__(self, reason: str, *, temporary: bool, code: int | None, stage: str) -> None:
        super().__init__(reason)
        self.temporary = temporary
        self.code = code
        self.stage = stage

    def copy(self) -> SendFailure:
        return SendFailure(str(self), temporary=self.temporary, code=self.code, stage=self.stage)

    def __repr__(self) -> str:
        kind = "temporary" if self.temporary else "permanent"
        return f"SendFailure({kind}, code={self.code}, stage={self.stage}: {self})"


class SmtpTarget:
    """One SMTP server. Holds no connection between calls (each `send_many` opens its own), so
    one target may serve several threads."""

    def __init__(
        self,
        server: SmtpServer,
        *,
        timeout: float = 30.0,
        tls: ssl.SSLContext | None = None,
        helo: str | None = None,
        envelope_from: str | None = None,
    ) -> None:
        self.server = server
        self.timeout = timeout
        self._tls = tls  # None: the system's trust store, host names checked (made once)
        self.helo = helo  # the EHLO name; None: this host's FQDN (smtplib's default)
        self.envelope_from = envelope_from  # None: the address of each letter's From

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        timeout: float = 30.0,
        tls: ssl.SSLContext | None = None,
        helo: str | None = None,
        envelope_from: str | None = None,
    ) -> SmtpTarget:
        """A target for SUZ_SMTP_URL (ValueError saying what is wrong with it)."""
        return cls(
            smtp_server(url), timeout=timeout, tls=tls, helo=helo, envelope_from=envelope_from
        )

    @property
    def tls(self) -> ssl.SSLContext:
        """The TLS context: the one given, else the system's (loading the trust store takes
        tens of milliseconds: once per target, and only for smtps or STARTTLS)."""
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    def send(self, message: EmailMessage) -> None:
        """Hands one letter over, or raises SendFailure."""
        failure = self.send_many([message])[0]
        if failure is not None:
            raise failure

    def send_many(self, messages: Sequence[EmailMessage]) -> list[SendFailure | None]:
        """Hands letters over on one connection, in order: for each, None (accepted) or why
        not. A refused letter does not stop its neighbours; a connection dropped mid-batch is
        opened again once (the letter it dropped is tried again on it); after that, or if the
        channel cannot be opened, every letter left gets that temporary failure. No letters,
        no connection."""
        results: list[SendFailure | None] = []
        conn: smtplib.SMTP | None = None
        reconnected = False
        broken: SendFailure | None = None  # the channel's failure, given to every letter left
        try:
            for message in messages:
                while True:
                    if broken is not None:
                        results.append(broken.copy())
                        break
                    if conn is None:
                        try:
                            conn = self._connect()
                        except SendFailure as failure:
                            broken = failure
                            continue
                    try:
                        results.append(self._transaction(conn, message))
                        break
                    except _Dropped as dropped:
                        _close(conn)
                        conn = None
                        if reconnected:
                            broken = dropped.failure
                        reconnected = True
        finally:
            if conn is not None:
                _close(conn, polite=True)
        return results

    def _connect(self) -> smtplib.SMTP:
        server, stage = self.server, "connect"
        conn: smtplib.SMTP | None = None
        try:
            if server.security == "tls":
                conn = smtplib.SMTP_SSL(
                    server.host,
                    server.port,
                    local_hostname=self.helo,
                    timeout=self.timeout,
                    context=self.tls,
                )
            else:
                conn = smtplib.SMTP(
                    server.host, server.port, local_hostname=self.helo, timeout=self.timeout
                )
            conn.ehlo()
            if server.security == "starttls":
                conn.starttls(context=self.tls)
                conn.ehlo()
            if server.user is not None and server.password is not None:
                stage = "auth"
                _login(conn, server.user, server.password)
            return conn
        except (smtplib.SMTPException, OSError, ValueError) as e:
            if conn is not None:
                _close(conn)
            raise _failure(e, stage) from None

    def _transaction(self, conn: smtplib.SMTP, message: EmailMessage) -> SendFailure | None:
        """One letter on an open connection: None or its failure; _Dropped if the connection
        went away (the caller decides about reconnecting)."""
        try:
            sender = self.envelope_from or _address_of(message, "From")
            recipient = _address_of(message, "To")
        except ValueError as e:
            return SendFailure(str(e), temporary=False, code=None, stage="mail")
        try:
            conn.send_message(message, sender, [recipient])
            return None
        except smtplib.SMTPServerDisconnected as e:
            raise _Dropped(_failure(e, "send")) from None
        except smtplib.SMTPRecipientsRefused as e:
            code, answer = next(iter(e.recipients.values()), (None, b""))
            return _failure(smtplib.SMTPResponseException(code or -1, answer), "rcpt")
        except smtplib.SMTPSenderRefused as e:
            return _failure(e, "mail")
        except smtplib.SMTPDataError as e:
            return _failure(e, "data")
        except smtplib.SMTPNotSupportedError as e:  # the letter needs SMTPUTF8 the server lacks
            return SendFailure(str(e), temporary=False, code=None, stage="mail")
        except ValueError as e:  # the letter cannot be flattened (before any command is sent)
            return SendFailure(f"unwritable letter: {e}", temporary=False, code=None, stage="mail")
        except (smtplib.SMTPException, OSError) as e:
            raise _Dropped(_failure(e, "send")) from None


class _Dropped(Exception):
    def __init__(self, failure: SendFailure) -> None:
        super().__init__(str(failure))
        self.failure = failure


def _failure(e: BaseException, stage: str) -> SendFailure:
    if isinstance(e, smtplib.SMTPResponseException):
        code: int | None = e.smtp_code if e.smtp_code > 0 else None
        answer = e.smtp_error.decode("utf-8", "replace") if isinstance(e.smtp_error, bytes) else ""
        reason = f"{code} {answer}".strip() if code else answer or type(e).__name__
        if code in _AUTH_CODES:
            stage = "auth"
        permanent = stage not in _CHANNEL and code is not None and 500 <= code < 600
        return SendFailure(reason, temporary=not permanent, code=code, stage=stage)
    return SendFailure(f"{type(e).__name__}: {e}", temporary=True, code=None, stage=stage)


def _login(conn: smtplib.SMTP, user: str, password: str) -> None:
    """AUTH; smtplib's `login` encodes credentials as ASCII, so a non-ASCII user or password
    ("пароль") goes as AUTH PLAIN in UTF-8 (RFC 4616) instead."""
    if (user + password).isascii():
        conn.login(user, password)
        return
    if "PLAIN" not in conn.esmtp_features.get("auth", "").upper().split():
        raise smtplib.SMTPNotSupportedError("non-ASCII credentials need AUTH PLAIN")
    blob = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
    code, answer = conn.docmd("AUTH", f"PLAIN {blob}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, answer)


def _address_of(message: EmailMessage, name: str) -> str:
    header = message[name]
    if not isinstance(header, AddressHeader) or len(header.addresses) != 1:
        raise ValueError(f"the letter needs exactly one {name} address")
    return header.addresses[0].addr_spec


def _close(conn: smtplib.SMTP, *, polite: bool = False) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError):
        if polite:
            conn.quit()
    conn.close()

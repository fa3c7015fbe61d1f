"""A real SMTP server for tests: aiosmtpd on 127.0.0.1 and a free port, keeping every letter.

Import the fixtures into a test module or a conftest (`from tests.mail.smtp_server import
smtp_server  # noqa: F401`), or start one with `running_server(...)`:

- `smtp_server`: plain SMTP, no AUTH. `smtp_auth_server`: AUTH required (LOGIN/PLAIN against
  `AUTH_USER` / `AUTH_PASSWORD`; offered without TLS, for plain tests), its `url` carries the
  right credentials. `smtps_server` (TLS from the start) and `starttls_server` (STARTTLS
  required) use a self-signed certificate for 127.0.0.1; `client_tls` is a context trusting it.
- `server.received`: each letter's envelope and raw bytes (`Received.message()` parses them
  with the standard parser); `server.wait_for(n, timeout)` waits until n have arrived.
- `server.refuse_next(status, count)` answers the next letters' DATA with `status` ("451 4.3.0
  try later", "550 5.7.1 refused"); `server.refuse_recipient(address, status)` refuses one
  address at RCPT; `server.drop_next(count, after=k)` cuts the connection at the next
  `count` MAIL commands after letting k through.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import socket
import ssl
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

AUTH_USER = "suz@desk.test"
AUTH_PASSWORD = "p@ss:wörd/%"  # URL-special characters on purpose: percent-encoded in `url`
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes  # as received (CRLF line ends, dots unstuffed)

    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.data)
        assert isinstance(parsed, EmailMessage)
        return parsed


class Recorder:
    """The aiosmtpd handler: keeps letters, refuses or drops on request."""

    def __init__(self, *, require_auth: bool = False) -> None:
        self.require_auth = require_auth
        self.received: list[Received] = []
        self.logins: list[str] = []  # users who authenticated
        self._changed = threading.Condition()
        self._data_answers: deque[str] = deque()
        self._refused: dict[str, str] = {}
        self._drops = 0
        self._drop_after = 0  # MAIL commands to let through before the drops

    # -- what a test asks for

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Received]:
        """The first n letters, once they have arrived; AssertionError after `timeout` s."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.received) >= n, timeout):
                raise AssertionError(f"{len(self.received)} letters arrived, {n} expected")
            return self.received[:n]

    def refuse_next(self, status: str, count: int = 1) -> None:
        with self._changed:
            self._data_answers.extend([status] * count)

    def refuse_recipient(self, address: str, status: str = "550 5.1.1 No such user") -> None:
        with self._changed:
            self._refused[address.lower()] = status

    def drop_next(self, count: int = 1, *, after: int = 0) -> None:
        """Cuts the connection at the next `count` MAIL commands, after letting `after` pass."""
        with self._changed:
            self._drops += count
            self._drop_after = after

    # -- aiosmtpd's hooks (called in the server's thread)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        with self._changed:
            drop = self._drops > 0 and self._drop_after == 0
            if drop:
                self._drops -= 1
            elif self._drops:
                self._drop_after -= 1
        if drop:
            assert isinstance(server.transport, asyncio.WriteTransport)
            server.transport.abort()
            return "421 4.3.0 dropped"  # never reaches the client: the connection is gone
        if self.require_auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        with self._changed:
            refusal = self._refused.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._changed:
            if self._data_answers:
                return self._data_answers.popleft()
            content = envelope.content
            assert isinstance(content, bytes) and envelope.mail_from is not None
            self.received.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), content))
            self._changed.notify_all()
        return "250 2.0.0 Accepted"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == AUTH_USER
            and data.password.decode() == AUTH_PASSWORD
        )
        if ok:
            with self._changed:
                self.logins.append(AUTH_USER)
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


@dataclass
class RunningServer:
    recorder: Recorder
    port: int
    scheme: str  # smtp, smtps, smtp+starttls
    userinfo: str = ""  # "user:password@", percent-encoded

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.userinfo}{HOST}:{self.port}"

    @property
    def received(self) -> list[Received]:
        return self.recorder.received

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Received]:
        return self.recorder.wait_for(n, timeout)

    def refuse_next(self, status: str, count: int = 1) -> None:
        self.recorder.refuse_next(status, count)

    def refuse_recipient(self, address: str, status: str = "550 5.1.1 No such user") -> None:
        self.recorder.refuse_recipient(address, status)

    def drop_next(self, count: int = 1, *, after: int = 0) -> None:
        self.recorder.drop_next(count, after=after)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def running_server(
    *, require_auth: bool = False, tls: ssl.SSLContext | None = None, starttls: bool = False
) -> Iterator[RunningServer]:
    """An aiosmtpd server until the block ends. `tls` (a server context) with `starttls`:
    STARTTLS required; without: TLS from the first byte (smtps)."""
    recorder = Recorder(require_auth=require_auth)
    kwargs: dict[str, Any] = {}
    if require_auth:
        # AUTH is offered without TLS (auth_require_tls=False) and required by handle_MAIL:
        # aiosmtpd's own auth_required with auth_require_tls=False raises a UserWarning
        kwargs.update(authenticator=recorder.authenticate, auth_require_tls=False)
    if tls is not None and starttls:
        kwargs.update(tls_context=tls, require_starttls=True)
    elif tls is not None:
        kwargs.update(ssl_context=tls)
    port = free_port()
    controller = Controller(recorder, hostname=HOST, port=port, server_hostname="mx.test", **kwargs)
    controller.start()
    scheme = "smtp+starttls" if starttls else "smtps" if tls is not None else "smtp"
    userinfo = ""
    if require_auth:
        userinfo = f"{quote(AUTH_USER, safe='')}:{quote(AUTH_PASSWORD, safe='')}@"
    try:
        yield RunningServer(recorder, port, scheme, userinfo)
    finally:
        controller.stop()


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """Trusts this certificate only (host names checked: it is made for 127.0.0.1)."""
        return ssl.create_default_context(cafile=str(self.cert))


def make_certificate(folder: Path) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "suz test SMTP")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(HOST)), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    paths = Certificate(folder / "smtp-cert.pem", folder / "smtp-key.pem")
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


@pytest.fixture
def smtp_server() -> Iterator[RunningServer]:
    with running_server() as server:
        yield server


@pytest.fixture
def smtp_auth_server() -> Iterator[RunningServer]:
    with running_server(require_auth=True) as server:
        yield server


@pytest.fixture(scope="session")
def smtp_certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture
def client_tls(smtp_certificate: Certificate) -> ssl.SSLContext:
    return smtp_certificate.client_context()


@pytest.fixture
def smtps_server(smtp_certificate: Certificate) -> Iterator[RunningServer]:
    with running_server(tls=smtp_certificate.server_context()) as server:
        yield server


@pytest.fixture
def starttls_server(smtp_certificate: Certificate) -> Iterator[RunningServer]:
    with running_server(tls=smtp_certificate.server_context(), starttls=True) as server:
        yield server

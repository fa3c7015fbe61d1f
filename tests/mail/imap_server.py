"""A real IMAP server for the tests: Debian's dovecot, started for the module that asks for it.

Import the fixtures into a test module (or a conftest.py) to use them:

    from tests.mail.imap_server import dovecot_fixture, imap_server_fixture  # noqa: F401

`imap_server` is one mailbox, emptied before each test, on a dovecot started once per module
(`dovecot`: start-up takes about a second). It has the server's `url` (plain IMAP), `ssl_url`
(IMAP over TLS with a self-signed certificate for 127.0.0.1, written to `certificate`: a client
trusts it with `SSL_CERT_FILE`), and helpers that speak real IMAP to it: `append`, `flags`,
`uids`, `message`, `folders`.

The server runs from a fresh folder under the system's temporary folder with its own
configuration, sockets, state, log and maildir storage, listening on 127.0.0.1 only; nothing of
the machine's own dovecot (/etc/dovecot, a system service) is used. The folder is not pytest's
tmp_path: dovecot drops privileges for the mail and login processes (it refuses to touch mail as
root), and those users cannot reach a root-only tmp_path.

Without dovecot the tests skip locally, saying why; in CI (CI=true) they fail instead.
"""

from __future__ import annotations

import datetime
import grp
import imaplib
import ipaddress
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.conftest import IN_CI

DOVECOT = Path(os.environ.get("SUZ_DOVECOT", "/usr/sbin/dovecot"))
HOST = "127.0.0.1"
USER, PASSWORD = "desk", "secret"
START_DEADLINE = 30.0  # seconds: a loaded machine may be slow, a broken start fails sooner


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (an IP address SAN, so that hostname checks pass)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def _config(root: Path, port: int, ssl_port: int, cert: Path, key: Path) -> str:
    me = pwd.getpwuid(os.getuid()).pw_name
    if os.getuid() == 0:
        # dovecot runs its login processes, and mail access, as unprivileged users only
        login_user, mail_user, chroot = "dovenull", "nobody", "login"
    else:  # everything as the user running the tests; no chroot without root
        login_user, mail_user, chroot = me, me, ""
    return f"""\
# Written by tests/mail/imap_server.py for one test run.
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = {HOST}
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0  # a wrong password is answered at once (a test tries one)
default_internal_user = {me}
default_internal_group = {grp.getgrgid(os.getgid()).gr_name}
default_login_user = {login_user}
mail_uid = {mail_user}
mail_gid = {grp.getgrgid(pwd.getpwnam(mail_user).pw_gid).gr_name}
first_valid_uid = 1
first_valid_gid = 1
mail_home = {root}/mail/%u
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/users
}}
userdb {{
  driver = passwd-file
  args = {root}/users
}}
service imap-login {{
  chroot = {chroot}
  inet_listener imap {{
    address = {HOST}
    port = {port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {ssl_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot = {chroot and "empty"}
  unix_listener anvil-auth-penalty {{
    mode = 0  # no growing delay after a failed login (a test tries a wrong password)
  }}
}}
"""


@dataclass
class Dovecot:
    """One running dovecot and its folder."""

    root: Path
    port: int
    ssl_port: int
    certificate: Path
    process: subprocess.Popen[bytes]

    def log(self) -> str:
        text = ""
        for name in ("dovecot.log", "output.log"):
            path = self.root / name
            if path.exists():
                text += path.read_text(errors="replace")
        return text


@dataclass
class ImapServer:
    """One mailbox on a running dovecot, and helpers to look into it over real IMAP."""

    server: Dovecot
    user: str = USER
    password: str = PASSWORD

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return f"imap://{self.user}:{self.password}@{HOST}:{self.server.port}/INBOX"

    @property
    def ssl_url(self) -> str:
        return f"imaps://{self.user}:{self.password}@{HOST}:{self.server.ssl_port}/INBOX"

    @property
    def certificate(self) -> Path:
        return self.server.certificate

    def connect(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4(HOST, self.server.port, timeout=30)
        client.login(self.user, self.password)
        return client

    def append(self, raw: bytes, folder: str = "INBOX") -> int:
        """Delivers a letter through IMAP APPEND; returns its UID (from APPENDUID)."""
        client = self.connect()
        try:
            typ, data = client.append(_quote(folder), "", None, raw)
            assert typ == "OK", data
            found = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
            assert found, data
            return int(found.group(1))
        finally:
            client.logout()

    def flags(self, uid: int, folder: str = "INBOX") -> set[str]:
        """The flags of the message `uid` in `folder` (e.g. {"\\Seen"})."""
        client = self._open(folder)
        try:
            typ, data = client.uid("FETCH", str(uid), "(FLAGS)")
            assert typ == "OK" and data and data[0] is not None, f"no message {uid}: {data}"
            line = data[0] if isinstance(data[0], bytes) else data[0][0]
            inside = re.search(rb"FLAGS \(([^)]*)\)", line)
            assert inside, line
            return set(inside.group(1).decode().split())
        finally:
            client.logout()

    def uids(self, folder: str = "INBOX", criteria: str = "ALL") -> list[int]:
        """The UIDs in `folder` matching an IMAP search (ALL, UNSEEN, SEEN...)."""
        client = self._open(folder)
        try:
            typ, data = client.uid("SEARCH", criteria)
            assert typ == "OK", data
            return [int(n) for n in (data[0] or b"").split()]
        finally:
            client.logout()

    def list(self, folder: str = "INBOX") -> list[bytes]:
        """The raw bytes of every message in `folder`, in UID order (read without marking)."""
        return [self.message(uid, folder) for uid in self.uids(folder)]

    def message(self, uid: int, folder: str = "INBOX") -> bytes:
        client = self._open(folder)
        try:
            typ, data = client.uid("FETCH", str(uid), "(BODY.PEEK[])")
            assert typ == "OK" and isinstance(data[0], tuple), data
            return bytes(data[0][1])
        finally:
            client.logout()

    def folders(self) -> set[str]:
        client = self.connect()
        try:
            typ, data = client.list()
            assert typ == "OK", data
            names = set()
            for line in data:
                assert isinstance(line, bytes)
                name = line.rsplit(b" ", 1)[-1].decode()
                names.add(name.strip('"'))
            return names
        finally:
            client.logout()

    def empty(self) -> None:
        """Removes every folder but INBOX, and every message in INBOX."""
        client = self.connect()
        try:
            for name in self.folders() - {"INBOX"}:
                client.delete(_quote(name))
            client.select("INBOX")
            client.uid("STORE", "1:*", "+FLAGS.SILENT", r"(\Deleted)")
            client.expunge()
        finally:
            client.logout()

    def _open(self, folder: str) -> imaplib.IMAP4:
        client = self.connect()
        typ, data = client.select(_quote(folder), readonly=True)
        assert typ == "OK", data
        return client


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dovecot_or_skip() -> None:
    if not os.access(DOVECOT, os.X_OK):
        message = (
            f"dovecot is not installed at {DOVECOT}: `./scripts/test` installs Debian's "
            "`dovecot-imapd` package (or set SUZ_DOVECOT to a dovecot binary)"
        )
        if IN_CI:
            pytest.fail(f"The IMAP tests must run in CI: {message}")
        pytest.skip(message)


def _wait_ready(server: Dovecot, deadline: float) -> None:
    """Until the plain listener greets (an IMAP `* OK`); fails with dovecot's log when it exits
    or does not greet in time."""
    last: Exception | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"dovecot exited with {server.process.returncode}:\n{server.log()}")
        try:
            with socket.create_connection((HOST, server.port), timeout=2) as s:
                if s.recv(100).startswith(b"* OK"):
                    return
        except OSError as e:
            last = e
        time.sleep(0.05)  # polling a condition with a deadline, not waiting for a guess
    pytest.fail(f"dovecot did not greet on port {server.port} ({last}):\n{server.log()}")


def _stop(server: Dovecot) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture(scope="module", name="dovecot")
def dovecot_fixture() -> Iterator[Dovecot]:
    """A dovecot of its own, with the user `desk` / `secret`, for one test module."""
    dovecot_or_skip()
    root = Path(tempfile.mkdtemp(prefix="suz-dovecot-"))
    try:
        root.chmod(0o755)  # the unprivileged mail user must reach its maildir
        mail = root / "mail"
        mail.mkdir()
        if os.getuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(mail, nobody.pw_uid, nobody.pw_gid)
        (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        cert, key = _self_signed(root)
        port, ssl_port = _free_port(), _free_port()
        config = root / "dovecot.conf"
        config.write_text(_config(root, port, ssl_port, cert, key))
        with (root / "output.log").open("wb") as output:
            process = subprocess.Popen(
                [str(DOVECOT), "-F", "-c", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        server = Dovecot(root, port, ssl_port, cert, process)
        try:
            _wait_ready(server, time.monotonic() + START_DEADLINE)
            yield server
        finally:
            _stop(server)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(name="imap_server")
def imap_server_fixture(dovecot: Dovecot) -> ImapServer:
    """The mailbox `desk` on this module's dovecot, empty at the start of the test."""
    box = ImapServer(dovecot)
    box.empty()
    return box

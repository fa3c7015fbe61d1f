"""The MTA's pipe edge (mail/pipe.py), driven as a mail server drives it: a separate process with
the letter on its standard input, whose exit status and standard error are the answer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mail.pipe import EX_DATAERR, EX_OK, EX_TEMPFAIL

ROOT = Path(__file__).resolve().parents[2]

# The command an MTA would run, with a stand-in intake that keeps what it is given in a file and
# answers as the test says (`raise` for an intake that fails).
COMMAND = """
import sys
from pathlib import Path
from mail.imap import Outcome
from mail.pipe import deliver

answer, kept, limit = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])

def intake(raw: bytes) -> Outcome:
    kept.write_bytes(raw)
    if answer == "raise":
        raise RuntimeError("the store is down")
    return Outcome(answer)

sys.exit(deliver(sys.stdin.buffer, intake, limit=limit))
"""

LETTER = (
    b"From: Requester <r@example.org>\r\n"
    b"To: desk@example.com\r\n"
    b"Subject: Help\r\n"
    b"Message-ID: <pipe-1@example.org>\r\n"
    b"\r\n"
    b"Hello.\r\n"
)


def run(raw: bytes, answer: str, tmp_path: Path, limit: int = 10**8) -> tuple[int, str, Path]:
    kept = tmp_path / "kept.eml"
    with subprocess.Popen(
        [sys.executable, "-c", COMMAND, answer, str(kept), str(limit)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdin is not None and proc.stderr is not None
        proc.stdin.write(raw)  # a broken pipe here fails the test: the MTA must see our status
        proc.stdin.close()
        errors = proc.stderr.read().decode()
        return proc.wait(timeout=60), errors, kept


@pytest.mark.parametrize(
    ("answer", "status", "reason"),
    [
        ("stored", EX_OK, ""),
        ("duplicate", EX_OK, ""),
        ("retry", EX_TEMPFAIL, "try again"),
        ("raise", EX_TEMPFAIL, "try again"),
        ("refused", EX_DATAERR, "does not accept"),
    ],
)
def test_each_outcome_tells_the_mail_server_what_to_do(
    answer: str, status: int, reason: str, tmp_path: Path
) -> None:
    code, errors, kept = run(LETTER, answer, tmp_path)
    assert code == status, errors
    assert kept.read_bytes() == LETTER
    if reason:
        assert reason in errors
    else:
        assert errors == ""


def test_a_large_letter_arrives_whole(tmp_path: Path) -> None:
    big = LETTER + b"0123456789" * 7 * 75_000 + b"\r\n"
    assert len(big) > 5_000_000
    code, errors, kept = run(big, "stored", tmp_path)
    assert code == EX_OK, errors
    assert kept.read_bytes() == big


def test_a_letter_past_the_limit_is_bounced_unread(tmp_path: Path) -> None:
    big = LETTER + b"x" * 3_000_000
    code, errors, kept = run(big, "stored", tmp_path, limit=1_000_000)
    assert code == EX_DATAERR
    assert "larger than 1000000 bytes" in errors
    assert not kept.exists()


@pytest.mark.parametrize("raw", [b"", b"\r\n \r\n"])
def test_an_empty_letter_is_bounced(raw: bytes, tmp_path: Path) -> None:
    code, errors, kept = run(raw, "stored", tmp_path)
    assert code == EX_DATAERR
    assert "empty" in errors
    assert not kept.exists()

"""E-mail in from a mail server's pipe: the MTA runs a command for each letter it accepted for the
desk (Postfix's pipe(8) or a `|command` alias, Exim's pipe transport, sendmail's prog mailer)
with the letter on standard input, and reads the command's exit status (sysexits.h) to know
what became of it. `deliver` is that command's body; the `suz` command line wires it to the
intake (`sys.exit(deliver(sys.stdin.buffer, intake))`).

What each outcome tells the MTA:

- STORED, DUPLICATE: 0, delivered (a duplicate is the MTA retrying one we already took in);
- RETRY, or the intake raising: 75 EX_TEMPFAIL, the MTA keeps the letter in its queue and
  tries again later (the store is down: nothing is lost);
- REFUSED: 65 EX_DATAERR, the MTA returns the letter to its sender, with our reason (written to
  standard error, which Postfix and Exim quote in the bounce). Unlike the IMAP poller, which
  sets refused letters aside in a folder, a pipe has nowhere to keep them: a bounce is the only
  way the sender learns of it. (The letter was already accepted over SMTP, so a forged sender
  gets the bounce: refuse at the SMTP stage, in the MTA, what is plainly spam.)
- an empty letter or one past `limit` bytes: 65 EX_DATAERR, bounced without reaching the
  intake. The rest of a letter past the limit is still read (and dropped), so that the MTA
  sees our answer, not a broken pipe.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import BinaryIO, TextIO

from mail.imap import Outcome

log = logging.getLogger("suz.mail")

EX_OK = 0
EX_DATAERR = 65  # the input was not a letter we can take: bounce
EX_TEMPFAIL = 75  # try again later: the MTA keeps the letter queued

DEFAULT_LIMIT = 50 * 1024 * 1024  # bytes: above what mail servers commonly accept (25-50 MB)
_CHUNK = 1024 * 1024

EXIT = {
    Outcome.STORED: EX_OK,
    Outcome.DUPLICATE: EX_OK,
    Outcome.RETRY: EX_TEMPFAIL,
    Outcome.REFUSED: EX_DATAERR,
}
# What the intake answers: the outcome, or the outcome and why (said to the MTA when refused).
Handled = Outcome | tuple[Outcome, str]


def deliver(
    stream: BinaryIO,
    handle: Callable[[bytes], Handled],
    *,
    limit: int = DEFAULT_LIMIT,
    errors: TextIO | None = None,
) -> int:
    """Reads one letter from `stream`, gives it to `handle`, and returns the exit status for the
    MTA (see the module's docstring); a reason for anything but delivery goes to `errors`
    (standard error by default)."""
    errors = errors or sys.stderr
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        while stream.read(_CHUNK):  # drain: the MTA must be able to write the whole letter
            pass
        return _say(errors, EX_DATAERR, f"the letter is larger than {limit} bytes")
    if not raw.strip():
        return _say(errors, EX_DATAERR, "the letter is empty")
    try:
        answer = handle(raw)
        outcome, why = answer if isinstance(answer, tuple) else (Outcome(answer), "")
    except Exception:
        log.exception("mail in: the intake failed; the mail server will try again")
        return _say(errors, EX_TEMPFAIL, "the help desk cannot take letters now; try again")
    if outcome is Outcome.RETRY:
        return _say(errors, EX_TEMPFAIL, "the help desk cannot take letters now; try again")
    if outcome is Outcome.REFUSED:
        return _say(errors, EX_DATAERR, why or "the help desk does not accept this letter")
    return EXIT[outcome]


def _say(errors: TextIO, status: int, reason: str) -> int:
    print(f"suz: {reason}", file=errors)
    errors.flush()
    return status

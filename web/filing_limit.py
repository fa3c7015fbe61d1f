"""How many requests one address may file without an account in an hour (issue 18).

During a mass failure (the EIS down for everyone) a whole office files from behind one NAT
address, so a fixed limit per address either lets a flood through or turns real people away.
So two limits, both counting filings that succeeded (a refused filing is taken back: `refund`):

- the plain one (`PLAIN` an hour): what a browser without JavaScript, or a script, gets;
- a burst on top of it (`BURST` more an hour), each filing paid with a proof of work: the form
  sent back over the plain limit carries a challenge, and a few lines of the desk's own script
  (static/js/proof.js, no library) find a counter such that SHA-256("<challenge>:<counter>")
  begins with `DIFFICULTY` zero bits (about 2**16 hashes: under a second in a browser).

A challenge is signed (HMAC-SHA256 under `Services.proof_secret`) with the address it was
given to and its expiry, so it is checked without being stored; a proof is used once
(`Spent`, shared over PostgreSQL). Beyond the burst every filing is refused until the hour
turns, proof or not: a flood then costs work and still stops. Signed-in requesters are not
counted by address (their accounts are known); the JSON API counts in the plain limit only.
Why this rather than a per-organisation allowance: docs/security.md, "The public form's limit".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from web.throttle import Clock, Limiter, Spent, address_key

PLAIN = 10  # filings an hour per address without a proof
BURST = 40  # more filings an hour per address, each with a proof
DIFFICULTY = 16  # leading zero bits of a proof's SHA-256 (2**16 hashes: under a second)
CHALLENGE_TTL = 900.0  # seconds a challenge may be answered
WINDOW = 3600.0


@dataclass(frozen=True)
class Decision:
    """What the limit says to one filing: `wait` 0 to file (counted in the burst when `proven`),
    else the seconds to wait; `challenge`: a proof that would let it through now, if any."""

    wait: float
    proven: bool = False
    challenge: str | None = None


class FilingLimit:
    """The plain limit and the burst (each a `Limiter` per address), and the proofs' checks."""

    def __init__(
        self,
        plain: Limiter,
        burst: Limiter,
        spent: Spent,
        secret: bytes,
        *,
        difficulty: int = DIFFICULTY,
        clock: Clock = time.time,
    ) -> None:
        self.plain, self.burst, self.spent, self._secret = plain, burst, spent, secret
        self.difficulty, self._clock = difficulty, clock

    def hit(self, address: str) -> float:
        """The plain limit alone (the JSON API): 0.0, or the seconds to wait."""
        return self.plain.hit(address_key(address))

    def take(self, address: str, challenge: str = "", counter: str = "") -> Decision:
        """Counts one filing from `address`: a valid, unused proof counts it in the burst."""
        key = address_key(address)
        if challenge and self.proven(address, challenge, counter):
            wait = self.burst.hit(key)
            return Decision(wait, proven=wait == 0)
        wait = self.plain.hit(key)
        if wait == 0:
            return Decision(0.0)
        return Decision(wait, challenge=self.challenge(address) if self._burst_left(key) else None)

    def refund(self, address: str, decision: Decision) -> None:
        """Takes back a filing `take` counted that was refused after all."""
        (self.burst if decision.proven else self.plain).refund(address_key(address))

    def challenge(self, address: str) -> str:
        """A new challenge for `address`: "<bits>.<expiry>.<nonce>.<mac>"."""
        expires = int(self._clock() + CHALLENGE_TTL)
        body = f"{self.difficulty}.{expires}.{secrets.token_hex(8)}"
        return f"{body}.{self._mac(address, body)}"

    def proven(self, address: str, challenge: str, counter: str) -> bool:
        """Whether `counter` answers a challenge given to `address`, unexpired and unused (it is
        used by this call)."""
        parts = challenge.split(".")
        if (len(challenge) > 200 or len(parts) != 4 or not challenge.isascii()
                or not counter.isascii() or len(counter) > 20):  # fmt: skip
            return False
        bits, expires, _nonce, mac = parts
        body = challenge.rsplit(".", 1)[0]
        if not hmac.compare_digest(mac, self._mac(address, body)):
            return False
        if int(bits) < self.difficulty or int(expires) <= self._clock():
            return False
        digest = hashlib.sha256(f"{challenge}:{counter}".encode()).digest()
        if int.from_bytes(digest, "big") >> (256 - int(bits)) != 0:
            return False
        return self.spent.first(challenge, float(expires))

    def _mac(self, address: str, body: str) -> str:
        message = f"filing-proof\0{address_key(address)}\0{body}".encode()
        mac = hmac.new(self._secret, message, hashlib.sha256).digest()[:18]
        return base64.urlsafe_b64encode(mac).decode()

    def _burst_left(self, key: str) -> bool:
        """Whether the burst has room (asked without counting: a hit taken back at once)."""
        if self.burst.hit(key) > 0:
            return False
        self.burst.refund(key)
        return True

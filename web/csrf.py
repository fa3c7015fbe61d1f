"""CSRF defences: a random token per session, compared in constant time, and Origin checks.

A state-changing request made with the session cookie (a form post, a JSON call, the websocket
handshake) must come from one of the desk's own origins, and forms and JSON calls must also carry
the session's CSRF token (form field `csrf_token` or header `X-CSRF-Token`). Browsers send
`Origin` on every cross-site request and on same-site POSTs; `Referer` is the fallback. Calls
authenticated with an API token carry no cookie and need neither check.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from domain.errors import Forbidden
from domain.i18n import lazy

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
_HOST = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?")


class CsrfRefused(Forbidden):
    """Raised when a request fails the CSRF checks; the web answers 403 with the message."""

    code = "csrf_refused"


def new_token() -> str:
    """A fresh random CSRF token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def tokens_match(expected: str, given: str | None) -> bool:
    """Whether `given` is the session's token, compared in constant time."""
    if not expected or given is None:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def origin_of(url: str) -> str | None:
    """`scheme://host[:port]` of an http(s) URL, lower-cased, default port dropped; else None."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname or ""
    if scheme not in ("http", "https") or not host or parts.username is not None:
        return None
    if ":" in host:
        try:
            host = f"[{ipaddress.IPv6Address(host).compressed}]"
        except ValueError:
            return None
    else:
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            return None
        if not _HOST.fullmatch(host):
            return None
    default = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" if port in (None, default) else f"{scheme}://{host}:{port}"


class AllowedOrigins:
    """The origins the desk is served from, e.g. `AllowedOrigins(["https://desk.example.ru"])`."""

    def __init__(self, origins: Iterable[str]) -> None:
        normalised: set[str] = set()
        for origin in origins:
            value = origin_of(origin)
            if value is None:
                raise ValueError(f"{origin!r} is not an http(s) origin like https://desk.example")
            normalised.add(value)
        if not normalised:
            raise ValueError("At least one allowed origin is needed.")
        self.origins = frozenset(normalised)

    @classmethod
    def parse(cls, text: str) -> AllowedOrigins:
        """From a comma- or space-separated list (as kept in an environment variable)."""
        return cls(part for part in re.split(r"[,\s]+", text) if part)

    def permits(self, origin: str | None, referer: str | None) -> bool:
        """Whether a request with these headers came from an allowed origin.

        `Origin` decides when present (the opaque `null` is refused); otherwise `Referer` does;
        a request with neither is refused.
        """
        if origin is not None:
            return origin_of(origin) in self.origins
        if referer:
            return origin_of(referer) in self.origins
        return False


def check_request(
    method: str,
    *,
    expected_token: str,
    given_token: str | None,
    origin: str | None,
    referer: str | None,
    allowed: AllowedOrigins,
) -> None:
    """Raises CsrfRefused unless a cookie-authenticated request is safe or passes both checks."""
    if method.upper() in SAFE_METHODS:
        return
    if not allowed.permits(origin, referer):
        raise CsrfRefused(
            lazy(
                "This request did not come from the desk's own pages, so it was refused. "
                "Open the desk's address directly and try again."
            )
        )
    if not tokens_match(expected_token, given_token):
        raise CsrfRefused(
            lazy(
                "The page's security token is missing or out of date (perhaps you signed in "
                "again in another tab). Reload the page and try again."
            )
        )


def check_websocket(origin: str | None, allowed: AllowedOrigins) -> None:
    """Raises CsrfRefused unless a websocket handshake's `Origin` is allowed (browsers send it)."""
    if origin is None or origin_of(origin) not in allowed.origins:
        raise CsrfRefused(lazy("Live updates may only be opened from the desk's own pages."))

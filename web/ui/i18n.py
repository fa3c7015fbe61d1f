"""Russian and English: gettext catalogs (locale/<lang>/LC_MESSAGES/messages.po), the language a
request is answered in, and the `_` every template and handler translates through.

The .po files are the source: they are compiled in memory when first needed, so there is no build
step. English is the source language (msgids are English); Russian is the default for a browser
that states no preference, since the desk's users are Russian-speaking.
"""

from __future__ import annotations

from contextvars import ContextVar

from babel import Locale, negotiate_locale
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from domain.i18n import lazy as lazy  # the one marker scripts/i18n extracts (keyword "lazy")
from domain.translations import LOCALE_DIR as LOCALE_DIR
from domain.translations import translations as translations

LANGUAGES = ("ru", "en")
DEFAULT = "ru"
COOKIE = "suz_lang"

_current: ContextVar[str] = ContextVar("suz_language", default=DEFAULT)


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The cookie's language if it is one of ours, else the browser's best match, else Russian."""
    if cookie in LANGUAGES:
        return str(cookie)
    wanted = []
    for part in (accept_language or "").split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        if tag and weight > 0:
            wanted.append((weight, tag.strip().replace("-", "_")))
    preferred = [tag for _w, tag in sorted(wanted, key=lambda w: -w[0])]
    return negotiate_locale(preferred, list(LANGUAGES)) or DEFAULT


def use(lang: str) -> None:
    """Makes `lang` the language of the current request (a context variable per task)."""
    _current.set(lang if lang in LANGUAGES else DEFAULT)


class Language:
    """ASGI middleware: every request and socket is answered in its language (the cookie, then
    the browser's), chosen before anything runs, so a refusal or a fault page raised anywhere,
    even outside a page's handler, speaks it and never the language a previous task left."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = Headers(scope=scope)
            cookies = cookie_parser(headers.get("cookie", ""))
            use(choose(cookies.get(COOKIE), headers.get("accept-language")))
        await self.app(scope, receive, send)


def current() -> str:
    return _current.get()


def locale() -> Locale:
    return Locale.parse(current())


def gettext(message: str) -> str:
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ngettext(singular, plural, n)


_ = gettext

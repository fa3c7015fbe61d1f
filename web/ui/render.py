"""Rendering pages: the jinja2 environment (autoescaped, translated), filters, and `page()`.

Every page and fragment is rendered here, so escaping, the language, the CSRF token and the
signed-in person's navigation are decided in one place.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_percent
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from web.markup import render as render_markdown
from web.ui import i18n
from web.ui.mention_markup import highlight

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
TIMEZONE = ZoneInfo("Europe/Moscow")


def _when(value: str | datetime | None, style: str = "short") -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_datetime(moment, style, tzinfo=TIMEZONE, locale=i18n.locale())


def _ago(value: str | datetime | None) -> str:
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_timedelta(moment - datetime.now(UTC), add_direction=True, locale=i18n.locale())


def _markdown(text: str | None) -> Markup:
    return Markup(render_markdown(text or ""))  # sanitised by nh3 in web.markup


def _bilingual(row: dict[str, Any] | Any, name: str) -> str:
    """`row[name_ru]` or `row[name_en]` by the page's language, falling back to the other."""
    get = row.get if isinstance(row, dict) else lambda k, d="": getattr(row, k, d)
    first, second = ("ru", "en") if i18n.current() == "ru" else ("en", "ru")
    return str(get(f"{name}_{first}", "") or get(f"{name}_{second}", "") or "")


def _share(value: float | Fraction | None) -> str:
    """A share (0..1) as a percentage in the page's language, to one decimal when it has one:
    "99,5 %" and "100 %" in Russian, "99.5%" and "100%" in English ('' when none)."""
    if value is None:
        return ""
    locale = i18n.locale()
    pattern = locale.percent_formats[None].pattern.replace("#,##0", "#,##0.#", 1)
    exact = Decimal(value.numerator) / Decimal(value.denominator) if isinstance(
        value, Fraction) else Decimal(str(value))  # fmt: skip
    return format_percent(exact, pattern, locale=locale)


def _size(n: int) -> str:
    if n < 1024:
        unit = i18n.gettext("B")
        return f"{n} {unit}"
    if n < 1024 * 1024:
        unit = i18n.gettext("KB")
        return f"{n / 1024:.1f} {unit}"
    unit = i18n.gettext("MB")
    return f"{n / 1024 / 1024:.1f} {unit}"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(when=_when, ago=_ago, markdown=_markdown, bilingual=_bilingual, size=_size,
                       share=_share)  # fmt: skip
    env.filters["mentions"] = highlight  # a note's @handles marked (issue 16)
    env.globals.update(language=i18n.current, languages=i18n.LANGUAGES)
    return env


ENV = _environment()


def fragment(name: str, **context: Any) -> str:
    return ENV.get_template(name).render(**context)


def page(request: Request, name: str, status: int = 200, headers: dict[str, str] | None = None,
         **context: Any) -> HTMLResponse:  # fmt: skip
    """A whole page or, for an htmx request, the same template (templates decide what to show)."""
    viewer = request.scope.get("suz_viewer")
    html = fragment(name, request=request, viewer=viewer, htmx=is_htmx(request), **context)
    return HTMLResponse(html, status, headers)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"

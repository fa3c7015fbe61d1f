"""What a ticket's page shows of its timeline: the newest entries, earlier ones on demand ("show
earlier", a version cursor), new ones appended live; and the HTML of their markdown, rendered
once per process.

A page costs the same at 20 entries or 2,000: it reads, decodes and renders only `PAGE`
entries, and each entry's markdown (0.3-0.6 ms of python-markdown and nh3 an entry, most of a
1,000-entry page's time) is rendered once and kept by its text (docs/performance.md, "The page
of a 1,000-entry ticket"). The HTML is kept here, not in the timeline view: rendering there
would cost every replay of the view as much as every page view costs now.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import lru_cache
from threading import Lock

from markupsafe import Markup
from starlette.requests import Request

from projections.timeline import Entry
from web.errors import ApiError
from web.markup import render
from web.ui import i18n
from web.ui.render import ENV

PAGE = 20  # entries a page shows at first and adds per "show earlier"
# the field of each kind of entry written in markdown (every other kind's is "body")
MARKDOWN_OF = {"Filed": "description", "InformationRequested": "message",
               "Resolved": "resolution", "Reopened": "reason"}  # fmt: skip
BAD_CURSOR = i18n.lazy("Reload the page: it asked for entries from an invalid version.")


def cursor(request: Request, name: str) -> int:
    """A version named by the query parameter `name` (the place a page's list starts or ends);
    400 unless it is a whole number a version can be."""
    raw = request.query_params.get(name, "")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
        raise ApiError(400, "bad_cursor", BAD_CURSOR, (name,))
    return int(raw)


class MarkdownMemo:
    """Each text's sanitised HTML, rendered once: an entry's text never changes, so its HTML is
    kept by the text itself, least recently used dropped first beyond `budget` characters (text
    and HTML counted). Threads share it: pages are loaded in the thread pool."""

    def __init__(self, budget: int = 8_000_000) -> None:
        self.budget, self._size, self._lock = budget, 0, Lock()
        self._kept: OrderedDict[str, Markup] = OrderedDict()

    def __call__(self, text: str) -> Markup:
        with self._lock:
            html = self._kept.get(text)
            if html is not None:
                self._kept.move_to_end(text)
                return html
        html = Markup(render(text))  # sanitised by nh3 in web.markup
        cost = len(text) + len(html)
        if cost > self.budget // 100:  # one long text does not push out a hundred others
            return html
        with self._lock:
            if text not in self._kept:
                self._kept[text] = html
                self._size += cost
            while self._size > self.budget:
                old, dropped = self._kept.popitem(last=False)
                self._size -= len(old) + len(dropped)
        return html


MARKDOWN = MarkdownMemo()


@lru_cache(maxsize=65_536)
def _moment(at: str, style: str, language: str) -> str:
    return str(ENV.filters["when"](at, style))  # babel, ~40 us a call: kept per entry


def moments(entries: list[Entry]) -> dict[int, tuple[str, str]]:
    """When each entry happened, shown short and (in its title) medium, by version."""
    language = i18n.current()
    return {e.version: (_moment(e.at, "short", language), _moment(e.at, "medium", language))
            for e in entries}  # fmt: skip


def rendered(entries: list[Entry]) -> dict[tuple[int, str], Markup]:
    """The HTML of each entry's markdown, by (version, field), for the templates."""
    found = {}
    for e in entries:
        key = MARKDOWN_OF.get(e.event, "body")
        text = e.data.get(key)
        if isinstance(text, str) and text:
            found[(e.version, key)] = MARKDOWN(text)
    return found

"""An HTML letter as plain text: sanitised with nh3, then paragraphs, lists and links kept.

The quoted history of an HTML letter is marked by its container (Gmail's div.gmail_quote, a
blockquote, Thunderbird's moz-cite-prefix, Outlook's divRplyFwdMsg after which everything is the
older letter) and goes apart from the new text; the new text is then split like a plain letter."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

from mail import quotes

_KEPT_TAGS = {"p", "br", "div", "span", "ul", "ol", "li", "a", "blockquote", "b", "strong", "i"}
_KEPT_TAGS |= {"em", "u", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "table", "tr", "td", "th"}
_KEPT_TAGS |= {"thead", "tbody", "hr"}
_ATTRIBUTES = {"a": {"href"}, "div": {"class", "id"}, "blockquote": {"class", "type"}}
_QUOTE_CLASSES = {"gmail_quote", "moz-cite-prefix", "yahoo_quoted", "gmail_signature"}
_QUOTE_CLASSES |= {"moz-signature", "outlookmessageheader"}
_REST_IS_QUOTE_IDS = {"divrplyfwdmsg", "appendonsend"}  # Outlook: the older letter follows
_BLOCKS = {"p": 2, "div": 1, "h1": 2, "h2": 2, "h3": 2, "h4": 2, "h5": 2, "h6": 2, "pre": 2}
_BLOCKS |= {"table": 1, "tr": 1, "ul": 1, "ol": 1, "blockquote": 1, "hr": 1}
_VOID = {"br", "hr", "img", "meta", "input", "wbr", "col", "area", "base", "link", "source"}
_UNNESTED = _VOID | {"p", "li", "td", "th", "tr", "option", "dt", "dd"}  # closed by the next one
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)[^>]*>")
MAX_HTML = 1_000_000  # characters of HTML read: far past the text and the quotes a letter keeps
MAX_NESTING = 100  # deeper tags are dropped (their text kept): nh3's parser is quadratic in depth


class _Converter(HTMLParser):
    """Collects text as (in a quote?, piece) in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[tuple[bool, str]] = []
        self.open: list[tuple[str, bool]] = []  # tag, opens a quote
        self.quotes_open = 0
        self.tags_open: dict[str, int] = {}
        self.rest_is_quote = False
        self.links: list[tuple[str, int]] = []  # href, index of the first piece inside
        self.lists: list[list[int]] = []  # [number of the next item] or [] for a bullet list
        self.pre = 0

    def quoting(self) -> bool:
        """Whether text here belongs to the quoted history."""
        return self.rest_is_quote or self.quotes_open > 0

    def emit(self, text: str) -> None:
        """Add a piece of text where it belongs."""
        self.pieces.append((self.quoting(), text))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open a block, a list item, a link or a quote."""
        attr = {k: (v or "") for k, v in attrs}
        classes = set(attr.get("class", "").lower().split())
        if attr.get("id", "").lower() in _REST_IS_QUOTE_IDS:
            self.rest_is_quote = True
        if tag in _BLOCKS:
            self.emit("\n" * _BLOCKS[tag])
        if tag == "br":
            self.emit("\n")
        elif tag == "li":
            numbers = self.lists[-1] if self.lists else []
            self.emit("\n" + (f"{numbers[0]}. " if numbers else "- "))
            if numbers:
                numbers[0] += 1
        elif tag in ("ul", "ol"):
            self.lists.append([1] if tag == "ol" else [])
        elif tag == "a":
            self.links.append((attr.get("href", ""), len(self.pieces)))
        elif tag in ("td", "th"):
            self.emit(" ")
        self.pre += tag == "pre"
        if tag not in _VOID:
            opens = tag == "blockquote" or bool(classes & _QUOTE_CLASSES)
            self.open.append((tag, opens))
            self.quotes_open += opens
            self.tags_open[tag] = self.tags_open.get(tag, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        """Close the innermost open `tag` (and whatever was left open inside it)."""
        if not self.tags_open.get(tag):
            return
        while self.open:
            closed, opened_quote = self.open.pop()
            self.quotes_open -= opened_quote
            self.tags_open[closed] -= 1
            if closed == tag:
                break
        if tag in _BLOCKS:
            self.emit("\n" * _BLOCKS[tag])
        if tag in ("ul", "ol") and self.lists:
            self.lists.pop()
        elif tag == "a" and self.links:
            self.close_link(*self.links.pop())
        self.pre -= tag == "pre" and self.pre > 0

    def close_link(self, href: str, start: int) -> None:
        """Write a link as "text (url)", or the text alone when it already says the url."""
        text = "".join(piece for _, piece in self.pieces[start:]).strip()
        url = href.removeprefix("mailto:") if href.startswith("mailto:") else href
        if re.match(r"(https?://|mailto:)", href, re.IGNORECASE) and url not in text:
            self.emit(f" ({url})" if text else url)

    def handle_data(self, data: str) -> None:
        """Text, with HTML's runs of white space made one space (except in <pre>)."""
        self.emit(data if self.pre else re.sub(r"\s+", " ", data.replace("\xa0", " ")))


def _shallow(html: str) -> str:
    """`html` without the tags nested deeper than MAX_NESTING; their text stays."""
    depth, kept, last = 0, [], 0
    for tag in _TAG.finditer(html):
        if tag[2].lower() in _UNNESTED or tag[0].endswith("/>"):
            continue
        depth = max(depth - 1, 0) if tag[1] else depth + 1
        if depth > MAX_NESTING or (tag[1] and depth >= MAX_NESTING):
            kept.append(html[last : tag.start()])
            last = tag.end()
    kept.append(html[last:])
    return "".join(kept)


def _text(pieces: list[str]) -> str:
    """Pieces joined into lines: no spaces around line breaks, at most one blank line."""
    text = "".join(pieces)
    text = "\n".join(line.strip(" \t") for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def split(html: str) -> tuple[str, str]:
    """(new text, quoted history and signature) of an HTML letter."""
    clean = nh3.clean(
        _shallow(html[:MAX_HTML]),
        tags=_KEPT_TAGS,
        attributes=_ATTRIBUTES,
        clean_content_tags={"script", "style", "title", "head"},
        link_rel=None,
    )
    converter = _Converter()
    converter.feed(clean)
    converter.close()
    new = _text([p for quoted, p in converter.pieces if not quoted])
    old = _text([p for quoted, p in converter.pieces if quoted])
    if not new.strip():
        return old, ""
    text, rest = quotes.split(new)
    return text, "\n\n".join(part for part in (rest, old) if part)

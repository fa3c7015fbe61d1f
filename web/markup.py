"""Markdown to safe HTML: articles are written in markdown and shown sanitised (nh3/Ammonia)."""

from __future__ import annotations

import markdown
import nh3

TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h2",
    "h3",
    "h4",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "hr",
}


def render(text: str) -> str:
    """HTML for `text`: no scripts, no styles, no event handlers; links open safely."""
    html = markdown.markdown(text, extensions=["tables", "fenced_code"], output_format="html")
    return nh3.clean(
        html,
        tags=TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )

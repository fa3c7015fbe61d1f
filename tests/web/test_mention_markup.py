"""A note's @handles marked in its HTML (web/ui/mention_markup.py): only the handles the note
named, only in text, never inside a link, code or a longer word."""

from __future__ import annotations

from web.markup import render
from web.ui.mention_markup import highlight

MARK = '<mark class="mention">@{}</mark>'


def test_named_handles_are_marked_in_text_only() -> None:
    html = render(
        "@Engineer2, see [@engineer2](https://x.ru/@engineer2) and `@engineer2`;"
        " @engineer2x is another, mail engineer2@x.ru, and @nobody. Thanks @line-2."
    )
    out = str(highlight(html, ("engineer2", "line-2")))
    assert out.count('<mark class="mention">') == 2
    assert MARK.format("Engineer2") in out  # as written, matched without regard to case
    assert MARK.format("line-2") + "." in out  # the full stop stays outside
    assert '<a href="https://x.ru/@engineer2"' in out and "<code>@engineer2</code>" in out
    assert "@engineer2x" in out and "@nobody" in out


def test_nothing_named_leaves_the_html_as_it_was() -> None:
    html = render("Привет, @engineer2 & <b>co</b>")
    assert str(highlight(html, ())) == html
    assert str(highlight(html, None)) == html

"""An article's references may only link to web addresses."""

from __future__ import annotations

import pytest

from domain.article import Content, Kind, Reference
from domain.errors import InvalidInput


@pytest.mark.parametrize("link", ["javascript:alert(1)", "data:text/html,x", "ftp://e.org/x"])
def test_a_reference_link_that_is_not_a_web_address_is_refused(link: str) -> None:
    content = Content(
        "Заголовок", "Title", "Текст", "Text", references=(Reference("44-ФЗ", "", link),)
    )
    with pytest.raises(InvalidInput):
        content.checked(Kind.ARTICLE)


@pytest.mark.parametrize("link", ["", "https://e.org/44", "HTTP://E.ORG"])
def test_web_addresses_and_no_link_are_accepted(link: str) -> None:
    content = Content(
        "Заголовок", "Title", "Текст", "Text", references=(Reference("44-ФЗ", "", link),)
    )
    assert content.checked(Kind.ARTICLE).references[0].link == link

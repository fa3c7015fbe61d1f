"""Telling a reply's new text from the history it quotes, in the shapes clients write them."""

from __future__ import annotations

import email
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mail import html_text, quotes

SAMPLES = Path(__file__).parent / "samples"


@pytest.mark.parametrize(
    ("letter", "new", "quoted"),
    [
        ("Thanks!\n\n> old\n> older", "Thanks!", "> old\n> older"),
        (
            "Works now.\n\nOn Tue, 1 Dec 2026 at 10:00, Support <s@desk.ru> wrote:\n> Try again",
            "Works now.",
            "On Tue, 1 Dec 2026 at 10:00, Support <s@desk.ru> wrote:\n> Try again",
        ),
        (
            "Спасибо.\n\n01.12.2026 10:00, Иван Петров пишет:\n> Проверьте",
            "Спасибо.",
            "01.12.2026 10:00, Иван Петров пишет:\n> Проверьте",
        ),
        (
            "Ок\n\nВторник, 1 декабря 2026, 10:00 +03:00 от Support <support@desk.ru>:\nстарое",
            "Ок",
            "Вторник, 1 декабря 2026, 10:00 +03:00 от Support <support@desk.ru>:\nстарое",
        ),
        (
            "Да.\n\n-----Исходное сообщение-----\nОт: a",
            "Да.",
            "-----Исходное сообщение-----\nОт: a",
        ),
        (
            "Yes.\n\nFrom: Support <support@desk.ru>\nSent: Monday\nTo: me\nSubject: x\n\nold",
            "Yes.",
            "From: Support <support@desk.ru>\nSent: Monday\nTo: me\nSubject: x\n\nold",
        ),
        (
            "Да.\n\nОт: Support\nОтправлено: 1 декабря\nКому: я\nТема: x\n\nстарое",
            "Да.",
            "От: Support\nОтправлено: 1 декабря\nКому: я\nТема: x\n\nстарое",
        ),
        ("Hi\n-- \nAnna\nCEO", "Hi", "--\nAnna\nCEO"),
        (
            "Спасибо.\n01.12.2026 10:00, Иван пишет:\n> x",
            "Спасибо.",
            "01.12.2026 10:00, Иван пишет:\n> x",
        ),
        (
            "Жду 5 минут\nOn Mon, 1 Dec 2026, Bo wrote:\n> x",
            "Жду 5 минут",
            "On Mon, 1 Dec 2026, Bo wrote:\n> x",
        ),
        (
            "Ok\nВт, 1 дек. 2026 г. в 10:00, Support <\ns@desk.ru>:\n> x",
            "Ok",
            "Вт, 1 дек. 2026 г. в 10:00, Support <\ns@desk.ru>:\n> x",
        ),
        ("Готово\n\nОтправлено с iPhone", "Готово", "Отправлено с iPhone"),
        ("Ок\nОтправлено с опозданием\n-- \nИ.", "Ок\nОтправлено с опозданием", "--\nИ."),
        ("Done\n\nSent from my iPhone\n\n> old", "Done", "Sent from my iPhone\n\n> old"),
    ],
)
def test_the_new_text_is_told_from_the_quoted_history(letter: str, new: str, quoted: str) -> None:
    assert quotes.split(letter) == (new, quoted)


def test_ordinary_text_that_looks_a_little_like_a_quote_is_kept() -> None:
    letter = "Бухгалтерия пишет:\nнужен акт.\nFrom: the warehouse, not the office.\nIt's 2 > 1."
    assert quotes.split(letter) == (letter, "")


def test_a_letter_that_is_all_quote_stays_text() -> None:
    letter = "> Please send the contract.\n> Support"
    assert quotes.split(letter) == (letter, "")


def test_an_answer_under_the_quote_is_the_new_text() -> None:
    letter = "On Mon, 1 Dec 2026, Support wrote:\n> Which version?\n\nVersion 5.2\n\n-- \nAnna"
    assert quotes.split(letter) == (
        "Version 5.2",
        "On Mon, 1 Dec 2026, Support wrote:\n> Which version?\n--\nAnna",
    )


OUTLOOK_HTML = """<html><head><style>p{}</style></head><body><div class="WordSection1">
<p class="MsoNormal">Добрый день!</p><p class="MsoNormal">Не печатает.<br>Совсем.</p>
<div id="appendonsend"></div><hr><div id="divRplyFwdMsg"><b>От:</b> Support<br>
<b>Отправлено:</b> 1 декабря</div><div>Перезагрузите.</div></div></body></html>"""

GMAIL_HTML = """<div dir="ltr">Hello,<div><br></div><div>see <a href="https://x.ru/a">the page</a>
and <a href="https://y.ru">https://y.ru</a> or write to <a href="mailto:a@b.ru">Anna</a>.</div>
<ol><li>one</li><li>two</li></ol></div><br><span class="gmail_signature_prefix">-- </span><br>
<div class="gmail_signature">Anna</div><div class="gmail_quote"><div class="gmail_attr">
On Mon, Support wrote:</div><blockquote class="gmail_quote">Which <b>version</b>?</blockquote>
</div>"""

THUNDERBIRD_BOTTOM = """<p>Hello,</p><div class="moz-cite-prefix">On 01.12.2026 10:00, Support
wrote:<br></div><blockquote type="cite">Which version?</blockquote><p>Version 5.2</p>"""


@pytest.mark.parametrize(
    ("html", "new", "quoted"),
    [
        (
            OUTLOOK_HTML,
            "Добрый день!\n\nНе печатает.\nСовсем.",
            "От: Support\nОтправлено: 1 декабря",
        ),
        (
            GMAIL_HTML,
            "Hello,\n\nsee the page (https://x.ru/a) and https://y.ru or write to Anna (a@b.ru)."
            "\n\n1. one\n2. two",
            "--\n\nAnna\nOn Mon, Support wrote:\n\nWhich version?",
        ),
        (THUNDERBIRD_BOTTOM, "Hello,\n\nVersion 5.2", "On 01.12.2026 10:00, Support wrote:"),
        ("<blockquote>Only a quote</blockquote>", "Only a quote", ""),
        (
            '<p>Click <a href="javascript:alert(1)">here</a><script>x()</script></p>',
            "Click here",
            "",
        ),
    ],
)
def test_html_letters_become_text_without_their_quotes(html: str, new: str, quoted: str) -> None:
    text, rest = html_text.split(html)
    assert text == new
    assert rest.startswith(quoted)


def test_deeply_nested_html_is_flattened_before_sanitising() -> None:
    html = "<div>" * 5000 + "deep" + "</div>" * 5000
    assert html_text._shallow(html) == "<div>" * 100 + "deep" + "</div>" * 100
    assert html_text.split(html) == ("deep", "")
    assert html_text.split("<blockquote>" * 300 + "q" + "</blockquote>" * 300) == ("q", "")


def _html_of(sample: str) -> str:
    """The HTML part of a sample letter, decoded."""
    letter = email.message_from_bytes((SAMPLES / sample).read_bytes())
    part = next(p for p in letter.walk() if p.get_content_type() == "text/html")
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    return data.decode(part.get_content_charset() or "ascii")


def test_the_html_of_outlook_letters_gives_the_same_new_text_as_their_plain_part() -> None:
    assert html_text.split(_html_of("outlook_en_attachment.eml")) == (
        "Hi team,\n\nThe invoice for November is attached. Could you check the VAT line?\n\n"
        "Thanks,\nJohn",
        "From: Support <support@desk.ru>\nSent: Monday, November 30, 2026 4:12 PM\n"
        "To: John Carter <john.carter@contoso.com>\nSubject: [#977] Invoice question\n\n"
        "Please send us the invoice.",
    )
    text, quoted = html_text.split(_html_of("outlook_ru_reply.eml"))
    assert text == (
        "Добрый день!\n\nПринтер в бухгалтерии снова не печатает, горит оранжевая лампочка.\n"
        "Перезагружали дважды.\n\nС уважением,\nОльга Смирнова"
    )
    assert quoted.startswith("От: Служба поддержки <support@desk.ru>\nОтправлено: 1 декабря")
    assert quoted.endswith("Здравствуйте! Попробуйте перезагрузить принтер.")


def test_html_quotes_keep_the_outlook_history_after_the_reply_header() -> None:
    assert html_text.split(OUTLOOK_HTML)[1].endswith("Перезагрузите.")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_text_is_never_lost_when_the_top_has_some(letter: str) -> None:
    new, quoted = quotes.split(letter)
    first = next((line for line in letter.splitlines() if line.strip()), "")
    assert bool(new.strip()) == bool(letter.strip())
    if first and not first.lstrip().startswith(">") and new:
        assert first.strip() in new + "\n" + quoted


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("<>/=\"' abcdivpbrlquote-gmail_&;#x1\n")), max_size=300)
)
def test_any_html_becomes_text(html: str) -> None:
    text, quoted = html_text.split(html)
    assert "<script" not in text + quoted

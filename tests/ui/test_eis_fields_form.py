"""A category with EIS fields (issue 18) on the requester's form, on SQLite and PostgreSQL: the
inputs suit what they hold, a wrong INN is refused at its field (422) and nothing is filed, a
good one is stored as typed (a phone as +7...), and the information form asks only for the
fields requested, filled with what the request already holds."""

from __future__ import annotations

import re
from collections.abc import Iterator
from uuid import UUID

import pytest

from domain.category import FieldSpec, FieldType
from domain.settings import Settings
from tests.ui.test_requester_pages import get, head, person, post, staff_command, version
from tests.web.desk_site import LEAKS, Site, open_site

pytestmark = LEAKS
F = FieldType
FORM = (
    FieldSpec("inn", "ИНН организации", "Organisation INN", F.INN, True),
    FieldSpec("kpp", "КПП", "KPP", F.KPP),
    FieldSpec("ogrn", "ОГРН", "OGRN", F.OGRN),
    FieldSpec("notice", "Номер извещения", "Notice number", F.NOTICE_NUMBER),
    FieldSpec("email", "Почта", "E-mail", F.EMAIL),
    FieldSpec("phone", "Телефон", "Phone", F.PHONE),
)


@pytest.fixture
def site(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    with open_site(settings, monkeypatch) as s:
        yield s


def eis_category(site: Site) -> UUID:
    written = site.services.desk.define_category(
        site.world.admin, "Участники закупок", "Procurement parties", FORM, site.world.line1
    )
    assert site.services.projections.wait_for(written.position, 10.0), "the views caught up"
    category: UUID = written.id
    return category


def filing(category: UUID, **fields: str) -> dict[str, str]:
    return {
        "category": str(category),
        "subject": "Не проходит регистрация",
        "description": "Система не принимает ИНН при регистрации.",
        **{f"field.{k}": v for k, v in fields.items()},
    }


def test_each_field_gets_an_input_that_suits_what_it_holds(site: Site) -> None:
    category = eis_category(site)
    requester = person(site, "requester")
    html = get(requester, f"/new/fields?category={category}", htmx=True).text
    assert re.search(r'name="field.inn" type="text" inputmode="numeric" maxlength="14"', html)
    assert re.search(r'name="field.ogrn" type="text" inputmode="numeric"', html)
    assert re.search(r'name="field.notice" type="text" inputmode="numeric"', html)
    assert re.search(r'name="field.kpp" type="text" autocapitalize="characters"', html)
    assert 'name="field.email" type="email" autocomplete="email"' in html
    assert 'name="field.phone" type="tel" autocomplete="tel"' in html
    admin = person(site, "admin")
    editor = get(admin, f"/admin/categories/{category}")
    assert editor.status_code == 200, editor.text
    for name in ("INN (10 or 12 digits, check digits verified)", "KPP (9 characters)",
                 "OGRN (13 digits, check digit verified)", "Phone"):  # fmt: skip
        assert f">{name}</option>" in editor.text, name
    assert re.search(r'<option value="inn" selected>', editor.text)


def test_a_wrong_inn_is_refused_at_its_field_and_nothing_is_filed(site: Site) -> None:
    category = eis_category(site)
    requester = person(site, "requester")
    before = head(site)
    wrong = post(requester, "/new", filing(category, inn="7707083894", phone="12-34"))
    assert wrong.status_code == 422, wrong.text
    said = re.search(r'<p class="field-error" id="e-inn">([^<]*)</p>', wrong.text)
    assert said, wrong.text
    assert (
        said.group(1)
        == "Organisation INN: the check digits do not match, so the number has a typo."
    )
    assert 'id="f-inn"' in wrong.text and 'aria-describedby="e-inn"' in wrong.text
    assert 'value="7707083894"' in wrong.text, "what was typed is kept"
    assert 'id="e-phone"' in wrong.text and "Phone must be a phone number" in wrong.text
    short = post(requester, "/new", filing(category, inn="77070838"))
    assert short.status_code == 422
    assert "Organisation INN must be 10 digits (an organisation) or 12 digits" in short.text
    requester.client.cookies.set("suz_lang", "ru")
    russian = post(requester, "/new", filing(category, inn="7707083894"))
    assert russian.status_code == 422
    assert "ИНН организации: не сходится контрольное число — в номере опечатка." in russian.text
    assert head(site) == before, "nothing is filed"


def test_good_values_are_stored_and_the_information_form_is_filled_with_them(site: Site) -> None:
    category = eis_category(site)
    requester = person(site, "requester")
    filed = post(requester, "/new", filing(category, inn="7707083893",
                                           phone="8 (495) 123-45-67"))  # fmt: skip
    assert filed.status_code == 204, filed.text
    found = re.fullmatch(r"/r/([0-9a-f-]{36})\?after=\d+", filed.headers["HX-Redirect"])
    assert found
    ticket = found.group(1)
    desk, agent = site.services.desk, site.world.agent
    fields = desk.ticket(agent, UUID(ticket)).fields
    assert fields["inn"] == "7707083893" and fields["phone"] == "+74951234567"

    position = staff_command(site, "agent", ticket, "information-requests",
                             fields=["phone", "ogrn"])  # fmt: skip
    page = get(requester, f"/r/{ticket}?after={position}")
    form = page.text[page.text.index('class="request-info') :]
    form = form[: form.index("</form>")]
    assert 'name="field.phone"' in form and 'value="+74951234567"' in form, "filled as held"
    assert 'name="field.ogrn"' in form and 'name="field.inn"' not in form, "only what is asked"
    before = head(site)
    bad = post(requester, f"/r/{ticket}/information",
               {"version": str(version(page.text, "info")), "field.phone": "+74951234567",
                "field.ogrn": "1027700132196"})  # fmt: skip
    assert bad.status_code == 422, bad.text
    assert "OGRN: the check digits do not match, so the number has a typo." in bad.text
    assert head(site) == before, "nothing is written"
    good = post(requester, f"/r/{ticket}/information",
                {"version": str(version(page.text, "info")), "field.phone": "+7 916 123 45 67",
                 "field.ogrn": "1027700132195"})  # fmt: skip
    assert good.status_code == 200, good.text
    fields = desk.ticket(agent, UUID(ticket)).fields
    assert fields["phone"] == "+79161234567" and fields["ogrn"] == "1027700132195"

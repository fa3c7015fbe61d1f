"""The desk's catalogue: categories with their forms, groups, accounts and organisations.

Small tables the pages and the API list from (the public form's category picker, the transfer
dialog's groups and agents) without loading aggregates.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

import orjson

from domain.category import Category
from domain.mentions import group_handle
from domain.people import Account, Group, Organisation
from projections.base import View, on
from projections.db import Tx


def _form(form: tuple[Any, ...]) -> str:
    return orjson.dumps([asdict(f) for f in form]).decode()


def _s(value: object) -> str | None:
    return str(value) if value else None


class CatalogView(View):
    name = "catalog"
    tables = ("v_categories", "v_groups", "v_accounts", "v_organisations")
    shape = 4  # 2: groups' leads; 3: accounts' e-mail addresses (the mail intake's senders);
    # 4: organisations' KPP and legal and postal addresses, categories' help texts

    def ddl(self, dialect: str) -> list[str]:
        return [
            "CREATE TABLE IF NOT EXISTS v_categories (id TEXT PRIMARY KEY, name_ru TEXT NOT NULL,"
            " name_en TEXT NOT NULL, parent_id TEXT, form TEXT NOT NULL, default_group_id TEXT,"
            " archived INTEGER NOT NULL, help TEXT NOT NULL DEFAULT '{}')",
            "CREATE TABLE IF NOT EXISTS v_groups (id TEXT PRIMARY KEY, name TEXT NOT NULL,"
            " kind TEXT NOT NULL, lead_id TEXT)",
            "CREATE TABLE IF NOT EXISTS v_accounts (id TEXT PRIMARY KEY, login TEXT NOT NULL,"
            " display_name TEXT NOT NULL, roles TEXT NOT NULL, organisation_id TEXT,"
            " group_ids TEXT NOT NULL, disabled INTEGER NOT NULL, email TEXT NOT NULL DEFAULT '')",
            "CREATE INDEX IF NOT EXISTS v_accounts_email ON v_accounts (email)",
            "CREATE INDEX IF NOT EXISTS v_accounts_organisation ON v_accounts (organisation_id)",
            "CREATE TABLE IF NOT EXISTS v_organisations (id TEXT PRIMARY KEY,"
            " name TEXT NOT NULL, inn TEXT NOT NULL, kpp TEXT NOT NULL DEFAULT '',"
            " legal_address TEXT NOT NULL DEFAULT '', postal_address TEXT NOT NULL DEFAULT '')",
        ]

    @on(Category.Defined)
    def category_defined(self, tx: Tx, e: Category.Defined, position: int) -> None:
        tx.execute(
            "INSERT INTO v_categories (id, name_ru, name_en, parent_id, form, default_group_id,"
            " archived) VALUES (%s, %s, %s, %s, %s, %s, 0)",
            (str(e.originator_id), e.name_ru, e.name_en, _s(e.parent_id), _form(e.form),
             _s(e.default_group_id)),
        )  # fmt: skip

    @on(Category.FormChanged)
    def form_changed(self, tx: Tx, e: Category.FormChanged, position: int) -> None:
        tx.execute("UPDATE v_categories SET form = %s WHERE id = %s",
                   (_form(e.form), str(e.originator_id)))  # fmt: skip

    @on(Category.HelpChanged)
    def help_changed(self, tx: Tx, e: Category.HelpChanged, position: int) -> None:
        texts = {h.key: {"text_ru": h.text_ru, "text_en": h.text_en} for h in e.help}
        tx.execute("UPDATE v_categories SET help = %s WHERE id = %s",
                   (orjson.dumps(texts).decode(), str(e.originator_id)))  # fmt: skip

    @on(Category.Archived)
    def category_archived(self, tx: Tx, e: Category.Archived, position: int) -> None:
        tx.execute("UPDATE v_categories SET archived = 1 WHERE id = %s", (str(e.originator_id),))

    @on(Group.Formed)
    def group_formed(self, tx: Tx, e: Group.Formed, position: int) -> None:
        tx.execute("INSERT INTO v_groups (id, name, kind) VALUES (%s, %s, %s)",
                   (str(e.originator_id), e.name, e.kind.value))  # fmt: skip

    @on(Group.LeadAppointed)
    def lead_appointed(self, tx: Tx, e: Group.LeadAppointed, position: int) -> None:
        tx.execute("UPDATE v_groups SET lead_id = %s WHERE id = %s",
                   (_s(e.lead_id), str(e.originator_id)))  # fmt: skip

    @on(Organisation.Registered)
    def organisation_registered(self, tx: Tx, e: Organisation.Registered, position: int) -> None:
        tx.execute("INSERT INTO v_organisations (id, name, inn, kpp, legal_address,"
                   " postal_address) VALUES (%s, %s, %s, %s, %s, %s)",
                   (str(e.originator_id), e.name, e.inn, e.kpp, e.legal_address,
                    e.postal_address))  # fmt: skip

    @on(Organisation.Renamed)
    def organisation_renamed(self, tx: Tx, e: Organisation.Renamed, position: int) -> None:
        tx.execute("UPDATE v_organisations SET name = %s WHERE id = %s",
                   (e.name, str(e.originator_id)))  # fmt: skip

    @on(Organisation.DetailsChanged)
    def organisation_details(self, tx: Tx, e: Organisation.DetailsChanged, position: int) -> None:
        tx.execute("UPDATE v_organisations SET kpp = %s, legal_address = %s, postal_address = %s"
                   " WHERE id = %s", (e.kpp, e.legal_address, e.postal_address,
                                      str(e.originator_id)))  # fmt: skip

    @on(Account.Registered)
    def account_registered(self, tx: Tx, e: Account.Registered, position: int) -> None:
        tx.execute(
            "INSERT INTO v_accounts (id, login, display_name, roles, organisation_id, group_ids,"
            " disabled, email) VALUES (%s, %s, %s, %s, %s, '[]', 0, %s)",
            (str(e.originator_id), e.login, e.display_name,
             orjson.dumps([r.value for r in e.roles]).decode(), _s(e.organisation_id),
             e.email.strip().lower()),
        )  # fmt: skip

    @on(Account.JoinedGroup, Account.LeftGroup)
    def membership(self, tx: Tx, e: Any, position: int) -> None:
        row = tx.one("SELECT group_ids FROM v_accounts WHERE id = %s", (str(e.originator_id),))
        groups = [g for g in orjson.loads(row[0]) if g != str(e.group_id)] if row else []
        if isinstance(e, Account.JoinedGroup):
            groups.append(str(e.group_id))
        tx.execute("UPDATE v_accounts SET group_ids = %s WHERE id = %s",
                   (orjson.dumps(groups).decode(), str(e.originator_id)))  # fmt: skip

    @on(Account.RolesChanged)
    def roles_changed(self, tx: Tx, e: Account.RolesChanged, position: int) -> None:
        roles = orjson.dumps([r.value for r in e.roles]).decode()
        tx.execute("UPDATE v_accounts SET roles = %s WHERE id = %s", (roles, str(e.originator_id)))

    @on(Account.Disabled, Account.Enabled)
    def disabled(self, tx: Tx, e: Any, position: int) -> None:
        tx.execute("UPDATE v_accounts SET disabled = %s WHERE id = %s",
                   (int(isinstance(e, Account.Disabled)), str(e.originator_id)))  # fmt: skip


def categories(tx: Tx) -> list[dict[str, Any]]:
    """The categories in use, each with its form and its fields' help texts by key
    (`{"inn": {"text_ru": ..., "text_en": ...}}`)."""
    rows = tx.all("SELECT id, name_ru, name_en, parent_id, form, default_group_id, help"
                  " FROM v_categories WHERE archived = 0 ORDER BY name_ru")  # fmt: skip
    return [{"id": r[0], "name_ru": r[1], "name_en": r[2], "parent_id": r[3],
             "form": orjson.loads(r[4]), "default_group_id": r[5], "help": orjson.loads(r[6])}
            for r in rows]  # fmt: skip


def groups(tx: Tx) -> list[dict[str, Any]]:
    rows = tx.all("SELECT id, name, kind, lead_id FROM v_groups ORDER BY kind, name")
    return [{"id": r[0], "name": r[1], "kind": r[2], "lead_id": r[3]} for r in rows]


def follow_up_groups(tx: Tx, account_id: str, group_ids: list[str]) -> list[str]:
    """The groups whose low ratings this agent follows up: those they lead, and those of their
    groups that have no lead."""
    marks = ", ".join(["%s"] * len(group_ids)) or "NULL"
    rows = tx.all(
        "SELECT id FROM v_groups WHERE lead_id = %s"
        f" OR (lead_id IS NULL AND id IN ({marks})) ORDER BY id",
        (account_id, *group_ids),
    )
    return [str(r[0]) for r in rows]


def staff(tx: Tx) -> list[dict[str, Any]]:
    rows = tx.all(
        "SELECT id, login, display_name, roles, group_ids FROM v_accounts"
        " WHERE disabled = 0 AND roles <> %s ORDER BY display_name",
        ('["requester"]',),
    )
    return [{"id": r[0], "login": r[1], "display_name": r[2], "roles": orjson.loads(r[3]),
             "groups": orjson.loads(r[4])} for r in rows]  # fmt: skip


def category(tx: Tx, category_id: str) -> dict[str, Any] | None:
    """A category, archived ones too (filed requests keep theirs), with its form as stored."""
    row = tx.one(
        "SELECT id, name_ru, name_en, form, archived, help FROM v_categories WHERE id = %s",
        (category_id,),
    )
    if row is None:
        return None
    return {"id": row[0], "name_ru": row[1], "name_en": row[2], "form": orjson.loads(row[3]),
            "archived": bool(row[4]), "help": orjson.loads(row[5])}  # fmt: skip


def organisations(tx: Tx, limit: int = 500) -> list[dict[str, Any]]:
    rows = tx.all("SELECT id, name FROM v_organisations ORDER BY name LIMIT %s", (limit,))
    return [{"id": r[0], "name": r[1]} for r in rows]


# -- names for the ids a page shows: one query per kind, whatever the page's length -----------
def _names(tx: Tx, table: str, column: str, ids: Iterable[str | None]) -> dict[str, str]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    marks = ", ".join(["%s"] * len(wanted))
    return dict(tx.all(f"SELECT id, {column} FROM {table} WHERE id IN ({marks})", tuple(wanted)))


def account_names(tx: Tx, ids: Iterable[str | None]) -> dict[str, str]:
    return _names(tx, "v_accounts", "display_name", ids)


def group_names(tx: Tx, ids: Iterable[str | None]) -> dict[str, str]:
    return _names(tx, "v_groups", "name", ids)


def organisation_names(tx: Tx, ids: Iterable[str | None]) -> dict[str, str]:
    return _names(tx, "v_organisations", "name", ids)


def organisation_codes(tx: Tx, ids: Iterable[str | None]) -> dict[str, tuple[str, str]]:
    """Each organisation's INN and KPP ("" when it has none), for the staff's side panels."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    marks = ", ".join(["%s"] * len(wanted))
    rows = tx.all(f"SELECT id, inn, kpp FROM v_organisations WHERE id IN ({marks})",
                  tuple(wanted))  # fmt: skip
    return {r[0]: (r[1], r[2]) for r in rows}


def category_names(tx: Tx) -> dict[str, dict[str, Any]]:
    rows = tx.all("SELECT id, name_ru, name_en FROM v_categories")
    return {r[0]: {"name_ru": r[1], "name_en": r[2]} for r in rows}


def names_for(tx: Tx, rows: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """Every name a list of ticket rows shows, in four queries whatever its length."""
    rows = list(rows)
    return {
        "accounts": account_names(
            tx, [r.requester_id for r in rows] + [r.assignee_id for r in rows]
        ),
        "groups": group_names(tx, [r.group_id for r in rows]),
        "organisations": organisation_names(tx, [r.organisation_id for r in rows]),
        "categories": category_names(tx),
    }


def account_by_email(tx: Tx, email: str) -> tuple[str, str | None] | None:
    """The enabled account with this e-mail address (the first by login, if several share
    it): its id and organisation; None when nobody has it."""
    row = tx.one(
        "SELECT id, organisation_id FROM v_accounts WHERE email = %s AND disabled = 0"
        " ORDER BY login LIMIT 1",
        (email.strip().lower(),),
    )
    return (row[0], row[1]) if row else None


def mention_handles(tx: Tx, typed: str, limit: int = 8) -> list[dict[str, str]]:
    """What an `@` in a note may name, for the composer's autocomplete (issue 16): active staff
    whose login or name starts with `typed` (or holds it), then groups whose handle does; each as
    {handle, label, kind}. The handles are domain/mentions.py's, so a pick resolves as shown."""
    typed = typed.strip().lower().lstrip("@")[:64]
    like = "%" + typed.replace("\\", "").replace("%", "").replace("_", "\\_") + "%"
    rows = tx.all(
        "SELECT login, display_name FROM v_accounts WHERE disabled = 0 AND roles <> %s"
        " AND (LOWER(login) LIKE %s ESCAPE '\\' OR LOWER(display_name) LIKE %s ESCAPE '\\')"
        " ORDER BY login LIMIT 200",
        ('["requester"]', like, like),
    )
    people = sorted(rows, key=lambda r: (not str(r[0]).startswith(typed), str(r[0])))
    found = [{"handle": str(r[0]), "label": str(r[1]), "kind": "person"} for r in people]
    logins = {f["handle"] for f in found}
    handles = {group_handle(str(r[0])): str(r[0]) for r in tx.all("SELECT name FROM v_groups")}
    found += [{"handle": h, "label": name, "kind": "group"} for h, name in sorted(handles.items())
              if typed in h or typed in name.lower()
              if h and h not in logins]  # fmt: skip  # a login wins over a group's handle
    return found[:limit]

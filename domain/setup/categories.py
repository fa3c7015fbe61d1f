"""Request categories: defining one, and changing its form (requests filed from then on) and
its fields' help texts."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain.access import Actor, Setup
from domain.category import Category, FieldHelp, FieldSpec
from domain.chain import check_seen
from domain.people import Group
from domain.results import Written
from domain.setup.base import Ports, SetupCommand, handles


@dataclass(frozen=True)
class DefineCategory(SetupCommand):
    name_ru: str
    name_en: str
    form: tuple[FieldSpec, ...] = ()
    default_group_id: UUID | None = None
    parent_id: UUID | None = None

    policy = Setup.DEFINE_CATEGORY


@handles(DefineCategory)
def define_category(desk: Ports, actor: Actor, c: DefineCategory) -> Written:
    if c.default_group_id is not None:
        desk._get(Group, c.default_group_id, "group")
    if c.parent_id is not None:
        desk._get(Category, c.parent_id, "category")
    category = Category.define(c.name_ru, c.name_en, c.form, c.default_group_id, c.parent_id)
    return desk._written(category)


@dataclass(frozen=True)
class ChangeCategoryForm(SetupCommand):
    """A new form applies to requests filed from now on; filed ones keep their values."""

    category_id: UUID
    form: tuple[FieldSpec, ...]
    expected_version: int | None = None  # the version the editor saw (None: any)
    help: tuple[FieldHelp, ...] | None = None  # the fields' help texts (None: left as they are)

    policy = Setup.CHANGE_CATEGORY_FORM


@handles(ChangeCategoryForm)
def change_category_form(desk: Ports, actor: Actor, c: ChangeCategoryForm) -> Written:
    category = desk._get(Category, c.category_id, "category")
    check_seen(category, c.expected_version)
    category.change_form(c.form)
    if c.help is not None:
        category.set_help(actor.id, c.help)
    elif category.help:  # a field taken out of the form takes its help text along
        category.set_help(actor.id, tuple(h for h in category.help if category.spec(h.key)))
    return desk._written(category)

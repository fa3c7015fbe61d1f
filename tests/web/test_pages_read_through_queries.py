"""Web pages read through the read side's query modules: none names a view table (`v_*`), so a
view's tables can change shape without touching a page (issue 14)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VIEW_SQL = re.compile(r"(?i)\b(from|join|into|update)\s+v_[a-z_]+")


def test_no_web_module_names_a_view_table() -> None:
    modules = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "web").rglob("*.py"))
    naming = [m for m in modules if VIEW_SQL.search((ROOT / m).read_text())]
    assert naming == []


def test_the_active_statuses_are_spelled_out_once() -> None:
    spelled = re.compile(
        r"""\(\s*(Status\.NEW(\.value)?|["']new["'])\s*,\s*(Status\.OPEN(\.value)?|["']open["'])\s*,"""
        r"""\s*(Status\.WAITING(\.value)?|["']waiting["'])\s*\)"""
    )
    found = [
        p.relative_to(ROOT).as_posix()
        for top in ("domain", "projections", "web")
        for p in sorted((ROOT / top).rglob("*.py"))
        if spelled.search(p.read_text())
    ]
    assert found == ["domain/tickets/values.py"]

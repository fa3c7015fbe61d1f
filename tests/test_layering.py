"""The packages show the architecture, and the code keeps to it: domain/ imports nothing from
projections/, processes/, mail/, audit/, web/ or the composition root (suz/); projections/
nothing from processes/ (the process managers follow the views, not the other way round) nor
from mail/; mail/ (letters and their transport) only from domain/; processes/ and audit/
nothing from web/ or suz/; nothing imports suz/; no two modules import each other, however far
round; and the environment is read in domain/settings.py only. Every import counts, also one
inside a function or under TYPE_CHECKING: each still ties the modules together."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from domain.settings import DEFAULT_MAX_UPLOAD_BYTES, DEFAULT_ORIGINS, Settings

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("domain", "projections", "processes", "mail", "audit", "web", "suz")
BELOW = {  # what each package may not import
    "domain": {"projections", "processes", "mail", "audit", "web", "suz"},
    "projections": {"processes", "mail", "audit", "web", "suz"},
    "mail": {"projections", "processes", "audit", "web", "suz"},
    "processes": {"audit", "web", "suz"},
    "audit": {"web", "suz"},
    "web": {"suz"},
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    deps = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        deps |= {n for n in names if n in modules}
    return deps


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def _cycle_from(start: str, graph: dict[str, set[str]]) -> list[str] | None:
    """A path of imports from `start` back to it, if there is one."""
    stack, seen = [(start, [start])], set()
    while stack:
        node, path = stack.pop()
        for dep in graph[node]:
            if dep == start:
                return [*path, start]
            if dep not in seen:
                seen.add(dep)
                stack.append((dep, [*path, dep]))
    return None


def test_no_package_imports_one_above_it() -> None:
    upward = sorted(
        f"{module} -> {dep}"
        for module, deps in _graph().items()
        for dep in deps
        if dep.split(".")[0] in BELOW.get(module.split(".")[0], set())
    )
    assert upward == []


def test_no_module_imports_itself_round_a_circle() -> None:
    graph = _graph()
    cycles = {" -> ".join(c) for m in graph if (c := _cycle_from(m, graph)) and c[0] == min(c)}
    assert cycles == set()


def test_the_environment_is_read_in_the_settings_only() -> None:
    readers = sorted(
        name
        for name, path in _modules().items()
        if re.search(r"os\.environ|getenv\(", path.read_text(encoding="utf-8"))
    )
    assert readers == ["domain.settings"]


def test_the_settings_carry_what_the_web_processes_used_to_read_themselves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("SUZ_RUN_VIEWS", "SUZ_ORIGINS", "SUZ_MAX_UPLOAD_BYTES"):
        monkeypatch.delenv(name, raising=False)
    plain = Settings.from_env()
    assert (plain.run_views, plain.origins, plain.allowed_origins, plain.max_upload_bytes) == (
        True, None, DEFAULT_ORIGINS, DEFAULT_MAX_UPLOAD_BYTES)  # fmt: skip
    monkeypatch.setenv("SUZ_RUN_VIEWS", "n")
    monkeypatch.setenv("SUZ_ORIGINS", "https://desk.example")
    monkeypatch.setenv("SUZ_MAX_UPLOAD_BYTES", "1000")
    given = Settings.from_env()
    assert (given.run_views, given.allowed_origins, given.max_upload_bytes) == (
        False, "https://desk.example", 1000)  # fmt: skip


def test_serve_hands_its_decisions_to_the_worker_processes_through_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """uvicorn's workers build their own settings from the environment they inherit."""
    monkeypatch.setenv("SUZ_RUN_VIEWS", "y")
    monkeypatch.delenv("SUZ_ORIGINS", raising=False)
    Settings(Path("data"), None, run_views=False, origins="http://127.0.0.1:9000").publish()
    worker = Settings.from_env()
    assert (worker.run_views, worker.origins) == (False, "http://127.0.0.1:9000")

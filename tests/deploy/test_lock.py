"""The lock files (requirements/*.txt, written by ./scripts/lock) agree with pyproject.toml:
every dependency it names is pinned, at a version it allows, with hashes; the dev file pins
every runtime package at the same version; the runtime file holds no test or lint tool.

A dependency added to pyproject.toml without ./scripts/lock fails here (and scripts/_venv.sh's
`pip check` stops the install), instead of a fresh machine quietly missing it."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def pins(name: str) -> dict[str, str]:
    """{canonical name: version} of requirements/<name>.txt; each pin must carry its hashes."""
    text = (ROOT / "requirements" / f"{name}.txt").read_text()
    found: dict[str, str] = {}
    # one requirement per logical line: `name==version [; marker] \` then `--hash=sha256:...`
    for entry in re.split(r"\n(?=\S)", text):
        if not entry.strip() or entry.startswith("#"):
            continue
        match = PIN.match(entry)
        assert match, f"requirements/{name}.txt: not a pinned requirement: {entry[:80]!r}"
        assert "--hash=sha256:" in entry, f"requirements/{name}.txt: {match[1]} has no hash"
        found[canonicalize_name(match[1])] = match[2]
    return found


def direct(extra: str | None) -> list[Requirement]:
    project = PYPROJECT["project"]
    names = project["dependencies"] if extra is None else project["optional-dependencies"][extra]
    return [Requirement(r) for r in names]


@pytest.mark.parametrize(("lock", "extra"), [("runtime", None), ("dev", None), ("dev", "dev")])
def test_every_dependency_is_pinned_at_an_allowed_version(lock: str, extra: str | None) -> None:
    pinned = pins(lock)
    for requirement in direct(extra):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{requirement} is not in requirements/{lock}.txt: ./scripts/lock"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"requirements/{lock}.txt pins {name}=={pinned[name]}, pyproject.toml asks "
            f"{requirement}: ./scripts/lock"
        )


def test_dev_pins_the_runtime_versions() -> None:
    runtime, dev = pins("runtime"), pins("dev")
    differing = {n: (v, dev.get(n)) for n, v in runtime.items() if dev.get(n) != v}
    assert not differing, f"runtime vs dev: {differing}: ./scripts/lock"


def test_runtime_lock_holds_no_dev_tools() -> None:
    runtime = pins("runtime")
    for tool in ("pytest", "mypy", "ruff", "playwright", "hypothesis", "schemathesis", "uv"):
        assert tool not in runtime, f"{tool} is a dev tool, yet requirements/runtime.txt has it"

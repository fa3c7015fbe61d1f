"""compose.yaml, the Dockerfile and .dockerignore, checked without docker (this machine has no
daemon, and no registry to pull python:3.11-slim or postgres:17 from).

What docker would find out only at `docker compose up` is checked here: every suz service runs a
real `suz` subcommand with real flags, its environment names settings that domain/settings.py
reads, its secrets are mounted where the environment says, the image installs from the hashed
runtime lock and runs as a user other than root. Then the processes compose.yaml describes are
started as compose would start them (its commands, its environment with the secrets as files,
production mode), on a fresh PostgreSQL schema: the one-shot `suz migrate`, `suz init` and
`suz create-admin` of docs/deployment.md, one `suz views` and one `suz serve --no-views`; the
web's compose healthcheck and the image's HEALTHCHECK are run as they are written, and a proxy
in SUZ_PROXY_IPS has its X-Forwarded-Proto believed."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.conftest import PG_URL
from tests.e2e.server import free_port, serve, server_env

ROOT = Path(__file__).resolve().parents[2]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()
SERVICES: dict[str, Any] = COMPOSE["services"]
SUZ = {name: s for name, s in SERVICES.items() if s.get("command", [""])[0] == "suz"}
SETTINGS_SOURCE = (ROOT / "domain" / "settings.py").read_text()
VARIABLE = re.compile(r"\$\{(\w+)(?::([-?])([^}]*))?\}")
START = 90.0  # seconds a process may take to start on a loaded 2-core machine


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default} and ${NAME:?error} in `value`."""

    def one(m: re.Match[str]) -> str:
        name, kind, rest = m[1], m[2], m[3]
        if variables.get(name):
            return variables[name]
        assert kind != "?", f"compose.yaml needs {name}: {rest}"
        return rest if kind == "-" else ""

    return VARIABLE.sub(one, value)


def suz_help(command: str) -> str:
    done = subprocess.run([sys.executable, "-m", "suz.cli", command, "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, f"`suz {command}` is no suz command:\n{done.stderr}"
    return done.stdout


def test_the_services_are_postgres_migrate_web_and_one_views() -> None:
    assert set(SUZ) == {"migrate", "web", "views"}
    assert SERVICES["db"]["image"].startswith("postgres:")
    assert SUZ["web"]["command"][1:3] == ["serve", "--no-views"]
    assert SUZ["views"]["command"][1:] == ["views"]
    assert "replicas" in SUZ["web"]["deploy"]
    assert "deploy" not in SUZ["views"], "exactly one views process"
    for name in ("web", "views"):
        assert SUZ[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


@pytest.mark.parametrize("service", sorted(SUZ))
def test_commands_are_suz_subcommands_with_real_flags(service: str) -> None:
    command = SUZ[service]["command"]
    usage = suz_help(command[1])
    for flag in (a.split("=")[0] for a in command[2:] if a.startswith("--")):
        assert flag in usage, f"{service}: `suz {command[1]}` has no {flag}"


@pytest.mark.parametrize("service", sorted(SUZ))
def test_environment_names_are_settings(service: str) -> None:
    for name in SUZ[service]["environment"]:
        if name.endswith("_FILE"):  # SUZ_X_FILE: the secret SUZ_X read from a file
            base = name.removesuffix("_FILE")
            assert f'secret("{base}")' in SETTINGS_SOURCE or f'key_path("{base}")' in (
                SETTINGS_SOURCE
            ), f"{service}: domain/settings.py reads no {name}"
        else:
            assert f'"{name}"' in SETTINGS_SOURCE, f"{service}: domain/settings.py reads no {name}"


@pytest.mark.parametrize("service", sorted(SUZ))
def test_secrets_are_mounted_where_the_environment_says(service: str) -> None:
    spec = SUZ[service]
    mounted = {f"/run/secrets/{s}" for s in spec["secrets"]}
    named = {v for v in spec["environment"].values() if str(v).startswith("/run/secrets/")}
    assert named == mounted, f"{service}: environment names {named}, mounted {mounted}"
    assert set(spec["secrets"]) <= set(COMPOSE["secrets"])
    for key in ("SUZ_CHAIN_KEY", "SUZ_SIGNING_KEY"):  # production refuses to start without
        assert any(n in (key, f"{key}_FILE") for n in spec["environment"]), f"{service}: {key}"
    assert spec["environment"]["SUZ_MODE"] == "production"


def test_dockerfile_installs_the_runtime_lock_and_runs_as_a_user() -> None:
    lines = [line.strip() for line in DOCKERFILE.replace("\\\n", " ").splitlines()]
    instructions = [line for line in lines if line and not line.startswith("#")]
    assert instructions[0].startswith("FROM python:3.11-slim")
    install = next(i for i, line in enumerate(instructions) if "--require-hashes" in line)
    assert re.search(r"pip install --require-hashes -r \S*requirements/runtime\.txt",
                     instructions[install])  # fmt: skip
    assert any("COPY requirements/runtime.txt" in line for line in instructions[:install])
    assert "requirements/dev.txt" not in DOCKERFILE
    users = [i for i, line in enumerate(instructions) if line.startswith("USER ")]
    assert users, "no USER: the image would run as root"
    user = instructions[users[-1]].split()[1]
    assert user not in ("root", "0") and not user.startswith("0:")
    cmd = next(i for i, line in enumerate(instructions) if line.startswith("CMD "))
    assert users[-1] < cmd, "the last USER comes before CMD"
    assert "SUZ_MODE=production" in DOCKERFILE
    ignored = (ROOT / ".dockerignore").read_text().split()
    for kept_out in (".git", ".venv", "data", "secrets", ".env"):
        assert kept_out in ignored, f".dockerignore: {kept_out} would enter the image"


def test_docker_compose_accepts_the_file() -> None:
    """Where a compose CLI is installed (it validates without a daemon): the file is valid, and
    without SUZ_PUBLIC_URL compose refuses, naming it."""
    plugin = ["docker", "compose", "version"]
    if shutil.which("docker") and subprocess.run(plugin, capture_output=True).returncode == 0:
        cli = ["docker", "compose"]
    elif shutil.which("docker-compose"):
        cli = ["docker-compose"]
    else:
        pytest.skip("no docker compose here; the other tests of this file stand in for it")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUZ_")}
    config = [*cli, "--file", str(ROOT / "compose.yaml"), "config", "--quiet"]
    done = subprocess.run(config, env={**env, "SUZ_PUBLIC_URL": "https://desk.example.ru"},
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = subprocess.run(config, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0 and "SUZ_PUBLIC_URL" in done.stderr, done.stderr


def dockerfile_healthcheck() -> list[str]:
    match = re.search(r"HEALTHCHECK[^\n]*\\\n\s*CMD (\[.*\])", DOCKERFILE)
    assert match, "the Dockerfile has no HEALTHCHECK ... CMD [...]"
    command: list[str] = json.loads(match[1])
    return command


def as_here(command: list[str], port: int) -> list[str]:
    """A container's `python -c ...` healthcheck run here, against `port`."""
    assert command[0] == "python", command
    return [sys.executable, *(a.replace("127.0.0.1:8000/", f"127.0.0.1:{port}/") for a in
                              command[1:])]  # fmt: skip


def compose_env(tmp_path: Path, schema: str, variables: dict[str, str]) -> dict[str, str]:
    """What compose gives a suz container, here: its environment interpolated, the secrets as
    files (created like docs/deployment.md says), the volume as a folder; plus the test schema."""
    secret_dir, data = tmp_path / "run-secrets", tmp_path / "volume"
    secret_dir.mkdir()
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )  # fmt: skip
    contents = {
        "chain_key": secrets.token_hex(32) + "\n",
        "signing_key": pem.decode(),
        "database_url": PG_URL + "\n",
        "postgres_password": "unused here\n",
    }
    for name in COMPOSE["secrets"]:
        (secret_dir / name).write_text(contents[name])
    env = server_env_base()
    spec = SUZ["web"]
    for name, value in spec["environment"].items():
        value = interpolate(str(value), variables)
        value = value.replace("/run/secrets/", f"{secret_dir}/")
        env[name] = value.replace("/var/lib/suz", str(data))
    env["SUZ_DATABASE_SCHEMA"] = schema  # the test's own schema in the test database
    return env


def server_env_base() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUZ_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def suz(env: dict[str, str], command: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    assert command[0] == "suz"
    argv = [sys.executable, "-m", "suz.cli", *command[1:]]
    return subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False, **kw)  # fmt: skip


def wait_for(check: list[str], process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START
    while time.monotonic() < deadline:
        assert process.poll() is None, f"exited {process.returncode}:\n{log.read_text()}"
        if subprocess.run(check, capture_output=True, timeout=30, check=False).returncode == 0:
            return
        time.sleep(0.5)
    raise AssertionError(f"{check} did not pass in {START} s:\n{log.read_text()}")


def stop(process: subprocess.Popen[bytes], log: Path) -> int:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)
            raise AssertionError(f"ignored SIGTERM:\n{log.read_text()}") from None
    return process.returncode


@pytest.mark.postgres
def test_the_compose_processes_start_and_pass_their_healthchecks(
    tmp_path: Path, pg_schema: str
) -> None:
    env = compose_env(tmp_path, pg_schema, {"SUZ_PUBLIC_URL": "https://desk.test",
                                            "SUZ_PROXY_IPS": "127.0.0.1"})  # fmt: skip
    assert env["SUZ_MODE"] == "production" and "SUZ_DATABASE_URL" not in env

    # the one-shot service, then the first steps of docs/deployment.md ("Container")
    for command, stdin in ((SUZ["migrate"]["command"], None), (["suz", "init"], None),
                           (["suz", "create-admin", "--login", "admin", "--name", "Admin",
                             "--email", "admin@desk.test", "--password-stdin"],
                            "Long-enough-admin-pass-2026\n")):  # fmt: skip
        done = suz(env, command, input=stdin)
        assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"

    port = free_port()
    web_command = list(SUZ["web"]["command"])
    web_command[web_command.index("--host") + 1] = "127.0.0.1"  # here: loopback only
    web_command[web_command.index("--port") + 1] = str(port)
    logs = {name: tmp_path / f"{name}.log" for name in ("views", "web")}
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, command in (("views", SUZ["views"]["command"]), ("web", web_command)):
            with logs[name].open("wb") as out:
                processes[name] = subprocess.Popen(
                    [sys.executable, "-m", "suz.cli", *command[1:]], env=env, cwd=ROOT,
                    stdout=out, stderr=subprocess.STDOUT,
                )  # fmt: skip
        compose_check = SUZ["web"]["healthcheck"]["test"]
        assert compose_check[0] == "CMD"
        wait_for(as_here(compose_check[1:], port), processes["web"], logs["web"])
        image_check = as_here(dockerfile_healthcheck(), port)
        assert subprocess.run(image_check, capture_output=True, timeout=30).returncode == 0
        assert processes["views"].poll() is None, logs["views"].read_text()

        # the proxy (SUZ_PROXY_IPS) says the browser came over https: HSTS is sent
        r = httpx.get(
            f"http://127.0.0.1:{port}/health",
            timeout=10,
            headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"},
        )
        assert r.status_code == 200 and "strict-transport-security" in r.headers
        # the administrator made by create-admin signs in through the web process
        r = httpx.post(
            f"http://127.0.0.1:{port}/api/v1/session",
            timeout=10,
            json={"login": "admin", "password": "Long-enough-admin-pass-2026"},
        )
        assert r.status_code == 200, r.text
    finally:
        codes = {name: stop(p, logs[name]) for name, p in processes.items()}
    # uvicorn ends a clean shutdown by raising the SIGTERM it caught again: -15 is its clean exit
    assert codes["views"] == 0 and codes["web"] in (0, -signal.SIGTERM), logs["views"].read_text()
    assert "Finished server process" in logs["web"].read_text()


def test_a_proxy_outside_the_allow_list_is_not_believed(tmp_path: Path) -> None:
    """`suz serve --forwarded-allow-ips` names the proxies; a request from anywhere else that
    claims https in X-Forwarded-Proto is still plain http (no HSTS)."""
    from domain.settings import Settings

    env = server_env(Settings(data_dir=tmp_path / "data", database_url=None))
    with serve(env, tmp_path, "--forwarded-allow-ips", "192.0.2.1") as server:
        r = httpx.get(f"{server.url}/health", headers={"X-Forwarded-Proto": "https"}, timeout=10)
    assert r.status_code == 200
    assert "strict-transport-security" not in r.headers

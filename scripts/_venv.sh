# Sourced by the scripts: creates .venv on first use and installs into it exactly the versions of
# a lock file, every file checked against its sha256 (pip --require-hashes), then suz itself
# (editable, no dependencies of its own choosing):
#   SUZ_DEPS=runtime   requirements/runtime.txt (./scripts/run: no test, lint or browser tools)
#   SUZ_DEPS=dev       requirements/dev.txt (the default: ./scripts/test, bench, i18n, lock)
# Re-installs only when that lock file or pyproject.toml changed since its last install; then
# `pip check` makes sure the lock still gives every [project] dependency pyproject.toml asks for
# (else: run ./scripts/lock; tests/deploy/test_lock.py checks the [dev] ones too).
# docs/deployment.md, "Install".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
deps=${SUZ_DEPS:-dev}
case "$deps" in
    runtime | dev) ;;
    *) echo "SUZ_DEPS must be runtime or dev, not '$deps'" >&2; exit 2 ;;
esac
lock=requirements/$deps.txt
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
stamp=.venv/.suz-installed-$deps
if [ ! -f "$stamp" ] || [ "$lock" -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "Installing $lock into .venv..." >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r "$lock"
    PYTHONWARNINGS=ignore .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .  # no setuptools notes
    if [ "${SUZ_DEPS_CHECK:-y}" != n ]; then
        if ! problems=$(.venv/bin/python -m pip check 2>&1); then
            echo "$problems" >&2
            echo "$lock does not give what pyproject.toml asks for: run ./scripts/lock" >&2
            exit 1
        fi
        touch "$stamp"  # only a complete install is stamped
    fi
fi
export PATH="$PWD/.venv/bin:$PATH"

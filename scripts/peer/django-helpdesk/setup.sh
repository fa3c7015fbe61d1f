#!/usr/bin/env bash
# Installs django-helpdesk 2.6.1 as a performance peer under /tmp/peer-dh.
#
#   bash setup.sh           idempotent: (re)creates what is missing, keeps data
#   bash setup.sh --reset   from scratch: removes /tmp/peer-dh (venv, project,
#                           state) and drops + recreates the database peer_dh
#   bash setup.sh --reset-db  keeps the venv; drops + recreates the database peer_dh only
#                           (scripts/peer/bench_pair.py runs this before each run)
#
# Needs: python3 (3.10+), PostgreSQL 15 running locally, root (uses `su postgres`
# for the peer-auth'd superuser; the app itself logs in over 127.0.0.1 as the
# role peer_dh with a password). PyPI reachable through pip's configured index.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${PEER_DH_ROOT:-/tmp/peer-dh}"
DB="${PEER_DH_DB:-peer_dh}"
DB_USER="${PEER_DH_DB_USER:-peer_dh}"
DB_PASSWORD="${PEER_DH_DB_PASSWORD:-peer_dh}"
PY="${PYTHON:-python3}"

# Pinned to what was measured (README.md); bump together with the figures.
PKGS=(
  "django-helpdesk==2.6.1"
  "Django==5.2.19"
  "djangorestframework==3.18.3"
  "psycopg[binary]==3.3.9"
  "gunicorn==27.0.1"
  "httpx==0.28.1"
)

psql_su() { (cd /tmp && su postgres -c "psql -v ON_ERROR_STOP=1 -qAt"); }  # SQL on stdin

if [[ "${1:-}" == "--reset" ]]; then
  if [[ -f "$ROOT/run/gunicorn.pid" ]]; then
    bash "$HERE/serve.sh" stop || true
  fi
  echo ">> reset: removing $ROOT and dropping database $DB"
  rm -rf "$ROOT"
  echo "DROP DATABASE IF EXISTS $DB WITH (FORCE);" | psql_su
elif [[ "${1:-}" == "--reset-db" ]]; then
  if [[ -f "$ROOT/run/gunicorn.pid" ]]; then
    bash "$HERE/serve.sh" stop || true
  fi
  echo ">> reset: dropping database $DB (the venv in $ROOT stays)"
  echo "DROP DATABASE IF EXISTS $DB WITH (FORCE);" | psql_su
fi

mkdir -p "$ROOT"/{project/peerdh,run,logs,media,static,results}

echo ">> venv + packages"
if [[ ! -x "$ROOT/venv/bin/python" ]]; then
  "$PY" -m venv "$ROOT/venv"
  "$ROOT/venv/bin/pip" install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
fi
"$ROOT/venv/bin/pip" install -q "${PKGS[@]}" 2>&1 | grep -v "is ignored" || true
"$ROOT/venv/bin/python" -c "import helpdesk, django, rest_framework, psycopg, gunicorn, httpx" \
  || { echo "package install failed" >&2; exit 1; }

echo ">> database role $DB_USER and database $DB"
psql_su <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
    CREATE ROLE $DB_USER LOGIN PASSWORD '$DB_PASSWORD';
  ELSE
    ALTER ROLE $DB_USER LOGIN PASSWORD '$DB_PASSWORD';
  END IF;
END \$\$;
SQL
if [[ -z "$(echo "SELECT 1 FROM pg_database WHERE datname = '$DB';" | psql_su)" ]]; then
  echo "CREATE DATABASE $DB OWNER $DB_USER;" | psql_su
fi

echo ">> Django project in $ROOT/project"
cp "$HERE/manage.py" "$ROOT/project/manage.py"
: > "$ROOT/project/peerdh/__init__.py"
cp "$HERE/settings.py" "$ROOT/project/peerdh/settings.py"
cp "$HERE/urls.py" "$ROOT/project/peerdh/urls.py"
cp "$HERE/wsgi.py" "$ROOT/project/peerdh/wsgi.py"

cd "$ROOT/project"
M() { PEER_DH_ROOT="$ROOT" "$ROOT/venv/bin/python" manage.py "$@"; }
M check --deploy --fail-level CRITICAL >/dev/null 2>&1 || M check
M migrate --noinput -v 0
# docs/install.rst step 8: the e-mail templates
M loaddata emailtemplate.json -v 0
M collectstatic --noinput -v 0

echo ">> seed: admin user, token, queues, 1,000-follow-up ticket, follow-up pool"
PEER_DH_ROOT="$ROOT" "$ROOT/venv/bin/python" "$HERE/seed.py" base

echo ">> done. Start:  bash $HERE/serve.sh start 2   (scripts/peer/bench_pair.py does it)"

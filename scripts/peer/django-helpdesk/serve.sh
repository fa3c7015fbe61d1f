#!/usr/bin/env bash
# Start / stop the django-helpdesk peer under gunicorn on 127.0.0.1:8101.
#
#   bash serve.sh start [WORKERS] [WORKER_CLASS] [THREADS]   default: 2 sync
#   bash serve.sh stop
#   bash serve.sh status
#
# Only ever signals the gunicorn master whose PID this script wrote, and its workers.
set -euo pipefail

ROOT="${PEER_DH_ROOT:-/tmp/peer-dh}"
BIND="${PEER_DH_BIND:-127.0.0.1:8101}"
PIDFILE="$ROOT/run/gunicorn.pid"
mkdir -p "$ROOT/run" "$ROOT/logs"

running() { [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

case "${1:-}" in
  start)
    WORKERS="${2:-2}"; CLASS="${3:-sync}"; THREADS="${4:-1}"
    if running; then echo "already running (pid $(cat "$PIDFILE"))" >&2; exit 1; fi
    cd "$ROOT/project"
    PEER_DH_ROOT="$ROOT" "$ROOT/venv/bin/gunicorn" peerdh.wsgi:application \
      --bind "$BIND" --workers "$WORKERS" --worker-class "$CLASS" --threads "$THREADS" \
      --backlog 2048 --timeout 300 --no-control-socket \
      --pid "$PIDFILE" --error-logfile "$ROOT/logs/gunicorn.log" --daemon
    for _ in $(seq 1 100); do
      if "$ROOT/venv/bin/python" - "$BIND" <<'PY' 2>/dev/null; then
import sys, httpx
r = httpx.get(f"http://{sys.argv[1]}/helpdesk/login/", timeout=2)
sys.exit(0 if r.status_code == 200 else 1)
PY
        echo "gunicorn up on $BIND: pid $(cat "$PIDFILE"), $WORKERS x $CLASS worker(s), $THREADS thread(s)"
        exit 0
      fi
      sleep 0.2
    done
    echo "gunicorn did not come up; see $ROOT/logs/gunicorn.log" >&2; exit 1
    ;;
  stop)
    if running; then
      PID="$(cat "$PIDFILE")"
      # its workers, named before the master goes: a worker busy in a long request outlives a
      # killed master (orphaned), so each is ended by its own pid too
      WORKER_PIDS="$(cat /proc/"$PID"/task/*/children 2>/dev/null || true)"
      kill -QUIT "$PID"  # quick shutdown: workers stop at once, even mid-request
      for _ in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$PID" 2>/dev/null; then kill -KILL "$PID"; fi
      for W in $WORKER_PIDS; do
        for _ in $(seq 1 30); do kill -0 "$W" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$W" 2>/dev/null; then kill -KILL "$W"; fi
      done
      rm -f "$PIDFILE"
      echo "stopped gunicorn pid $PID (workers: ${WORKER_PIDS//$'\n'/ })"
    else
      echo "not running"
    fi
    ;;
  status)
    if running; then echo "running: pid $(cat "$PIDFILE")"; else echo "not running"; fi
    ;;
  *) echo "usage: $0 start [WORKERS] [WORKER_CLASS] [THREADS] | stop | status" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# Start the demo: the RTSP test camera, the demo camera and admin in SQLite, and the server.
set -euo pipefail
cd "$(dirname "$0")/.."
host=${HOST:-127.0.0.1}
port=${PORT:-8000}
camera_port=${CAMERA_PORT:-8554}
unset DATABASE_URL  # the demo always runs on the embedded SQLite database
# Links in export results and webhook payloads point at this server.
export VAS_PUBLIC_URL=${VAS_PUBLIC_URL:-http://$host:$port}
# Webhooks may call receivers on this machine (anywhere else only at public addresses).
export VAS_WEBHOOK_ALLOWED_HOSTS=${VAS_WEBHOOK_ALLOWED_HOSTS:-127.0.0.1,localhost}
# The web server, the scheduler, the keeper and any manage.py command on this machine count into
# one directory (PROMETHEUS_MULTIPROC_DIR, by default .cache/metrics: the settings' doing), and
# the web server forgets, as it starts, the counts of processes that have ended.

say() { echo "demo: $*"; }

# The camera encodes its one video the first time (a few seconds), then streams it; it starts
# while the database is migrated.
say "starting the test camera on rtsp://127.0.0.1:$camera_port/h264 (its video is encoded the first time)"
ready_file=$(mktemp -u)
/usr/bin/python3 scripts/test_camera.py --port "$camera_port" --only /h264 --ready-file "$ready_file" &
camera_pid=$!
trap 'kill $camera_pid ${scheduler_pid:-} ${keeper_pid:-} 2>/dev/null; rm -f "$ready_file"' EXIT
say "migrating the database (db.sqlite3), then registering the demo camera and its admin"
.venv/bin/python manage.py demo_setup --migrate --camera-url "rtsp://127.0.0.1:$camera_port/h264"
say "waiting for the test camera's stream"
for _ in $(seq 300); do
    [ -f "$ready_file" ] && break
    kill -0 $camera_pid 2>/dev/null || { echo "demo: the test camera stopped; see its lines above" >&2; exit 1; }
    sleep 0.2
done
[ -f "$ready_file" ] || { echo "demo: the test camera did not start within 60 s" >&2; exit 1; }
say "starting the web server, then the scheduler and the stream keeper"
echo "cameras: http://$host:$port/   admin: http://$host:$port/admin/   API: http://$host:$port/api/   docs: http://$host:$port/api/docs/"
echo "status (staff): http://$host:$port/status/   metrics (from this machine): http://$host:$port/metrics"
# The scheduler and the keeper start once the web server accepts connections (or after 60 s), so
# that it is not slowed down by their start.
after_server() {
    for _ in $(seq 300); do
        (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && break
        sleep 0.2
    done
    exec "$@"
}
# Scheduled captures and retention run in-process: no broker needed for the demo.
after_server .venv/bin/python manage.py run_scheduler &
scheduler_pid=$!
# One live session per camera; its frames go to files under .cache/live (no broker either).
after_server .venv/bin/python manage.py run_stream_keeper &
keeper_pid=$!
.venv/bin/python manage.py runserver "$host:$port"

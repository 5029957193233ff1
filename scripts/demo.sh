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

# The web server, the scheduler and the keeper count into one directory; /metrics adds them up.
export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-.cache/metrics}
# Counts left by an earlier run's processes would add up with this run's: start from none.
mkdir -p "$PROMETHEUS_MULTIPROC_DIR" && rm -f "$PROMETHEUS_MULTIPROC_DIR"/*.db

.venv/bin/python manage.py migrate --no-input
ready_file=$(mktemp -u)
/usr/bin/python3 scripts/test_camera.py --port "$camera_port" --ready-file "$ready_file" &
camera_pid=$!
trap 'kill $camera_pid ${scheduler_pid:-} ${keeper_pid:-} 2>/dev/null; rm -f "$ready_file"' EXIT
for _ in $(seq 300); do [ -f "$ready_file" ] && break; sleep 0.2; done
.venv/bin/python manage.py demo_setup --camera-url "rtsp://127.0.0.1:$camera_port/h264"
# Scheduled captures and retention run in-process: no broker needed for the demo.
.venv/bin/python manage.py run_scheduler &
scheduler_pid=$!
# One live session per camera; its frames go to files under .cache/live (no broker either).
.venv/bin/python manage.py run_stream_keeper &
keeper_pid=$!
echo "cameras: http://$host:$port/   admin: http://$host:$port/admin/   API: http://$host:$port/api/   docs: http://$host:$port/api/docs/"
echo "status (staff): http://$host:$port/status/   metrics (from this machine): http://$host:$port/metrics"
.venv/bin/python manage.py runserver "$host:$port"

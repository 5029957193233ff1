#!/usr/bin/env bash
# Start the demo: the RTSP test camera, the demo camera and admin in SQLite, and the server.
set -euo pipefail
cd "$(dirname "$0")/.."
host=${HOST:-127.0.0.1}
port=${PORT:-8000}
camera_port=${CAMERA_PORT:-8554}
unset DATABASE_URL  # the demo always runs on the embedded SQLite database

.venv/bin/python manage.py migrate --no-input
/usr/bin/python3 scripts/test_camera.py --port "$camera_port" &
camera_pid=$!
trap 'kill $camera_pid 2>/dev/null' EXIT
.venv/bin/python manage.py demo_setup --camera-url "rtsp://127.0.0.1:$camera_port/h264"
echo "admin: http://$host:$port/admin/   API: http://$host:$port/api/   docs: http://$host:$port/api/docs/"
.venv/bin/python manage.py runserver "$host:$port"

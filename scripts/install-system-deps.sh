#!/usr/bin/env bash
# Install the Debian packages VAS needs (ffmpeg, the GStreamer RTSP test camera, Chromium and promtool
# for tests), only when something is missing. Uses apt-get as root, or through sudo.
set -euo pipefail

packages=()
command -v ffmpeg >/dev/null || packages+=(ffmpeg)
if ! /usr/bin/python3 -c "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer" 2>/dev/null; then
    packages+=(python3-gi gir1.2-gst-rtsp-server-1.0)
fi
if ! command -v gst-inspect-1.0 >/dev/null || ! gst-inspect-1.0 h265parse >/dev/null 2>&1 || ! gst-inspect-1.0 matroskademux >/dev/null 2>&1; then
    packages+=(gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly)
fi
# The admin's browser tests drive Debian's Chromium through Playwright.
[ -x /usr/bin/chromium ] || packages+=(chromium)
# The monitoring rules' tests run promtool, which Debian ships only with the Prometheus server.
command -v promtool >/dev/null || packages+=(prometheus)
for extra in "$@"; do
    command -v "$extra" >/dev/null || packages+=("$extra")
done

if [ ${#packages[@]} -eq 0 ]; then
    exit 0
fi
echo "installing Debian packages: ${packages[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"
# The package starts its server and enables it at boot; the tests need only promtool.
if [[ " ${packages[*]} " == *" prometheus "* ]]; then
    $sudo invoke-rc.d prometheus stop || true
    $sudo update-rc.d prometheus disable
fi

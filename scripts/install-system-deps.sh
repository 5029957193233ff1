#!/usr/bin/env bash
# Install the Debian packages VAS needs, only when something is missing. Uses apt-get as root, or
# through sudo.
#
#   install-system-deps.sh [--demo] [--list] [COMMAND ...]
#
# --demo: only what `make demo` needs: FFmpeg (the product's decoders and the test camera's
#   encoder) and GStreamer's RTSP server with the elements of the demo camera's one H.264 path.
#   Without it, what the tests need too: the plugins of every test camera path (H.265, the live
#   x264 encoder of /on-request), gst-inspect-1.0, Chromium for the browser tests and promtool.
# --list: print the packages of that choice, one a line, as a machine with none of them would get
#   them; install nothing.
# Each COMMAND named is installed from the package of that name when it is not on the PATH.
set -euo pipefail

demo_only=false
list_only=false
extras=()
for argument in "$@"; do
    case "$argument" in
        --demo) demo_only=true ;;
        --list) list_only=true ;;
        *) extras+=("$argument") ;;
    esac
done

packages=()
# need CHECK PACKAGE...: the packages, when the check (a shell command) fails or with --list.
need() {
    local check=$1
    shift
    if $list_only || ! eval "$check" >/dev/null 2>&1; then
        packages+=("$@")
    fi
}

need "command -v ffmpeg" ffmpeg
need "/usr/bin/python3 -c \"import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer\"" \
    python3-gi gir1.2-gst-rtsp-server-1.0
if $demo_only; then
    # The demo camera's /h264: udpsrc, tsdemux, h264parse, rtph264pay, and its own viewer's rtspsrc.
    need "/usr/bin/python3 -c \"import gi; gi.require_version('Gst', '1.0'); from gi.repository import Gst; Gst.init(None); \
assert all(Gst.ElementFactory.find(e) for e in ('udpsrc', 'tsdemux', 'h264parse', 'rtph264pay', 'rtspsrc', 'fakesink'))\"" \
        gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
else
    need "gst-inspect-1.0 h265parse && gst-inspect-1.0 matroskademux && gst-inspect-1.0 x264enc" \
        gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
        gstreamer1.0-plugins-ugly
    # The admin's browser tests drive Debian's Chromium through Playwright.
    need "[ -x /usr/bin/chromium ]" chromium
    # The monitoring rules' tests run promtool, which Debian ships only with the Prometheus server.
    need "command -v promtool" prometheus
fi
for extra in ${extras[@]+"${extras[@]}"}; do
    need "command -v '$extra'" "$extra"
done

if $list_only; then
    printf '%s\n' "${packages[@]}"
    exit 0
fi
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

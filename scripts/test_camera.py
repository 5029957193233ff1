"""A test RTSP camera that behaves like a real one, on 127.0.0.1 only.

Real IP cameras send a keyframe every 1-4 s and do not send one when a client
joins, so a one-shot grab has to wait for the next one. This server does the
same: each path is a *shared*, live media fed by a pre-encoded file with a
keyframe every 2 s, played in a loop at real-time speed. A client joins the
running stream wherever it is.

A real camera's stream runs whether anybody watches or not, so the server
keeps one internal viewer on every path; otherwise gst-rtsp-server would tear
the pipeline down after the last client and rebuild it (about 1.5 s) for the
next one, which no camera does.

How: for each path an `ffmpeg -re -stream_loop -1 -f concat ... -c copy` process sends
the file as MPEG-TS over UDP to a loopback port (ffmpeg keeps timestamps
monotonic across loops), and gst-rtsp-server serves it from a `udpsrc` without
re-encoding.

Run it with Debian's Python, which has GStreamer's bindings (python3-gi,
gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-{good,bad,ugly}):

    /usr/bin/python3 scripts/test_camera.py --port 8554 [--paths N]
        [--paths-media NAME] [--media-dir DIR] [--ready-file FILE] [--auth-user U] [--auth-password P] [--encode-only]
        [--onvif-port PORT] [--on-request-size WxH] [--on-request-keyint-s S] [--only PATH ...]

Paths:
    /h264   H.264 1920x1080 25 fps, keyframe every 2 s
    /h265   H.265 1280x720 25 fps, keyframe every 2 s
    /audio  H.264 1280x720 with an AAC audio track, keyframe every 2 s
    /auth   H.264 640x360, RTSP basic auth (camuser / cam-secret-Pa55 by default)
    /bframes       H.264 High profile with B-frames, 1920x1080 25 fps, keyframe every 2 s
    /h265-bframes  H.265 with B-frames, 1280x720 25 fps, keyframe every 2 s
    /long-gop      H.264 1280x720 25 fps, keyframe every 4 s
    /on-request    H.264 High with B-frames, 640x360 25 fps (--on-request-size), encoded live: a keyframe
                   when the stream starts and then only when ONVIF asks for one (SetSynchronizationPoint),
                   or also every --on-request-keyint-s seconds
    /fast   H.264 640x360, keyframe every 0.2 s: fast tests where realism is not the point
    /cam0 .. /cam{N-1}  like /fast, one independent stream each (batch tests); with
                        --paths-media h264_720p: H.264 1280x720 25 fps, keyframe every 2 s

The media files are encoded once into --media-dir (default .cache/test-camera/), each announced
on stdout as it is encoded. With --only (`--only /h264`, as `make demo` runs it) the camera serves
and encodes only the paths named (and the /camN of --paths): a start that needs one file encodes
one file, not the 30-odd seconds of them all.

ONVIF: with --onvif-port the camera answers ONVIF on that port (devices/tests/onvif_device.py, with
the --auth-user/--auth-password credentials), its profiles' stream URI being /on-request, and a
SetSynchronizationPoint makes /on-request's encoder send a keyframe at once, as a real camera's does.

The files are played through a list naming each one LOOP_REPEATS times (FFmpeg's concat
demuxer, which opens the file afresh each time), itself looped: ffmpeg's -stream_loop seeks back
to the file's start time, and where B-frames put the first packets' DTS before it (the B-frame
paths and /long-gop) that seek skips the first keyframe, so every loop of a 10 s file lost one.
Now once per LOOP_REPEATS loops (an hour) the gap between two keyframes is twice the interval,
as with a camera that now and then drops one.
"""

import argparse
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
gi.require_version("GstVideo", "1.0")
from gi.repository import GLib, Gst, GstRtspServer, GstVideo  # noqa: E402

REPO_DIR = Path(__file__).resolve().parent.parent
SOURCE_SECONDS = 10
# How many times the loop list names each file (see above): an hour of the 10 s files.
LOOP_REPEATS = 360
X264 = ["-c:v", "libx264", "-preset", "veryfast", "-bf", "0", "-sc_threshold", "0", "-pix_fmt", "yuv420p"]

# name -> ffmpeg arguments that encode it from synthetic sources
MEDIA = {
    "h264_1080p": [
        "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=25:duration={SOURCE_SECONDS}",
        *X264, "-g", "50", "-keyint_min", "50", "-b:v", "3M",
    ],
    "h265": [
        "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=25:duration={SOURCE_SECONDS}",
        "-c:v", "libx265", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-b:v", "1500k",
        "-x265-params", "keyint=50:min-keyint=50:scenecut=0:bframes=0:log-level=error",
    ],
    "h264_audio": [
        "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=25:duration={SOURCE_SECONDS}",
        "-f", "lavfi", "-i", f"sine=frequency=440:duration={SOURCE_SECONDS}",
        *X264, "-g", "50", "-keyint_min", "50", "-b:v", "1500k", "-c:a", "aac", "-b:a", "64k",
    ],
    # High profile with two B-frames between references, as many real cameras send.
    "h264_bframes_1080p": [
        "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=25:duration={SOURCE_SECONDS}",
        "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "high", "-bf", "2", "-sc_threshold", "0",
        "-pix_fmt", "yuv420p", "-g", "50", "-keyint_min", "50", "-b:v", "3M",
    ],
    "h265_bframes": [
        "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=25:duration={SOURCE_SECONDS}",
        "-c:v", "libx265", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-b:v", "1500k",
        "-x265-params", "keyint=50:min-keyint=50:scenecut=0:bframes=3:log-level=error",
    ],
    # A keyframe every 4 s: the longest wait a one-shot grab meets on a real camera.
    "h264_long_gop": [
        "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=25:duration={SOURCE_SECONDS * 2}",
        *X264, "-g", "100", "-keyint_min", "100", "-b:v", "1500k",
    ],
    # The keeper's scale benchmark holds hundreds of these (--paths-media h264_720p).
    "h264_720p": [
        "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=25:duration={SOURCE_SECONDS}",
        *X264, "-g", "50", "-keyint_min", "50", "-b:v", "1500k",
    ],
    "h264_short_gop": [
        "-f", "lavfi", "-i", f"testsrc2=size=640x360:rate=25:duration={SOURCE_SECONDS}",
        *X264, "-g", "5", "-keyint_min", "5", "-b:v", "600k",
    ],
}  # fmt: skip

VIDEO_H264 = "d. ! queue ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=-1"
VIDEO_H265 = "d. ! queue ! h265parse ! rtph265pay name=pay0 pt=96 config-interval=-1"
AUDIO_AAC = "d. ! queue ! aacparse ! rtpmp4gpay name=pay1 pt=97"
# The path encoded live (OnRequestEncoder), not from a file.
ON_REQUEST = "/on-request"


def find_ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        sys.exit("test camera: ffmpeg is not installed")
    return path


def encode_media(ffmpeg: str, media_dir: Path, names: list[str]) -> None:
    """Encode each file once; a temporary name and a rename keep concurrent starts safe."""
    media_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        arguments = MEDIA[name]
        target = media_dir / f"{name}.ts"
        if target.exists():
            continue
        print(f"test camera: encoding its video {name} (once, into {media_dir})", flush=True)
        partial = media_dir / f"{name}.{os.getpid()}.partial.ts"
        argv = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *arguments, "-f", "mpegts"]
        subprocess.run([*argv, str(partial)], check=True)
        partial.rename(target)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def loop_list(media_file: Path) -> Path:
    """An ffconcat list naming the file LOOP_REPEATS times; a temporary name and a rename keep
    concurrent starts safe."""
    target = media_file.with_suffix(".loop.ffconcat")
    if not target.exists():
        quoted = "'" + str(media_file).replace("'", "'\\''") + "'"
        partial = target.with_suffix(f".{os.getpid()}.partial")
        partial.write_text("ffconcat version 1.0\n" + f"file {quoted}\n" * LOOP_REPEATS)
        partial.rename(target)
    return target


def start_feeder(ffmpeg: str, media_file: Path, udp_port: int) -> subprocess.Popen:
    """Play the file forever, in real time, as MPEG-TS to a loopback UDP port."""
    argv = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1"]
    argv += ["-f", "concat", "-safe", "0", "-i", str(loop_list(media_file)), "-map", "0", "-c", "copy", "-f", "mpegts"]
    argv += [f"udp://127.0.0.1:{udp_port}?pkt_size=1316"]
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)


def die_with_parent() -> None:
    """Ask the kernel to kill this child when the camera process dies, even by SIGKILL."""
    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def make_factory(
    udp_port: int, branches: str, permissions: GstRtspServer.RTSPPermissions, *, demux_latency_ms: int = 700
):
    """demux_latency_ms: tsdemux's smoothing delay (its default 700 ms); a live encoder's stream,
    whose keyframes come when asked, needs none."""
    source = f'udpsrc address=127.0.0.1 port={udp_port} buffer-size=4194304 caps="video/mpegts,systemstream=true"'
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(f"( {source} ! tsdemux name=d latency={demux_latency_ms} {branches} )")
    factory.set_shared(True)
    factory.set_permissions(permissions)
    return factory


class OnRequestEncoder:
    """/on-request: a live H.264 encoder (High profile, two B-frames) that sends a keyframe when
    it starts, when asked (force_keyframe) and, if keyint_s, every keyint_s seconds. No
    lookahead, as a camera's hardware encoder: a forced keyframe leaves within a few frames.
    It runs in a pipeline of its own feeding MPEG-TS over UDP to the path, like the files of the
    other paths: inside the RTSP media, the server's seek at each PLAY would flush the encoder
    into a keyframe for every client that joins, which real cameras do not send."""

    def __init__(self, *, size: str, keyint_s: float, udp_port: int):
        width, height = size.split("x")
        keyint = round(keyint_s * 25) if keyint_s else 2147483647
        self.pipeline = Gst.parse_launch(
            f"videotestsrc is-live=true pattern=ball ! video/x-raw,width={width},height={height},framerate=25/1 "
            f"! x264enc name=enc speed-preset=veryfast bframes=2 b-adapt=false rc-lookahead=0 sync-lookahead=0 "
            f"key-int-max={keyint} bitrate=1500 threads=1 ! video/x-h264,profile=high ! h264parse config-interval=1 "
            f"! mpegtsmux alignment=7 ! udpsink host=127.0.0.1 port={udp_port} sync=false"
        )
        self.encoder = self.pipeline.get_by_name("enc")
        self.pipeline.set_state(Gst.State.PLAYING)

    def keyframes_until(self, watched: threading.Event) -> None:
        """A keyframe every half second until the path's internal viewer gets its stream: the
        path's media learns the stream's parameters (SPS/PPS, for its SDP) from one."""
        GLib.timeout_add(500, lambda: not watched.is_set() and not self._send_force_key_unit())

    def force_keyframe(self, _profile_token: str = "") -> None:
        """Called from the ONVIF server's thread: the event is sent from the main loop."""
        GLib.idle_add(self._send_force_key_unit)

    def _send_force_key_unit(self) -> bool:
        event = GstVideo.video_event_new_upstream_force_key_unit(Gst.CLOCK_TIME_NONE, True, 0)
        self.encoder.get_static_pad("src").send_event(event)
        return False


def start_onvif(args: argparse.Namespace, encoder: OnRequestEncoder):
    """The camera's ONVIF service: its profiles lead to /on-request, a synchronization point asks
    /on-request's encoder for a keyframe."""
    sys.path.insert(0, str(REPO_DIR))
    from devices.tests.onvif_device import OnvifDevice

    return OnvifDevice(
        user=args.auth_user,
        password=args.auth_password,
        stream_uri=f"rtsp://127.0.0.1:{args.port}/on-request",
        snapshot_uri="",
        port=args.onvif_port,
        on_sync_point=encoder.force_keyframe,
    )


def role_permissions(*, anonymous: bool) -> GstRtspServer.RTSPPermissions:
    permissions = GstRtspServer.RTSPPermissions()
    permissions.add_permission_for_role("user", "media.factory.access", True)
    permissions.add_permission_for_role("user", "media.factory.construct", True)
    # Anonymous clients may see a protected path exist but not play it: they get 401.
    permissions.add_permission_for_role("anonymous", "media.factory.access", True)
    permissions.add_permission_for_role("anonymous", "media.factory.construct", anonymous)
    return permissions


def make_auth(user: str, password: str) -> GstRtspServer.RTSPAuth:
    auth = GstRtspServer.RTSPAuth()
    user_token = GstRtspServer.RTSPToken()
    user_token.set_string("media.factory.role", "user")
    auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), user_token)
    # Clients without credentials get the anonymous role: every path but /auth.
    anonymous_token = GstRtspServer.RTSPToken()
    anonymous_token.set_string("media.factory.role", "anonymous")
    auth.set_default_token(anonymous_token)
    return auth


def path_table(paths: int, paths_media: str = "h264_short_gop") -> dict[str, tuple[str, str]]:
    """RTSP path -> (media name, GStreamer branches)."""
    table = {
        "/h264": ("h264_1080p", VIDEO_H264),
        "/h265": ("h265", VIDEO_H265),
        "/audio": ("h264_audio", f"{VIDEO_H264} {AUDIO_AAC}"),
        "/auth": ("h264_short_gop", VIDEO_H264),
        "/fast": ("h264_short_gop", VIDEO_H264),
        "/bframes": ("h264_bframes_1080p", VIDEO_H264),
        "/h265-bframes": ("h265_bframes", VIDEO_H265),
        "/long-gop": ("h264_long_gop", VIDEO_H264),
    }
    for index in range(paths):
        table[f"/cam{index}"] = (paths_media, VIDEO_H264)
    return table


def keep_watching(url: str, user: str, password: str, on_data) -> Gst.Pipeline:
    """An internal viewer that keeps the shared media of one path running.

    on_data(url) is called, in the main loop, when its first video buffer arrives.
    """
    pipeline = Gst.Pipeline()
    source = Gst.ElementFactory.make("rtspsrc")
    source.set_property("location", url)
    source.set_property("protocols", "tcp")
    source.set_property("user-id", user)
    source.set_property("user-pw", password)
    pipeline.add(source)

    def link_new_pad(_source, pad):
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("sync", False)
        pipeline.add(sink)
        sink.sync_state_with_parent()
        pad.link(sink.get_static_pad("sink"))
        pad.add_probe(Gst.PadProbeType.BUFFER, first_buffer)

    def first_buffer(_pad, _info):
        GLib.idle_add(on_data, url)
        return Gst.PadProbeReturn.REMOVE

    source.connect("pad-added", link_new_pad)
    pipeline.set_state(Gst.State.PLAYING)
    return pipeline


def watch_until_flowing(waiting: set[str], lock: threading.Lock, args: argparse.Namespace, on_data) -> None:
    """Start a viewer per stream; now and then a first one stalls, so start another
    for every stream that has not flowed after a few seconds."""
    viewers = []  # referenced here for the life of the process
    while True:
        with lock:
            stalled = sorted(waiting)
        if not stalled:
            break
        for url in stalled:
            viewers.append(keep_watching(url, args.auth_user, args.auth_password, on_data))
        time.sleep(5)
    threading.Event().wait()


def announce_ready(args: argparse.Namespace) -> None:
    if args.ready_file:
        args.ready_file.write_text("ready")
    print(f"test camera ready on rtsp://127.0.0.1:{args.port}/", flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="RTSP test camera on 127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--paths", type=int, default=0, help="extra /camN paths")
    parser.add_argument("--paths-media", default="h264_short_gop", choices=sorted(MEDIA), help="what /camN play")
    parser.add_argument("--media-dir", type=Path, default=REPO_DIR / ".cache" / "test-camera")
    parser.add_argument("--ready-file", type=Path)
    parser.add_argument("--auth-user", default="camuser")
    parser.add_argument("--auth-password", default="cam-secret-Pa55")
    parser.add_argument("--encode-only", action="store_true", help="make the media files, then exit")
    parser.add_argument("--onvif-port", type=int, default=0, help="answer ONVIF on this port (0: no ONVIF)")
    parser.add_argument("--on-request-size", default="640x360", help="/on-request's picture size, WxH")
    parser.add_argument(
        "--on-request-keyint-s", type=float, default=0, help="/on-request's own keyframe interval (0: only on request)"
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="PATH",
        choices=[*path_table(0), ON_REQUEST],
        help="serve (and encode) only this path; may be given again (default: every path)",
    )
    return parser.parse_args()


def served_paths(args: argparse.Namespace) -> dict[str, tuple[str, str]]:
    """The file-fed paths this start serves: every one, or those of --only, and the /camN of --paths."""
    table = path_table(args.paths, args.paths_media)
    if args.only is None:
        return table
    return {path: row for path, row in table.items() if path in args.only or path.startswith("/cam")}


def serves_on_request(args: argparse.Namespace) -> bool:
    return args.only is None or ON_REQUEST in args.only


def main() -> None:
    args = parse_args()
    ffmpeg = find_ffmpeg()
    paths = served_paths(args)
    # Without --only every file is encoded, those of no path too (the benchmarks' --paths-media).
    encode_media(ffmpeg, args.media_dir, list(MEDIA) if args.only is None else sorted({m for m, _ in paths.values()}))
    if args.encode_only:
        return
    Gst.init(None)

    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(str(args.port))
    server.set_auth(make_auth(args.auth_user, args.auth_password))
    mounts = server.get_mount_points()
    feeders = []
    for path, (media, branches) in paths.items():
        udp_port = free_udp_port()
        feeders.append(start_feeder(ffmpeg, args.media_dir / f"{media}.ts", udp_port))
        permissions = role_permissions(anonymous=path != "/auth")
        mounts.add_factory(path, make_factory(udp_port, branches, permissions))
    on_request = None
    if serves_on_request(args):
        udp_port = free_udp_port()
        on_request = OnRequestEncoder(size=args.on_request_size, keyint_s=args.on_request_keyint_s, udp_port=udp_port)
        on_request_factory = make_factory(udp_port, VIDEO_H264, role_permissions(anonymous=True), demux_latency_ms=0)
        mounts.add_factory(ON_REQUEST, on_request_factory)
        if args.onvif_port:
            start_onvif(args, on_request)
    if server.attach(None) == 0:
        sys.exit(f"test camera: cannot listen on 127.0.0.1:{args.port}")

    loop = GLib.MainLoop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, loop.quit)
    base_url = f"rtsp://127.0.0.1:{args.port}"
    waiting = {base_url + path for path in [*paths, *([ON_REQUEST] if on_request else [])]}

    lock = threading.Lock()

    on_request_watched = threading.Event()
    if on_request:
        on_request.keyframes_until(on_request_watched)

    def stream_up(url: str) -> bool:  # runs in the main loop
        if url.endswith(ON_REQUEST):
            on_request_watched.set()
        # Ready only when every stream is flowing, as a camera that has booted.
        with lock:
            was_waiting = url in waiting
            waiting.discard(url)
            now_ready = was_waiting and not waiting
        if now_ready:
            announce_ready(args)
        return False

    # Viewers are started from their own thread: setting an rtspsrc to PLAYING can
    # wait for this server's answers, which only the main loop gives.
    threading.Thread(target=watch_until_flowing, args=(waiting, lock, args, stream_up), daemon=True).start()
    try:
        loop.run()
    finally:
        # The viewers are left alone: stopping one would wait for a TEARDOWN answer
        # from this very main loop, which no longer runs.
        for feeder in feeders:
            feeder.terminate()
        for feeder in feeders:
            feeder.wait(timeout=5)


if __name__ == "__main__":
    main()

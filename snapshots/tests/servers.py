"""Network peers for capture tests, all on 127.0.0.1: the RTSP test camera and broken cameras."""

import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent
CAMERA_SCRIPT = BASE_DIR / "scripts" / "test_camera.py"
# The camera uses GStreamer through Debian's python3-gi, so it runs on Debian's Python.
SYSTEM_PYTHON = "/usr/bin/python3"
CAMERA_USER = "camuser"
CAMERA_PASSWORD = "cam-secret-Pa55"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class CameraServer:
    port: int
    process: subprocess.Popen[bytes]

    def url(self, path: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}/{path}"


def start_test_camera(tmp_dir: Path, *, paths: int = 0, attempts: int = 3) -> CameraServer:
    """Start scripts/test_camera.py and wait until every stream flows.

    The media is encoded first (once per machine). About one start in ten stalls inside
    GStreamer while building its streams; such a start is killed and tried again.
    """
    subprocess.run([SYSTEM_PYTHON, str(CAMERA_SCRIPT), "--port", "0", "--encode-only"], check=True, timeout=900)
    for _ in range(attempts):
        camera = _start_camera_once(tmp_dir, paths=paths, ready_timeout_s=40)
        if camera is not None:
            return camera
    raise RuntimeError(f"test camera did not start in {attempts} attempts; see the logs in {tmp_dir}")


def _start_camera_once(tmp_dir: Path, *, paths: int, ready_timeout_s: float) -> CameraServer | None:
    port = free_port()
    ready_file = tmp_dir / f"camera-{port}.ready"
    log = (tmp_dir / f"camera-{port}.log").open("wb")
    argv = [SYSTEM_PYTHON, str(CAMERA_SCRIPT), "--port", str(port), "--ready-file", str(ready_file)]
    process = subprocess.Popen([*argv, "--paths", str(paths)], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + ready_timeout_s
    while not ready_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            stop_process(process)
            return None
        time.sleep(0.1)
    return CameraServer(port=port, process=process)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class SilentServer:
    """Accepts TCP connections and never answers: a camera that hangs."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(connection)

    def url(self, path: str = "stream") -> str:
        return f"rtsp://127.0.0.1:{self.port}/{path}"

    def close(self) -> None:
        self.sock.close()
        for connection in self.connections:
            connection.close()

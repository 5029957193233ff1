"""`make demo` as a newcomer meets it: it installs the product's packages and no test tool, its
camera encodes only the video it serves, and a second run says how to reset the admin's password."""

import os
import subprocess
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Debian packages only the tests need: the browser tests' Chromium, promtool (shipped with the
# Prometheus server), gst-inspect-1.0 and the plugins of the test camera's other codecs.
TEST_ONLY_PACKAGES = {"chromium", "prometheus", "gstreamer1.0-tools", "gstreamer1.0-plugins-ugly"}


def make_dry_run(target: str) -> list[str]:
    """The commands `make TARGET` runs on a machine where nothing is installed yet (-B: every
    step, whatever .venv holds here), printed, not run."""
    result = subprocess.run(["make", "-n", "-B", target], cwd=BASE_DIR, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def debian_packages(commands: list[str], stubs: Path) -> set[str]:
    """The Debian packages the make target's install-system-deps.sh line chooses (its --list),
    apt-get and sudo stubbed out on the PATH: whatever the script does, it installs nothing."""
    (line,) = [command for command in commands if "install-system-deps.sh" in command]
    stubs.mkdir(exist_ok=True)
    for name in ("apt-get", "sudo", "invoke-rc.d", "update-rc.d"):
        (stubs / name).write_text(f"#!/bin/sh\necho 'stub {name} called' >&2\nexit 97\n")
        (stubs / name).chmod(0o755)
    result = subprocess.run(  # noqa: S602 - the Makefile's own line, through the shell as make runs it
        f"{line} --list",
        shell=True,
        cwd=BASE_DIR,
        env={**os.environ, "PATH": f"{stubs}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_make_demo_installs_no_development_tools_nor_test_only_debian_packages(tmp_path):
    demo = make_dry_run("demo")
    pip = [command for command in demo if "pip install" in command]
    assert pip, demo
    assert not [command for command in pip if "requirements-dev" in command]
    assert [command for command in pip if command.endswith("-r requirements.txt")]
    packages = debian_packages(demo, tmp_path / "stubs")
    assert not TEST_ONLY_PACKAGES & packages
    assert {"ffmpeg", "gir1.2-gst-rtsp-server-1.0", "gstreamer1.0-plugins-bad"} <= packages


def test_make_test_still_installs_the_development_tools_and_every_debian_package(tmp_path):
    test = make_dry_run("test")
    assert [command for command in test if "pip install" in command and "-r requirements-dev.txt" in command]
    assert TEST_ONLY_PACKAGES <= debian_packages(test, tmp_path / "stubs")


def test_the_demo_camera_encodes_only_the_path_it_serves(tmp_path):
    """`--only PATH` encodes (and serves) that path's video alone, saying so as it does; the
    demo's camera is started that way on /h264."""
    media = tmp_path / "media"
    argv = ["/usr/bin/python3", "scripts/test_camera.py", "--port", "0", "--encode-only", "--only", "/fast"]
    result = subprocess.run(
        [*argv, "--media-dir", str(media)], cwd=BASE_DIR, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in media.glob("*.ts")) == ["h264_short_gop.ts"]
    assert "encoding" in result.stdout
    assert "--only /h264" in (BASE_DIR / "scripts" / "demo.sh").read_text()


@pytest.mark.django_db
def test_a_second_demo_setup_says_how_to_reset_the_admin_password(monkeypatch):
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    for username in ("admin", "operator"):
        outputs = []
        for _ in range(2):
            out = StringIO()
            call_command("demo_setup", "--username", username, stdout=out)
            outputs.append(out.getvalue())
        assert "changepassword" not in outputs[0]
        assert f".venv/bin/python manage.py changepassword {username}" in outputs[1]


@pytest.mark.django_db
def test_demo_setup_migrates_first_when_asked():
    """make demo migrates and registers its camera in one process (one Django start, not two)."""
    out = StringIO()
    call_command("demo_setup", "--migrate", "--camera-url", "rtsp://127.0.0.1:8554/h264", stdout=out)
    assert "Operations to perform" in out.getvalue()
    assert "demo camera registered at rtsp://127.0.0.1:8554/h264" in out.getvalue()

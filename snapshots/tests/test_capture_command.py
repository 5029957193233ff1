import json
import os
import pty
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import call_command

from devices.models import Device
from snapshots.management.commands.capture_snapshot import Command
from snapshots.models import Snapshot
from snapshots.tests.servers import BASE_DIR, product_environment

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("capture_snapshot", *args, stdout=out)
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    return 0, out.getvalue()


def test_capture_by_name_and_id_exits_0(camera):
    first = Device.objects.create(name="first", rtsp_url=camera.url("fast"))
    Device.objects.create(name="second", rtsp_url=camera.url("cam1"))
    code, output = run(str(first.pk), "second")
    assert code == 0
    assert "OK    first: 640x360" in output
    assert "OK    second: 640x360" in output
    assert "captured 2 of 2, 0 failed" in output
    assert set(Snapshot.objects.values_list("trigger", flat=True)) == {"command"}


def test_all_captures_enabled_devices_only(camera):
    Device.objects.create(name="on", rtsp_url=camera.url("fast"))
    Device.objects.create(name="off", rtsp_url=camera.url("cam2"), enabled=False)
    code, output = run("--all")
    assert code == 0
    assert list(Snapshot.objects.values_list("device__name", flat=True)) == ["on"]


def test_some_failures_exit_1_and_json_reports_each(camera, refused_url):
    Device.objects.create(name="good", rtsp_url=camera.url("fast"))
    Device.objects.create(name="dead", rtsp_url=refused_url)
    code, output = run("good", "dead", "ghost", "--json", "--concurrency", "2")
    assert code == 1
    report = json.loads(output)
    by_name = {row["device"]: row for row in report["results"]}
    assert by_name["good"]["ok"] is True and by_name["good"]["width"] == 640
    assert (by_name["dead"]["code"], by_name["dead"]["detail"]) == (
        "unreachable",
        "The camera cannot be reached (Connection refused).",
    )
    assert by_name["ghost"] == {
        "device": "ghost",
        "ok": False,
        "code": "device_not_found",
        "detail": "No camera with that id or name.",
    }
    assert (report["captured"], report["failed"]) == (1, 2)


@pytest.mark.parametrize("argv", [[], ["--all", "cam"], ["cam", "--concurrency", "0"]])
def test_bad_usage_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        Command().run_from_argv(["manage.py", "capture_snapshot", *argv])
    assert exit_.value.code == 2


def terminal_output(argv: list[str], env: dict[str, str], *, stderr: int | None = None) -> tuple[int, str]:
    """Run a command with a terminal as its output (and its error output, unless stderr says
    otherwise), as a shell gives it; what the user saw."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        argv, cwd=BASE_DIR, env=env, stdout=follower, stderr=follower if stderr is None else stderr
    )
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the command exited and closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    return process.wait(timeout=60), output.decode()


def test_on_a_terminal_a_progress_bar_runs_under_the_result_lines(refused_url):
    for index in range(3):
        Device.objects.create(name=f"dead {index}", rtsp_url=refused_url)
    argv = [sys.executable, "manage.py", "capture_snapshot", "--all"]
    code, text = terminal_output(argv, product_environment(), stderr=subprocess.DEVNULL)
    assert code == 1
    assert "[" + "." * 30 + "] 0/3" in text
    assert "[" + "#" * 30 + "] 3/3" in text
    assert text.count("\x1b[K") >= 4  # the bar is cleared before each result line and at the end
    assert "FAIL  dead 0: unreachable" in text
    assert "captured 0 of 3, 3 failed" in text


def test_on_a_terminal_log_lines_below_warning_stay_out_of_the_bar_and_results(camera):
    for path in ("fast", "cam1"):
        Device.objects.create(name=f"cam {path}", rtsp_url=camera.url(path), live=False)
    code, text = terminal_output(
        [sys.executable, "manage.py", "capture_snapshot", "--all"], product_environment(VAS_LOG_LEVEL="INFO")
    )
    assert code == 0, text
    assert " INFO " not in text
    # Each capture is said once, by its result line; the bar ends whole.
    assert text.count("OK    cam fast:") == 1
    assert "[" + "#" * 30 + "] 2/2" in text
    assert "captured 2 of 2, 0 failed" in text


def test_with_a_log_file_the_log_lines_go_there(camera, tmp_path):
    Device.objects.create(name="cam fast", rtsp_url=camera.url("fast"), live=False)
    log_file = tmp_path / "vas.log"
    env = product_environment(VAS_LOG_FILE=str(log_file), VAS_LOG_LEVEL="INFO")
    result = subprocess.run(
        [sys.executable, "manage.py", "capture_snapshot", "cam fast"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert " INFO snapshots.services captured " in log_file.read_text()
    assert "INFO" not in result.stderr


def test_without_a_terminal_the_output_is_plain_lines(refused_url):
    Device.objects.create(name="dead", rtsp_url=refused_url)
    code, output = run("--all")
    assert code == 1
    assert "\x1b" not in output
    assert "] 1/1" not in output

"""The code's shape: snapshots/ may use devices/ and jobs/, never the other way round."""

import ast
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def product_files(app: str) -> list[Path]:
    return [path for path in (BASE_DIR / app).rglob("*.py") if "tests" not in path.parts]


@pytest.mark.parametrize("app", ["devices", "jobs"])
def test_devices_and_jobs_never_import_snapshots(app):
    # jobs runs whatever settings.JOB_HANDLERS names; it knows nothing of what a job does.
    offenders = {
        str(path.relative_to(BASE_DIR)): sorted(
            module for module in imported_modules(path) if module.startswith("snapshots")
        )
        for path in product_files(app)
    }
    assert {path: modules for path, modules in offenders.items() if modules} == {}


def test_the_layout_test_sees_an_import_of_snapshots(tmp_path):
    # The check above must be able to fail: it finds both import forms.
    sample = tmp_path / "sample.py"
    sample.write_text("import snapshots.models\nfrom snapshots.services import snapshot_capture\n")
    assert imported_modules(sample) == {"snapshots.models", "snapshots.services"}


PROCESS_STARTERS = {"Popen", "run", "call", "check_call", "check_output", "system", "popen", "spawnv", "execv"}


def starts_processes(path: Path) -> bool:
    """Calls subprocess.X or os.X that start a process, imports such a name, or imports a process pool."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in PROCESS_STARTERS and ast.unparse(node.func.value) in ("subprocess", "os"):
                return True
        if isinstance(node, ast.ImportFrom) and node.module in ("subprocess", "os"):
            if any(alias.name in PROCESS_STARTERS for alias in node.names):
                return True
    return bool(imported_modules(path) & {"asyncio.subprocess", "multiprocessing"})


def test_no_product_module_starts_processes():
    # Cameras are read in-process (snapshots.rtsp): nothing can put a password in an argv.
    starters = {
        str(path.relative_to(BASE_DIR))
        for app in ("devices", "snapshots", "vas_project")
        for path in product_files(app)
        if starts_processes(path)
    }
    assert starters == set()


@pytest.mark.parametrize(
    "code",
    [
        "import subprocess\nsubprocess.run(['x'])\n",
        "import os\nos.popen('x')\n",
        "from subprocess import Popen\nPopen(['x'])\n",
        "import multiprocessing\n",
    ],
)
def test_the_layout_test_sees_a_process_started(tmp_path, code):
    sample = tmp_path / "sample.py"
    sample.write_text(code)
    assert starts_processes(sample)

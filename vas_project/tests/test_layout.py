"""The code's shape: the kernel imports no app, camera I/O imports no app, and apps import
each other only downwards along one order."""

import ast
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# Every product package, lowest first: each may import the kernel and those before it, never one
# after it. capture/ is camera I/O on plain values; webhooks/ sends what others hand it;
# devices/ is the register; apikeys/ narrows a request to its API key's scopes and cameras;
# jobs/ runs what settings.JOB_HANDLERS names; monitoring/ keeps heartbeats and tallies for
# those above it; wall/ is the pages for people, over everything.
ORDER = ("capture", "webhooks", "devices", "apikeys", "jobs", "monitoring", "snapshots", "exports", "wall")
KERNEL = "vas_project"
PACKAGES = (KERNEL, *ORDER)


def imported_modules(path: Path) -> set[str]:
    """Every module the file imports, at its top or inside a function (a lazy import counts)."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def product_files(package: str) -> list[Path]:
    return [
        path
        for path in (BASE_DIR / package).rglob("*.py")
        if "tests" not in path.parts and "migrations" not in path.parts
    ]


def allowed(package: str) -> set[str]:
    if package == KERNEL:
        return {KERNEL}
    return {KERNEL, *ORDER[: ORDER.index(package) + 1]}


def imports_against_the_order(package: str) -> dict[str, list[str]]:
    offenders = {}
    for path in product_files(package):
        wrong = sorted(
            module
            for module in imported_modules(path)
            if module.split(".")[0] in PACKAGES and module.split(".")[0] not in allowed(package)
        )
        if wrong:
            offenders[str(path.relative_to(BASE_DIR))] = wrong
    return offenders


@pytest.mark.parametrize("package", PACKAGES)
def test_a_package_imports_only_the_kernel_and_the_packages_before_it(package):
    assert imports_against_the_order(package) == {}


def test_every_product_package_has_its_place_in_the_order():
    packages = {path.parent.name for path in BASE_DIR.glob("*/__init__.py")}
    assert packages - {"bench", "scripts"} == set(PACKAGES)


def test_the_layout_test_sees_an_import_against_the_order(tmp_path):
    # The check above must be able to fail: it finds both import forms, lazy ones too.
    sample = tmp_path / "sample.py"
    sample.write_text("import snapshots.models\n\ndef f():\n    from wall.views import wall\n")
    assert imported_modules(sample) == {"snapshots.models", "wall.views"}
    assert "snapshots" not in allowed("devices") and "wall" not in allowed("devices")
    assert allowed("capture") == {"vas_project", "capture"}


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
    # Cameras are read in-process (capture.rtsp): nothing can put a password in an argv.
    starters = {
        str(path.relative_to(BASE_DIR))
        for package in PACKAGES
        for path in product_files(package)
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


def test_every_packages_tests_are_collected():
    # A package whose tests pytest is not told of runs none of them in make test or CI.
    testpaths = next(
        line.split("=", 1)[1].split()
        for line in (BASE_DIR / "pytest.ini").read_text().splitlines()
        if line.startswith("testpaths")
    )
    with_tests = {path.parent.parent.name for path in BASE_DIR.glob("*/tests/__init__.py")}
    assert with_tests - set(testpaths) == set()


def test_the_coverage_floor_and_source_know_every_package():
    makefile = (BASE_DIR / "Makefile").read_text()
    floor_line = next(line for line in makefile.splitlines() if line.startswith("PRODUCT_PACKAGES"))
    assert {name.strip("/*") for name in floor_line.split(":=")[1].strip().split(",")} == set(PACKAGES)
    pyproject = (BASE_DIR / "pyproject.toml").read_text()
    source_line = next(line for line in pyproject.splitlines() if line.startswith("source = "))
    assert {name.strip(' "') for name in source_line.split("=")[1].strip(" []").split(",")} == set(PACKAGES)

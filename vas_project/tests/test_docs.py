"""The documentation keeps up with the code: every setting is documented, the README stays short."""

import ast
import re
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent
SETTINGS = BASE_DIR / "vas_project" / "settings.py"
README = BASE_DIR / "README.md"
DOCS = BASE_DIR / "docs"
CONFIGURATION = DOCS / "configuration.md"

README_MAX_LINES = 450
# Words about the product's own past have no place in what users read.
HISTORY = re.compile(r"first VAS|issue [0-9]+", re.IGNORECASE)
# Written by `make bench` from bench/*.py: checked by hand, not here.
GENERATED_DOCS = {"benchmarks.md", "benchmarks-live.md"}


def _is_environ(node: ast.AST) -> bool:
    """`os.environ` (or a bare `environ` imported from os)."""
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _is_getenv(func: ast.AST) -> bool:
    """`os.getenv`, `getenv`, `os.environ.get` or `environ.get`."""
    if isinstance(func, ast.Name):
        return func.id == "getenv"
    if isinstance(func, ast.Attribute):
        return func.attr == "getenv" or (func.attr == "get" and _is_environ(func.value))
    return False


def _env_reads(node: ast.AST) -> list[ast.expr]:
    """The key expressions of every environment read directly under `node`."""
    keys: list[ast.expr] = []
    for child in ast.walk(node):
        if isinstance(child, ast.Call) and _is_getenv(child.func) and child.args:
            keys.append(child.args[0])
        elif isinstance(child, ast.Subscript) and _is_environ(child.value):
            keys.append(child.slice)
    return keys


def _helpers(tree: ast.Module) -> set[str]:
    """Functions of the module that read the environment variable named by their first parameter."""
    helpers = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.args.args:
            first = node.args.args[0].arg
            if any(isinstance(key, ast.Name) and key.id == first for key in _env_reads(node)):
                helpers.add(node.name)
    return helpers


def _called_name(func: ast.AST) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def environment_variables(source: str) -> set[str]:
    """Every environment variable a settings module reads, found in its syntax tree."""
    tree = ast.parse(source)
    helpers = _helpers(tree) | {"env", "envstr", "envbool", "envint", "envfloat", "envlist", "envpath"}
    names: set[str] = set()
    for key in _env_reads(tree):
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            names.add(key.value)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        called = _called_name(node.func)
        if called in helpers and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value)
        elif called == "config" and ast.unparse(node.func).startswith("dj_database_url"):
            # dj_database_url.config() reads DATABASE_URL unless told another name with env=.
            env = next((kw.value for kw in node.keywords if kw.arg == "env"), None)
            if env is None:
                names.add("DATABASE_URL")
            elif isinstance(env, ast.Constant) and isinstance(env.value, str):
                names.add(env.value)
    return names


def test_every_environment_variable_of_the_settings_is_in_the_configuration_reference():
    documented = CONFIGURATION.read_text()
    missing = sorted(
        name
        for name in environment_variables(SETTINGS.read_text())
        if not re.search(rf"`{re.escape(name)}`", documented)
    )
    assert missing == [], f"add these to docs/configuration.md: {missing}"


def test_the_settings_parser_finds_the_variables():
    # The check above must be able to fail: it finds names read every way settings.py reads them.
    found = environment_variables(SETTINGS.read_text())
    assert {"DATABASE_URL", "DJANGO_SECRET_KEY", "VAS_ENCRYPTION_KEYS", "VAS_CAPTURE_TIMEOUT_S"} <= found
    assert len(found) >= 50
    sample = (
        "import os\n"
        "from os import environ\n"
        "import dj_database_url\n"
        "def envthing(name, default):\n"
        "    return os.getenv(name, default)\n"
        "A = envthing('VAS_A', '1')\n"
        "B = os.environ['VAS_B']\n"
        "C = environ.get('VAS_C')\n"
        "D = dj_database_url.config(env='VAS_D')\n"
        "E = os.getenv('VAS_E', '')\n"
        "F = envthing(NAME, '1')\n"
    )
    assert environment_variables(sample) == {"VAS_A", "VAS_B", "VAS_C", "VAS_D", "VAS_E"}


def test_the_readme_is_short_with_a_table_of_contents():
    text = README.read_text()
    lines = text.splitlines()
    assert len(lines) <= README_MAX_LINES
    headings = [line for line in lines if line.startswith("## ")]
    assert "## Contents" in headings[:2], "a table of contents near the top"
    contents = text.split("## Contents", 1)[1].split("\n## ", 1)[0]
    anchors = re.findall(r"\]\(#([a-z0-9-]+)\)", contents)
    assert len(anchors) >= 5
    slugs = {re.sub(r"[^a-z0-9 -]", "", heading[3:].strip().lower()).replace(" ", "-") for heading in headings}
    assert set(anchors) <= slugs, f"contents entries without a heading: {set(anchors) - slugs}"


def test_every_doc_the_readme_links_exists():
    linked = set(re.findall(r"\]\((docs/[^)#\s]+)", README.read_text()))
    assert linked, "the README links the docs"
    assert sorted(path for path in linked if not (BASE_DIR / path).exists()) == []
    assert {f"docs/{path.name}" for path in DOCS.glob("*.md")} <= linked, "every doc is linked from the README"


def test_no_history_in_the_readme_and_the_written_docs():
    written = [README, *(path for path in sorted(DOCS.glob("*.md")) if path.name not in GENERATED_DOCS)]
    found = {
        f"{path.relative_to(BASE_DIR)}:{number}": line
        for path in written
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if HISTORY.search(line)
    }
    assert found == {}

"""devhost imports nothing from the packages of the app it hosts (this project's or any other's)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DEVHOST = ROOT / "devhost"
#: The hosted app's packages, and every other top-level package of this project (the CLI, scripts,
#: ...): devhost depends on none of them. Importing the app's entry point, function_app, is hosting it.
APP_PACKAGES = frozenset({"shared", "functions", "orchestrations"}) | {
    p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file() and p.name != "devhost"
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in a file, relative imports resolved to devhost's own."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, "devhost" if node.level else node.module or ""))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value))  # a literal importlib.import_module("...")
    return found


def test_devhost_imports_no_app_package() -> None:
    files = sorted(DEVHOST.rglob("*.py"))
    assert len(files) > 20  # the walk really covers devhost
    offending = [
        f"{path.relative_to(DEVHOST.parent)}:{line}: {module}"
        for path in files
        for line, module in imported_modules(path)
        if module.split(".")[0] in APP_PACKAGES
    ]
    assert offending == []


def test_the_walk_sees_every_kind_of_import(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import shared.settings\nfrom functions import x\nimport importlib\n"
        "def f():\n"
        "    from orchestrations.training import bp\n"
        "    importlib.import_module('shared.ncrontab')\n"
    )
    modules = [m for _, m in imported_modules(probe)]
    expected = ["shared.settings", "functions", "importlib", "orchestrations.training", "shared.ncrontab"]
    assert modules == expected

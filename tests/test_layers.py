"""The architecture holds: import layers (import-linter contracts in setup.cfg), one
matplotlib importer, one argparse user, and modules and functions of reviewable size."""
import ast
import configparser
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "dynopt"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80

# the contracts are checked in a fresh process whose sys.path starts with the repository
# root (lint-imports puts the working directory first), so it reads this tree's dynopt
LINT_IMPORTS = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def _sources():
    return sorted(PACKAGE.rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _imported_roots(tree):
    """(top-level package, line) of every import statement, at any depth (also in functions)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name.split(".")[0], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0], node.lineno


def test_import_contracts_hold():
    if importlib.util.find_spec("importlinter") is None:
        pytest.fail('import-linter is missing: it is in the test extra (pip install -e ".[test]")')
    out = subprocess.run([sys.executable, "-c", LINT_IMPORTS], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, f"lint-imports failed:\n{out.stdout}\n{out.stderr}"


def test_utilities_contract_forbids_every_layer():
    # the layers contract is exhaustive (every child of dynopt is a layer, checks, expr or io);
    # the utilities contract must forbid each of those layers, also ones added later
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg", encoding="utf-8")
    layers = {"dynopt." + name.strip()
              for line in cfg["importlinter:contract:layers"]["layers"].split()
              for name in line.replace(":", "|").split("|") if name.strip()}
    forbidden = set(cfg["importlinter:contract:utilities"]["forbidden_modules"].split())
    assert layers == forbidden
    assert set(cfg["importlinter:contract:layers"]["exhaustive_ignores"].split()) == {"checks", "expr", "io"}


@pytest.mark.parametrize("package, allowed", [
    ("matplotlib", lambda rel: rel.startswith("dynopt/plotting/")),
    ("argparse", lambda rel: rel.startswith("dynopt/cli/")),
])
def test_only_one_place_imports(package, allowed):
    offenders = []
    for path in _sources():
        rel = _rel(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        offenders += [f"{rel}:{line}" for name, line in _imported_roots(tree)
                      if name == package and not allowed(rel)]
    assert not offenders, f"{package} imported outside its one place: {offenders}"


def test_modules_are_at_most_600_lines():
    sizes = {_rel(p): len(p.read_text(encoding="utf-8").splitlines()) for p in _sources()}
    offenders = [f"{rel} ({n} lines)" for rel, n in sizes.items() if n > MAX_MODULE_LINES]
    assert not offenders, f"modules over {MAX_MODULE_LINES} lines: {offenders}"


def test_functions_are_at_most_80_lines():
    offenders = []
    for path in _sources():
        rel = _rel(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    offenders.append(f"{rel}:{node.lineno} {node.name} ({n} lines)")
    assert not offenders, f"functions over {MAX_FUNCTION_LINES} lines: {offenders}"


def test_the_checks_see_every_import():
    # guard against a walker that silently finds nothing (the tests above would then pass)
    tree = ast.parse("import matplotlib.pyplot as plt\ndef f():\n    from argparse import ArgumentParser\n")
    assert sorted(_imported_roots(tree)) == [("argparse", 3), ("matplotlib", 1)]
    plotting = ast.parse((PACKAGE / "plotting" / "__init__.py").read_text(encoding="utf-8"))
    assert "matplotlib" in {name for name, _ in _imported_roots(plotting)}

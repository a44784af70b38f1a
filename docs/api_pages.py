"""API reference pages, one per public package, generated from the modules' ``__all__``.

A package's page shows its docstring, a summary table (autosummary) and every name of its
``__all__`` (autodoc + numpydoc); then each submodule with its docstring and the names of
its own ``__all__`` that the package does not re-export.  An object is documented once, at
its home: the first place in that order (lowest layer first) that exports it.
:func:`resolve_home` lets a cross-reference name an object by any import path.
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

#: public packages and modules, lowest layer first (the order of the pipeline)
MODULES = [
    ("dynopt.problems", "Problems"),
    ("dynopt.dynamics", "Dynamics"),
    ("dynopt.schemes", "Schemes"),
    ("dynopt.engine", "Engine"),
    ("dynopt.optim", "Optimizers"),
    ("dynopt.symbolic", "Symbolic derivations"),
    ("dynopt.learning", "Learning"),
    ("dynopt.analysis", "Analysis"),
    ("dynopt.plotting", "Plotting"),
    ("dynopt.ledger", "Ledger"),
    ("dynopt.sweep", "Sweeps"),
    ("dynopt.bench", "Benchmarks"),
    ("dynopt.checks", "Argument checks"),
    ("dynopt.io", "Atomic files"),
    ("dynopt.expr", "Expressions"),
    ("dynopt.cli", "Command line"),
]

#: re-exports of other libraries, not dynopt's API
SKIP = {"plt"}


def _kind(obj) -> str:
    if inspect.isclass(obj):
        return "class"
    if callable(obj):
        return "function"
    return "data"


def public_names(modname: str) -> list[str]:
    """The names of ``modname.__all__`` that are dynopt's own (no modules, no dunders)."""
    mod = importlib.import_module(modname)
    names = []
    for name in dict.fromkeys(getattr(mod, "__all__", [])):
        if name.startswith("__") or name in SKIP or inspect.ismodule(getattr(mod, name)):
            continue
        names.append(name)
    return names


def submodules(modname: str) -> list[str]:
    """The submodules of a package (none for a plain module), in file order."""
    mod = importlib.import_module(modname)
    if not hasattr(mod, "__path__"):
        return []
    return [f"{modname}.{m.name}" for m in pkgutil.iter_modules(mod.__path__)
            if not m.name.startswith("_") and not m.ispkg]


def _documented(obj) -> bool:
    # data (constants) are documented where named; classes and routines once, by identity
    return inspect.isclass(obj) or inspect.isroutine(obj)


def layout() -> list[tuple[str, str, list[tuple[str, list[str]]]]]:
    """(package, title, [(module, names documented there)]), each object at its home."""
    seen: set[int] = set()
    pages = []
    for pkg, title in MODULES:
        sections = []
        for modname in [pkg] + submodules(pkg):
            mod = importlib.import_module(modname)
            names = []
            for name in public_names(modname):
                obj = getattr(mod, name)
                if _documented(obj):
                    if id(obj) in seen:
                        continue
                    seen.add(id(obj))
                elif modname != pkg and name in getattr(importlib.import_module(pkg), "__all__", []):
                    continue
                names.append(name)
            sections.append((modname, names))
        pages.append((pkg, title, sections))
    return pages


def homes() -> dict[int, str]:
    """id(object) → the full name under which it is documented."""
    out = {}
    for _, _, sections in layout():
        for modname, names in sections:
            mod = importlib.import_module(modname)
            for name in names:
                out.setdefault(id(getattr(mod, name)), f"{modname}.{name}")
    return out


def resolve_home(target: str, home: dict[int, str]) -> str | None:
    """The documented full name of the object that `target` (a dotted path) imports, if any."""
    parts = target.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return home.get(id(obj))
    return None


def _entries(modname: str, names: list[str]) -> list[str]:
    mod = importlib.import_module(modname)
    lines = [".. autosummary::", "   :nosignatures:", ""] + [f"   {n}" for n in names] + [""]
    for n in names:
        kind = _kind(getattr(mod, n))
        lines += [f".. auto{kind}:: {n}"]
        if kind == "class":
            lines += ["   :members:"]
        elif kind == "data":
            lines += ["   :no-value:"]
        lines.append("")
    return lines


def write_api_pages(out_dir: Path) -> None:
    """Write ``index.rst``, one page per package and the top-level ``dynopt`` page."""
    out_dir.mkdir(parents=True, exist_ok=True)
    home = homes()
    toc = []
    for pkg, title, sections in layout():
        head = f"``{pkg}``: {title}"
        lines = [head, "=" * len(head), "", f".. automodule:: {pkg}", "   :no-members:", "",
                 f".. currentmodule:: {pkg}", ""]
        lines += _entries(pkg, sections[0][1])
        if len(sections) > 1:
            lines += ["Submodules", "----------", ""]
        for modname, names in sections[1:]:
            sub = f"``{modname}``"
            lines += [sub, "~" * len(sub), "", f".. automodule:: {modname}", "   :no-members:"]
            if modname.rsplit(".", 1)[1] in public_names(pkg):
                # the package exports an object of the module's name (dynopt.cli.main):
                # that object keeps the target
                lines.append("   :no-index:")
            lines += ["", f".. currentmodule:: {modname}", ""]
            if names:
                lines += _entries(modname, names)
        page = pkg.replace(".", "_")
        (out_dir / f"{page}.rst").write_text("\n".join(lines), encoding="utf-8")
        toc.append(page)
    import dynopt
    lines = ["``dynopt``: the top level", "=" * 25, "", ".. automodule:: dynopt", "   :no-members:", "",
             "``import dynopt`` gives the everyday names:", ""]
    for name in dynopt.__all__:
        if name.startswith("__"):
            continue
        target = home.get(id(getattr(dynopt, name))) or resolve_home(f"dynopt.schemes.{name}", home) \
            or f"dynopt.schemes.{name}"
        lines.append(f"- ``dynopt.{name}``: :py:obj:`{target}`")
    (out_dir / "dynopt.rst").write_text("\n".join(lines) + "\n", encoding="utf-8")
    index = ["API reference", "=============", "",
             "Generated from the docstrings (numpydoc). Packages are listed as the pipeline runs, lowest"
             " layer first: each imports only the ones above it in this list. A name is documented"
             " once, in the lowest package that exports it.", "",
             ".. toctree::", "   :maxdepth: 1", "", "   dynopt"] + [f"   {p}" for p in toc]
    (out_dir / "index.rst").write_text("\n".join(index) + "\n", encoding="utf-8")

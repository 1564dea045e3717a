"""Imports point one way: the CLI on top, nothing below it imports it, and no layer reaches up.

Checked twice: statically over every ``import`` in ``src/acsa`` (lazy imports
inside functions included), and at run time by importing every module
outside the CLI in a fresh interpreter.
"""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import acsa

SRC = Path(acsa.__file__).resolve().parent

# layer -> the layers its modules may import (besides itself)
ALLOWED: dict[str, set[str]] = {
    "base": set(),  # acsa/__init__, errors, files, logs, cluster, threads, numeric
    "data": {"base"},
    "losses": {"base", "data"},
    "models": {"base", "data"},
    "evaluation": {"base", "data"},
    "training": {"base", "data", "losses", "models", "evaluation"},
    "explain": {"base", "data", "models"},
    "api": {"base", "data", "models", "evaluation", "explain"},
    "compare": {"base", "data", "losses", "models", "evaluation", "training", "api"},
    "serve": {"base", "data", "models", "evaluation", "explain", "api"},
    "batch": {"base", "data", "models", "evaluation", "api"},
    "analysis": {"base", "data", "models"},
    "cli": {
        "base",
        "data",
        "losses",
        "models",
        "evaluation",
        "explain",
        "training",
        "api",
        "compare",
        "serve",
        "batch",
        "analysis",
    },
}
_BASE = {"errors", "files", "logs", "cluster", "threads", "numeric"}


def _layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in _BASE:
        return "base"
    if parts[1] == "__main__":
        return "cli"
    return parts[1]


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__")


def _acsa_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "acsa":
                found.update(f"acsa.{alias.name}" for alias in node.names)
            elif node.module.startswith("acsa."):
                found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("acsa"))
    return found


def test_every_import_respects_the_layers() -> None:
    violations = []
    for path in sorted(SRC.rglob("*.py")):
        module = _module_name(path)
        here = _layer(module)
        for target in _acsa_imports(path):
            there = "base" if target == "acsa.__version__" else _layer(target)
            if there != here and there not in ALLOWED[here]:
                violations.append(f"{module} ({here}) imports {target} ({there})")
    assert not violations, "\n".join(violations)
    assert set(ALLOWED) >= {_layer(_module_name(p)) for p in SRC.rglob("*.py")}


def test_importing_everything_below_the_cli_never_loads_it() -> None:
    modules = [
        info.name
        for info in pkgutil.walk_packages([str(SRC)], prefix="acsa.")
        if _layer(info.name) != "cli"
    ]
    assert "acsa.compare.harness" in modules and "acsa.api" in modules
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'acsa.cli' or m.startswith('acsa.cli.')))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_no_import_cycle_between_modules() -> None:
    # every import, lazy ones included: a function-level import must not hide a loop
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}

    def owner(name: str) -> str | None:  # the module a dotted import name lands in
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {
        m: {t for t in map(owner, _acsa_imports(p)) if t and t != m and t != "acsa"}
        for m, p in modules.items()
    }
    graph = {m: {t for t in targets if not m.startswith(t + ".")} for m, targets in graph.items()}
    cycles = []
    for start in graph:  # a cycle through `start`: `start` reachable from its own imports
        seen, todo = set(), list(graph[start])
        while todo:
            node = todo.pop()
            if node == start:
                cycles.append(start)
                break
            if node not in seen:
                seen.add(node)
                todo.extend(graph[node])
    assert not cycles, f"modules on an import cycle: {sorted(cycles)}"

"""The layers below the CLI take typed arguments and never name a command-line flag.

Their messages name the argument (``max_seeds``, ``resume=True``); the CLI
spells it as its option (``--max-seeds``, ``--resume``): see
:class:`acsa.errors.NamesArguments` and ``acsa/cli/_flags.py``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import typer

SRC = Path(__file__).resolve().parents[1] / "src" / "acsa"
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")

# (module, flag): reviewed places where a string below the CLI may name a flag.
ALLOWED = {
    # the command to run when a model folder lacks model.onnx: a whole command line,
    # not an option of the call that failed
    ("models/onnx_backend.py", "--format"),
    ("models/onnx_backend.py", "--output"),
    # what acsa predict will run a freshly trained model on, and how to choose the other
    # runtime: a command for later, not an option of the call that printed it
    ("training/summary.py", "--runtime"),
    ("training/onnx_runtime.py", "--runtime"),
}


def cli_flags() -> set[str]:
    """Every option name of every acsa command (``--no-x`` forms included)."""
    from acsa.cli import app

    group = typer.main.get_command(app)
    flags = set()
    for command in group.commands.values():  # type: ignore[attr-defined]
        for param in command.params:
            for name in [*param.opts, *param.secondary_opts]:
                if name.startswith("--"):
                    flags.add(name)
    return flags


def docstrings(tree: ast.AST) -> set[int]:
    """``id()`` of the docstring nodes (documentation may say which command to run)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def flags_in_strings(path: Path, flags: set[str]) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = docstrings(tree)
    hits = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            hits += [(node.lineno, f) for f in FLAG.findall(node.value) if f in flags]
    return hits


def test_the_scan_knows_the_flags_and_skips_docstrings(tmp_path: Path) -> None:
    flags = cli_flags()
    assert {"--output", "--resume", "--max-seeds", "--keep-columns", "--no-baseline"} <= flags
    sample = tmp_path / "sample.py"
    sample.write_text(
        'def f():\n    """Like acsa train --resume."""\n    raise ValueError("pass --resume")\n',
        encoding="utf-8",
    )
    assert flags_in_strings(sample, flags) == [(3, "--resume")]


def test_no_module_below_the_cli_names_a_flag() -> None:
    flags = cli_flags()
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("cli/"):
            continue
        for line, flag in flags_in_strings(path, flags):
            if (rel, flag) not in ALLOWED:
                found.append(f"{rel}:{line}: {flag}")
    assert not found, "name the argument (acsa.errors.ArgumentError), not the flag:\n" + "\n".join(
        found
    )


def test_an_argument_error_reads_as_keywords_and_as_options() -> None:
    import pickle

    from acsa.cli._flags import option
    from acsa.errors import ArgumentError, ConfigError, DataArgumentError, DataError

    exc = ArgumentError(
        "{max_seeds}: expected at least {least} ({seeds:auto} starts there); {path}",
        least=3,
        path="/data/{odd}",
    )
    assert isinstance(exc, ConfigError)
    assert str(exc) == "max_seeds: expected at least 3 (seeds='auto' starts there); /data/{odd}"
    assert exc.spelled(option) == (
        "--max-seeds: expected at least 3 (--seeds auto starts there); /data/{odd}"
    )
    again = pickle.loads(pickle.dumps(exc))  # raised in a worker process, reported here
    assert type(again) is ArgumentError and str(again) == str(exc)
    flags = DataArgumentError(
        "{output_dir}: pass {resume:True}, {baseline:False} or {policy:{got}}",
        python_names={"output_dir": "output.dir"},
        got="x}",
    )
    assert isinstance(flags, DataError)
    assert str(flags) == "output.dir: pass resume=True, baseline=False or policy='x}'"
    assert flags.spelled(option) == "--output: pass --resume, --no-baseline or --policy x}"

"""Running mutants: which tests execute which line (coverage), and one forked pytest per mutant."""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .mutants import Mutant, mutated_source
from .settings import ROOT, SRC

PRELOAD = (
    "numpy",
    "scipy.stats",
    "sklearn.metrics",
    "pandas",
    "torch",
    "torch.nn.functional",
    "transformers",
    "yaml",
    "pydantic",
    "hypothesis",
    "hypothesis.strategies",
    "pytest",
    "safetensors.torch",
    "matplotlib",
)

# ----------------------------------------------------------------------------- test map


@dataclass
class TestMap:
    """Per module file: line -> test node ids; per node id: seconds."""

    lines: dict[str, dict[int, set[str]]] = field(default_factory=dict)
    import_time: dict[str, set[int]] = field(default_factory=dict)
    durations: dict[str, float] = field(default_factory=dict)
    files: dict[str, list[str]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)  # test file -> its source

    def expected(self, selection: list[str]) -> float:
        """Seconds the selected node ids (or whole test files) took when mapped."""
        total = 0.0
        for item in selection:
            if "::" in item:
                total += self.durations.get(item, 2.0)
            else:
                total += sum(t for n, t in self.durations.items() if n.split("::")[0] == item)
        return total


def _expand(patterns: list[str]) -> list[str]:
    out: list[str] = []
    for pattern in patterns:
        for path in sorted(glob.glob(str(ROOT / pattern))):
            rel = Path(path).relative_to(ROOT).as_posix()
            if rel not in out:
                out.append(rel)
    return out


_SNAPSHOT_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "__pycache__",
    "*.egg-info",
    ".hypothesis",
    ".pytest_cache",
    ".ruff_cache",
    "runs",
    "outputs",
    "build",
    "dist",
)

# plugins no mapped test uses (the OpenAPI fuzzer, async tests) cost seconds per start
_PYTEST_FLAGS = ("-p", "no:cacheprovider", "-p", "no:schemathesis", "-p", "no:anyio")

_CONTEXT_PLUGIN = """
import coverage
import pytest
from hypothesis import settings

# the same examples as in every mutant's run (see _run_child)
settings.register_profile("mutation", database=None, derandomize=True)
settings.load_profile("mutation")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    # setup, call and teardown of one test, module fixtures included, under its node id
    cov = coverage.Coverage.current()
    if cov is not None:
        cov.switch_context(item.nodeid)
    yield
    if cov is not None:
        cov.switch_context("")
"""


def build_test_map(
    modules: dict[str, list[str]], work: Path, env: dict[str, str], root: Path
) -> TestMap:
    """Run every mapped test file once under coverage, one context per test (node id)."""
    test_files = sorted({f for files in modules.values() for f in files})
    (work / "acsa_mutation_contexts.py").write_text(_CONTEXT_PLUGIN, encoding="utf-8")
    rc = work / "coveragerc"
    rc.write_text(
        "[run]\n"
        f"data_file = {work / '.coverage'}\n"
        "include =\n" + "".join(f"    {root / 'src' / 'acsa' / m}\n" for m in modules) + "\n",
        encoding="utf-8",
    )
    junit = work / "junit.xml"
    command = [
        sys.executable,
        "-m",
        "coverage",
        "run",
        f"--rcfile={rc}",
        "-m",
        "pytest",
        *test_files,
        "-q",
        *_PYTEST_FLAGS,
        "-p",
        "acsa_mutation_contexts",
        f"--junitxml={junit}",
        "-o",
        "junit_family=xunit1",
    ]
    env = dict(env, PYTHONPATH=os.pathsep.join([str(work), env.get("PYTHONPATH", "")]))
    print(f"mapping lines to tests: {len(test_files)} test files under coverage ...", flush=True)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-3000:]
        raise SystemExit(f"the unmutated tests do not pass; fix them first:\n{tail}")
    print(f"  done in {time.perf_counter() - started:.0f} s", flush=True)

    import xml.etree.ElementTree as ET

    from coverage import CoverageData

    result = TestMap()
    for case in ET.parse(junit).getroot().iter("testcase"):
        file = case.get("file", "")
        parts = case.get("classname", "").split(".")
        owner = parts[-1] if parts and parts[-1][:1].isupper() else None
        name = case.get("name", "")
        node = f"{file}::{owner}::{name}" if owner else f"{file}::{name}"
        result.durations[node] = float(case.get("time", 0))
    data = CoverageData(basename=str(work / ".coverage"))
    data.read()
    for module, files in modules.items():
        path = str(root / "src" / "acsa" / module)
        result.files[module] = files
        for test_file in _expand(files):
            result.texts.setdefault(test_file, (root / test_file).read_text(encoding="utf-8"))
        by_line: dict[int, set[str]] = {}
        imported: set[int] = set()
        for line, contexts in (data.contexts_by_lineno(path) or {}).items():
            for context in contexts:
                if context:
                    by_line.setdefault(line, set()).add(context)
                else:
                    imported.add(line)
        result.lines[module] = by_line
        result.import_time[module] = imported
    return result


def tests_for(mutant: Mutant, test_map: TestMap) -> list[str] | None:
    """The node ids that execute the mutant's lines, fastest first; None: not covered."""
    by_line = test_map.lines.get(mutant.module, {})
    nodes: set[str] = set()
    at_import = False
    for line in range(mutant.scope[0], mutant.scope[1] + 1):
        nodes |= by_line.get(line, set())
        at_import |= line in test_map.import_time.get(mutant.module, set())
    naming: list[str] = []
    if mutant.default_of:
        # a default is also checked by tests that name its owner without calling it
        # (inspect.signature): run the mapped test files that mention the name
        names = "|".join(re.escape(n) for n in mutant.default_of.split("|"))
        word = re.compile(rf"\b(?:{names})\b")
        naming = [
            f
            for f in _expand(test_map.files[mutant.module])
            if word.search(test_map.texts.get(f, ""))
        ]
    if at_import and not nodes and not naming:
        # module-level code runs at import: every mapped test file may notice
        return _expand(test_map.files[mutant.module])
    if not nodes and not naming and mutant.function != "<module>":
        # lines that only run in processes the tests start (torch.distributed workers)
        # are invisible to coverage: the test files naming the function or class run
        names = "|".join(re.escape(n) for n in mutant.function.split(".") if n != "__init__")
        word = re.compile(rf"\b(?:{names})\b")
        naming = [
            f for f in _expand(test_map.files[mutant.module]) if word.search(test_map.texts[f])
        ]
    if not nodes and not naming:
        return None
    fastest = sorted(nodes, key=lambda n: (test_map.durations.get(n, 1.0), n))
    return fastest + [f for f in naming if f not in fastest]


# ----------------------------------------------------------------------------- running


def _preload() -> None:
    import importlib

    import matplotlib

    matplotlib.use("Agg")
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    # loaded by the tests through acsa; importing the names here is what costs time
    from transformers import Trainer, TrainingArguments  # noqa: F401


def _run_child(copy_src: Path, node_ids: list[str]) -> None:
    """In the forked child: acsa from the copy, pytest on ``node_ids``; never returns."""
    os.setpgid(0, 0)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    # the snapshot's src first (the editable install points elsewhere), here and in subprocesses
    sys.path[:] = [str(copy_src)] + [p for p in sys.path if Path(p).resolve() != SRC.resolve()]
    sys.dont_write_bytecode = True
    os.environ["PYTHONPATH"] = str(copy_src)
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    code = 3
    try:
        import pytest
        from hypothesis import settings

        settings.register_profile("mutation", database=None, derandomize=True)
        settings.load_profile("mutation")
        code = int(
            pytest.main(
                [*node_ids, "-x", "-q", *_PYTEST_FLAGS],
            )
        )
    except BaseException:  # noqa: BLE001 - any crash of the child kills the mutant
        code = 3
    finally:
        os._exit(code)


def run_mutant(mutant: Mutant, copy_src: Path, node_ids: list[str], limit: float) -> str:
    target = copy_src / "acsa" / mutant.module
    original = target.read_bytes()
    target.write_bytes(mutated_source(mutant, copy_src / "acsa"))
    started = time.perf_counter()
    try:
        pid = os.fork()
        if pid == 0:
            _run_child(copy_src, node_ids)
        status = None
        while time.perf_counter() - started < limit:
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                status = code
                break
            time.sleep(0.05)
        if status is None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            return "timeout"
        exit_code = os.waitstatus_to_exitcode(status)
        if exit_code == 0:
            return "survived"
        if exit_code == 5:
            return "no tests ran"
        return "killed"
    finally:
        mutant.seconds = time.perf_counter() - started
        target.write_bytes(original)

"""Mutation testing of acsa's core modules: select, run, report (``python -m tools.mutation``)."""

from __future__ import annotations

import argparse
import datetime as dt
import fnmatch
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from . import settings
from .equivalent import EQUIVALENT
from .mutants import Mutant, find_mutants
from .report import _SURVIVED, _area, _print_summary, markdown, write_docs
from .runner import _SNAPSHOT_IGNORE, _expand, _preload, build_test_map, run_mutant, tests_for
from .settings import COMMAND, DEFAULT_SAMPLE, GROUPS, PACKAGE, ROOT


def _module_specs(group: str, only: list[str] | None) -> dict[str, tuple[list[str], set | None]]:
    """module path -> (test files, functions or None) for the group, globs expanded."""
    specs: dict[str, tuple[list[str], set | None]] = {}
    for pattern, tests in GROUPS[group].items():
        name, _, funcs = pattern.partition(":")
        functions = set(funcs.split(",")) if funcs else None
        for path in sorted(PACKAGE.glob(name)):
            module = path.relative_to(PACKAGE).as_posix()
            if path.name == "__init__.py":
                continue
            if only and not any(fnmatch.fnmatch(module, o) for o in only):
                continue
            specs[module] = (_expand(tests), functions)
    return specs


def _selected(
    specs: dict[str, tuple[list[str], set | None]],
    sample: int | None,
    seed: int,
    package: Path = PACKAGE,
) -> tuple[list[Mutant], dict[str, int]]:
    """The mutants to run, at most ``sample`` per area (a uniform sample, fixed by ``seed``),
    and every area's full count."""
    by_area: dict[str, list[Mutant]] = {}
    for module, (_, functions) in specs.items():
        by_area.setdefault(_area(module), []).extend(find_mutants(module, functions, package))
    chosen: list[Mutant] = []
    totals = {area: len(found) for area, found in by_area.items()}
    for area, found in by_area.items():
        if sample is not None and len(found) > sample:
            found = random.Random(f"{seed}:{area}").sample(found, sample)
        chosen.extend(sorted(found, key=lambda m: (m.module, m.start, m.operator, m.mutated)))
    return chosen, totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", choices=sorted(GROUPS), default="target")
    parser.add_argument(
        "--modules", nargs="*", help="only these modules (globs, src/acsa-relative)"
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=DEFAULT_SAMPLE,
        help=f"at most N mutants per area, 0: all (default {DEFAULT_SAMPLE})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampling")
    parser.add_argument("--list", action="store_true", help="print the mutants and stop")
    parser.add_argument("--timeout-factor", type=float, default=4.0)
    parser.add_argument("--json", type=Path, default=None, help="write every mutant's result")
    parser.add_argument("--write-docs", action="store_true", help="update docs/RELIABILITY.md")
    parser.add_argument(
        "--from-json",
        type=Path,
        default=None,
        help="no run: re-read a --json result, apply today's EQUIVALENT list, print and "
        "(with --write-docs) write the report",
    )
    parser.add_argument(
        "--recheck",
        type=Path,
        nargs="+",
        default=None,
        help="run only the survivors of these --json results (after fixing them); "
        "survivors whose statement changed since are reported as gone. With --from-json: "
        "these are recheck results, and survivors they killed are marked so",
    )
    args = parser.parse_args(argv)
    if args.from_json is not None:
        return _report_from_json(args.from_json, args.write_docs, args.recheck or [])

    specs = _module_specs(args.group, args.modules)
    if args.list:
        mutants, _ = _selected(specs, args.sample or None, args.seed)
        for m in mutants:
            print(f"{m.module}:{m.line} ({m.function}) {m.describe()}")
        print(f"{len(mutants)} mutants in {len(specs)} modules")
        return 0

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="acsa-mutation-") as folder:
        work = Path(folder)
        # a snapshot of the project: editing src/ or tests/ meanwhile changes nothing here
        project = work / "project"
        shutil.copytree(ROOT, project, ignore=_SNAPSHOT_IGNORE)
        if (ROOT.parent / "shared").is_dir():
            (work / "shared").symlink_to(ROOT.parent / "shared")  # tests find ../shared/data
        copy_src = project / "src"
        mutants, totals = _selected(specs, args.sample or None, args.seed, copy_src / "acsa")
        if args.recheck:
            mutants = _survivors_now(args.recheck, specs, copy_src / "acsa")
        sampling = "; ".join(
            f"`{area}` {sum(_area(m.module) == area for m in mutants)} of {n}"
            for area, n in totals.items()
        )
        env = dict(os.environ, PYTHONPATH=str(copy_src), PYTHONDONTWRITEBYTECODE="1")
        env.setdefault("OMP_NUM_THREADS", "1")
        env.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.update({k: env[k] for k in ("OMP_NUM_THREADS", "HF_HUB_OFFLINE", "PYTHONPATH")})
        test_map = build_test_map({m: t for m, (t, _) in specs.items()}, work, env, project)
        os.chdir(project)
        _preload()
        for i, mutant in enumerate(mutants, 1):
            nodes = tests_for(mutant, test_map)
            if nodes is None:
                mutant.status = "not covered"
            else:
                mutant.tests = len(nodes)
                limit = max(60.0, args.timeout_factor * test_map.expected(nodes) + 30.0)
                mutant.status = run_mutant(mutant, copy_src, nodes, limit)
                if mutant.status == "timeout":
                    # a busy machine, or a real hang: a second try with three times the time
                    mutant.status = run_mutant(mutant, copy_src, nodes, 3 * limit)
            _justify(mutant)
            print(
                f"[{i}/{len(mutants)}] {mutant.status:11s} {mutant.seconds:5.1f}s "
                f"{mutant.module}:{mutant.line} {mutant.describe()}",
                flush=True,
            )
        os.chdir(ROOT)
    minutes = (time.perf_counter() - started) / 60
    print()
    _print_summary(mutants)
    print(f"{len(mutants)} mutants in {minutes:.1f} min")
    meta = {
        "date": f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "minutes": minutes,
        "mutants": len(mutants),
        "sampling": sampling,
        "python": sys.version.split()[0],
        "command": " ".join(
            [COMMAND]
            + ([f"--group {args.group}"] if args.group != "target" else [])
            + ([f"--seed {args.seed}"] if args.seed else [])
            + ([f"--sample {args.sample}"] if args.sample != DEFAULT_SAMPLE else [])
        ),
    }
    if args.json is not None:
        args.json.write_text(
            json.dumps({"meta": meta, "mutants": [asdict(m) for m in mutants]}, indent=1),
            encoding="utf-8",
        )
    if args.write_docs:
        write_docs(markdown(mutants, meta))
        print(f"updated {settings.DOC}")
    return 0


_KILLED = ("killed", "timeout")


def _load(path: Path) -> tuple[dict, list[Mutant]]:
    """``(meta, mutants)`` of a ``--json`` result."""
    data = json.loads(path.read_text(encoding="utf-8"))
    fields = (
        {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()} for d in data["mutants"]
    )
    return data["meta"], [Mutant(**f) for f in fields]


def _justify(mutant: Mutant) -> None:
    """A survivor listed in ``EQUIVALENT`` becomes equivalent, with the reason."""
    reason = EQUIVALENT.get(mutant.key)
    if reason is not None and mutant.status in ("survived", "not covered"):
        mutant.status, mutant.reason = "equivalent", reason


def _survivors_now(
    results: list[Path], specs: dict[str, tuple[list[str], set | None]], package: Path
) -> list[Mutant]:
    """Today's mutants that survived in one of ``results`` (matched by their key)."""
    keys = {m.key for path in results for m in _load(path)[1] if m.status in _SURVIVED}
    found = [m for module, (_, f) in specs.items() for m in find_mutants(module, f, package)]
    chosen = [m for m in found if m.key in keys]
    print(
        f"rechecking {len(chosen)} of {len(keys)} earlier survivors "
        f"({len(keys) - len(chosen)} no longer exist: their statement changed)",
        flush=True,
    )
    return chosen


def _report_from_json(path: Path, write: bool, rechecks: list[Path]) -> int:
    """Re-render a finished run: survivors justified since then become equivalent, and
    survivors a later ``--recheck`` run (its --json in ``rechecks``) killed say so."""
    killed_since = {m.key for recheck in rechecks for m in _load(recheck)[1] if m.status in _KILLED}
    meta, mutants = _load(path)
    for m in mutants:
        _justify(m)
        if m.key in killed_since and m.status in _SURVIVED:
            m.reason = "killed since, by `--recheck` with the current tests and script"
    _print_summary(mutants)
    if write:
        write_docs(markdown(mutants, meta))
        print(f"updated {settings.DOC}")
    return 0


def iter_mutants(group: str = "target") -> Iterator[Mutant]:
    """Every mutant of a group (for tests of this script)."""
    for module, (_, functions) in _module_specs(group, None).items():
        yield from find_mutants(module, functions)

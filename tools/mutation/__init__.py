"""Mutation testing: plant small bugs in acsa's core modules, one at a time, and count
how many the test suite catches.

    python -m tools.mutation                     # the four target areas, print the table
    python -m tools.mutation --write-docs        # also update docs/RELIABILITY.md
    python -m tools.mutation --group extended    # evaluation/, data/, training bookkeeping
    python -m tools.mutation --modules evaluation/metrics.py --list   # show the mutants

How it works:

1. **Which tests run which line.** The test files mapped to each module (``GROUPS``)
   run once under coverage.py with one context per test function; that gives, for every
   line of the module, the tests that execute it, and per test its duration.
2. **Mutants.** Each module is parsed with :mod:`ast`; every operator below applied to
   one node is one mutant: a comparison flipped (``<`` / ``<=``, ``>`` / ``>=``,
   ``==`` / ``!=``, ``is`` / ``is not``, ``in`` / ``not in``), an arithmetic or bitwise
   operator swapped (``+ -``, ``* /``, ``//`` to ``/``, ``**`` to ``*``, ``& |``),
   ``and`` / ``or`` swapped, a ``not`` / ``~`` / unary minus dropped, a number off by
   one (``n`` to ``n + 1``; floats ``x`` to ``x + 1``), ``True`` / ``False`` flipped, the
   first two positional arguments of a call swapped (not of ``max``, ``min`` and other
   symmetric functions), an ``if`` / ``while`` condition
   negated, a ``raise`` removed, a call statement, an augmented assignment or a
   ``continue`` / ``break`` removed. Left alone: docstrings, string constants (messages),
   type annotations, logging calls, ``__all__``. Only the changed node's characters are
   rewritten, so line numbers and every other byte stay as they were.
3. **Run.** ``src/`` is copied to a temporary folder; the heavy libraries (torch,
   numpy, scipy, scikit-learn, pandas, transformers, hypothesis, pytest) are imported
   once in this process, acsa is not. For each mutant the mutated file is written into
   the copy and a forked child runs pytest, with the copy first on ``sys.path`` and
   ``PYTHONPATH`` (so subprocesses see the mutant too), on the tests that execute the
   mutated lines only, fastest first, ``-x -q``, under a time limit. Hypothesis is
   derandomized and keeps no example database, so every run draws the same examples.
   A failing run (or an import error) kills the mutant; a run past the limit is counted
   as killed by timeout; a mutant no test executes survives ("not covered").
4. **Report.** Per module: mutants, killed, timed out, survived, equivalent (survivors
   listed in ``equivalent_mutants.yaml`` in this folder, each with the reason it cannot
   change behaviour), and the score: killed / (mutants - equivalent). Every other
   survivor is listed with file:line and the mutation.

Modules: ``settings`` (paths, the modules and their tests), ``mutants`` (finding and
applying mutants), ``equivalent`` (loading the reviewed list), ``runner`` (the line ->
tests map and one forked pytest per mutant), ``report`` (tables, docs), ``cli``.
Run it from the project root; it is a package so that its pieces stay small, and it
lives outside ``tests/`` because every mutant's pytest imports the ``tests`` package
from a snapshot of the project.

On 2 shared CPU cores the target areas take about 30 minutes (``--jobs 1``).
"""

from .cli import iter_mutants, main
from .equivalent import EQUIVALENT, EQUIVALENT_FILE, load_equivalent
from .mutants import Mutant, find_mutants, mutated_source
from .settings import DOC, GROUPS, PACKAGE, READER_MODULES, ROOT

__all__ = [
    "DOC",
    "EQUIVALENT",
    "EQUIVALENT_FILE",
    "GROUPS",
    "PACKAGE",
    "READER_MODULES",
    "ROOT",
    "Mutant",
    "find_mutants",
    "iter_mutants",
    "load_equivalent",
    "main",
    "mutated_source",
]

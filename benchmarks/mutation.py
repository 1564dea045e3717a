"""Mutation testing: plant small bugs in acsa's core modules, one at a time, and count
how many the test suite catches.

    python benchmarks/mutation.py                     # the four target areas, print the table
    python benchmarks/mutation.py --write-docs        # also update docs/RELIABILITY.md
    python benchmarks/mutation.py --group extended    # evaluation/, data/, training bookkeeping
    python benchmarks/mutation.py --modules evaluation/metrics.py --list   # show the mutants

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
   listed in ``EQUIVALENT`` with the reason they cannot change behaviour), and the
   score: killed / (mutants - equivalent). Every other survivor is listed with
   file:line and the mutation.

On 2 shared CPU cores the target areas take about 30 minutes (``--jobs 1``).
"""

from __future__ import annotations

import argparse
import ast
import copy
import datetime as dt
import fnmatch
import glob
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
PACKAGE = SRC / "acsa"
DOC = ROOT / "docs" / "RELIABILITY.md"
MARKERS = ("<!-- mutation-report:begin -->", "<!-- mutation-report:end -->")
COMMAND = "python benchmarks/mutation.py --write-docs"
DEFAULT_SAMPLE = 100

# the modules behind acsa.data.load_split: one area of the report
READER_MODULES = (
    "data/readers.py",
    "data/reviews.py",
    "data/text_files.py",
    "data/label_spellings.py",
    "data/wide_csv.py",
    "data/label_lists.py",
)
READER_AREA = "data/ readers"
READER_TESTS = [
    "tests/test_data_readers.py",
    "tests/test_data_properties.py",
    "tests/test_data_bad_inputs.py",
    "tests/test_data_label_column.py",
    "tests/test_data_aspects.py",
    "tests/test_data_validation.py",
]

# module (relative to src/acsa, glob allowed, ":f1,f2" restricts to those functions)
# -> the test files that are meant to catch its bugs
GROUPS: dict[str, dict[str, list[str]]] = {
    "target": {
        "evaluation/metrics.py": [
            "tests/test_metrics.py",
            "tests/test_count_scores.py",
            "tests/test_significance.py",
        ],
        "evaluation/f1.py": [
            "tests/test_metrics.py",
            "tests/test_count_scores.py",
            "tests/test_significance.py",
            "tests/test_decision_rule.py",
        ],
        "evaluation/significance.py": [
            "tests/test_significance.py",
            "tests/test_significance_calibration.py",
            "tests/test_compare.py",
        ],
        "evaluation/seed_power.py": ["tests/test_significance.py", "tests/test_compare.py"],
        "losses/*.py": ["tests/test_losses_*.py"],
        **dict.fromkeys(READER_MODULES, READER_TESTS),
    },
    "extended": {
        "evaluation/count_scores.py": ["tests/test_count_scores.py", "tests/test_compare.py"],
        "evaluation/scoring.py": ["tests/test_training.py", "tests/test_api.py"],
        "data/label_space.py": ["tests/test_data_*.py"],
        "data/dataset.py:class_counts": [
            "tests/test_data_dataset.py",
            "tests/test_losses_weights.py",
        ],
        "training/run.py:_best_validation,_build_loss,_save_best_model": ["tests/test_training.py"],
        "training/finish.py:report_run,with_rule": ["tests/test_training.py"],
    },
}

# Survivors that cannot change behaviour, keyed by (module, function, first line of the
# statement, original, mutated) (whitespace collapsed, outer parentheses of a rewritten
# expression dropped). Each says why; docs/RELIABILITY.md lists them. An entry whose
# statement changes stops applying, so the survivor shows again until it is re-justified.
EQUIVALENT: dict[tuple[str, str, str, str, str, int], str] = {}


def _equivalent(
    module: str, function: str, statement: str, original: str, mutated: str, *occurrences: int
):
    def add(reason: str) -> None:
        for occurrence in occurrences or (0,):
            EQUIVALENT[(module, function, statement, original, mutated, occurrence)] = reason

    return add


_SENTIMENT = (
    'return float(f1_score(gold_s, pred_s, labels=present, average="macro", zero_division=0))'
)
_equivalent(
    "evaluation/metrics.py",
    "_sentiment_macro_f1",
    _SENTIMENT,
    'f1_score(gold_s, pred_s, labels=present, average="macro", zero_division=0)',
    "f1_score(pred_s, gold_s, labels=present, average='macro', zero_division=0)",
)(
    "a class's F1 2TP / (2TP + FP + FN) is symmetric in gold and prediction (the swap "
    "exchanges FP and FN), and the scored cells were already chosen by the gold label"
)
_equivalent("evaluation/metrics.py", "_sentiment_macro_f1", _SENTIMENT, "0", "1")(
    "zero_division applies only to a class with neither gold nor predicted cells, and "
    "`present` leaves exactly those out"
)
_equivalent(
    "evaluation/metrics.py",
    "_seed_weighted_f1",
    "return float(",
    "0",
    "1",
)(
    "scikit-learn's F1 is 2TP / (2TP + FP + FN): 0 for a class with gold cells and no "
    "predictions whatever zero_division says; a class with neither has support 0, so weight "
    "0, and every cell has a polarity class (none counts as neutral), so the total support is "
    "positive (checked on 2,000 random label vectors)"
)
_F1 = "f1 = np.where(denom > 0, 2.0 * tp / np.where(denom > 0, denom, 1.0), 0.0)"
_equivalent("evaluation/f1.py", "f1_from_counts", _F1, "denom > 0", "denom >= 0", 0, 1)(
    "counts are never negative, and at denom = 0 both branches give 0 (0 / 1 inside, "
    "the outer 0.0 outside)"
)
_equivalent("evaluation/f1.py", "f1_from_counts", _F1, "0", "1", 0, 1)(
    "counts are whole numbers (also a bootstrap resample's): 2TP + FP + FN = 1 means TP = 0, "
    "where F1 is 0 on both branches"
)
_equivalent(
    "evaluation/significance.py",
    "paired_t_interval",
    "if sd <= 1e-12 * max(1.0, abs(mean)):",
    "sd <= 1e-12 * max(1.0, abs(mean))",
    "sd < 1e-12 * max(1.0, abs(mean))",
)(
    "differs only when the standard deviation equals the rounding threshold exactly; at "
    "sd = 0 both take the degenerate branch"
)
_equivalent(
    "evaluation/significance.py",
    "_inversion_p_value",
    "for _ in range(40):  # bisection on a log scale: relative precision ~1e-10",
    "40",
    "41",
)(
    "one more bisection step refines the p-value beyond its stated precision (~1e-10 "
    "relative); no verdict or printed digit changes"
)
_equivalent(
    "losses/_common.py",
    "prepare",
    "return logits, targets.masked_fill(~valid, 0), valid",
    "0",
    "1",
)(
    "a masked cell's target only has to be a valid class index: every loss drops those "
    "cells through `valid` (the mask tests put garbage there and compare)"
)
_CB = "weights = (1.0 - beta) / (1.0 - torch.pow(beta, counts))"
_equivalent("losses/class_balanced.py", "class_balanced_weights", _CB, "1.0 - beta", "1.0 + beta")(
    "a constant factor of every weight, cancelled by the normalization to sum C on the next line"
)
_equivalent("losses/class_balanced.py", "class_balanced_weights", _CB, "1.0", "2.0", 0)(
    "the numerator's 1: a constant factor, cancelled by the normalization to sum C"
)
for _original, _mutated in (
    ("a.dim() == 2", "not (a.dim() == 2)"),
    ("a.dim() == 2", "a.dim() != 2"),
    ("2", "3"),
):
    _equivalent("losses/focal.py", "sigmoid_focal_loss", "if a.dim() == 2:", _original, _mutated)(
        "unsqueeze(0) of a scalar, [C] or [A, C] alpha never changes how it broadcasts "
        "against the [B, A, C] loss"
    )
_APPLY = "def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> GHMCLoss:"
_equivalent("losses/ghm.py", "GHMCLoss._apply", _APPLY, "True", "False")(
    "GHMCLoss has no child modules, so whether _apply recurses into them changes nothing"
)
_equivalent(
    "losses/contrastive.py",
    "_weighted_log_prob_loss",
    "return per_anchor.sum() / has_pos.sum().clamp_min(1)",
    "1",
    "2",
)(
    "the pair weights are symmetric with a zero diagonal, so anchors with a positive come in "
    "pairs: their count is 0 (numerator 0) or at least 2, never 1"
)
_equivalent(
    "data/text_files.py",
    "csv_field_limit",
    "csv.field_size_limit(max(old, chars + 1))",
    "1",
    "2",
)(
    "csv's limit one character higher: a text of exactly max_text_chars + 2 characters (at "
    "least 1,000,002) is then refused by the reader's own length check instead of by csv; "
    "both are a one-line DataError naming the row and the length limit"
)
for _module, _function in (
    ("data/wide_csv.py", "parse_wide_csv"),
    ("data/label_lists.py", "_read_label_column"),
):
    _equivalent(
        _module,
        _function,
        "with csv_field_limit(max(config.max_text_chars, 1_000_000)):",
        "1_000_000",
        "1000001",
    )(
        "the floor of csv's own field limit one character higher: with data.max_text_chars "
        "below 1,000,000, a text of exactly 1,000,002 characters is then refused by the "
        "reader's length check instead of by csv; both are a one-line DataError naming the row"
    )
for _statement in ("var2 = var.reshape(n_seeds, n, -1)", "base2 = base.reshape(n_seeds, n, -1)"):
    _equivalent("evaluation/significance.py", "paired_bootstrap", _statement, "1", "2")(
        "numpy's reshape infers the dimension given as any negative number, -2 as -1"
    )
_PEAK = "peak = max(int(np.abs(c).max(initial=0)) for c in run_counts)"
_equivalent("evaluation/significance.py", "replicate_scores", _PEAK, "0", "1")(
    "the start value of the largest count matters only when every count is 0, and the "
    "precision it then selects sums zeros exactly either way"
)
_DTYPE = "dtype = np.float32 if peak * n < 2**24 else np.float64"
_equivalent(
    "evaluation/significance.py",
    "replicate_scores",
    _DTYPE,
    "peak * n < 2**24",
    "peak * n <= 2 ** 24",
)(
    "chooses the precision of exact integer sums: float32 holds every integer up to 2^24 "
    "exactly, so a bound of 2^24 itself is as exact (the scores are identical)"
)
_equivalent("evaluation/significance.py", "replicate_scores", _DTYPE, "2**24", "2 * 24")(
    "float64 for more inputs: the sums were exact in float32 already, so the scores are "
    "identical; only time and memory change"
)
_equivalent("evaluation/f1.py", "f1_from_counts", _F1, "1.0", "2.0")(
    "the placeholder divisor where 2TP + FP + FN = 0, so TP = 0: 0 / 1 and 0 / 2 are both 0, "
    "and the outer where() gives 0.0 there anyway"
)
_equivalent(
    "evaluation/significance.py",
    "paired_t_interval",
    "p_value = float(stats.ttest_rel(v, b).pvalue)",
    "stats.ttest_rel(v, b)",
    "stats.ttest_rel(b, v)",
)("the two-sided p-value of a paired t-test is the same for v - b and b - v")
_TAIL = "return float(nearest) if abs(k - nearest) <= 1e-9 * max(1.0, k) else k"
_equivalent(
    "evaluation/significance.py",
    "_tail_count",
    _TAIL,
    "abs(k - nearest) <= 1e-9 * max(1.0, k)",
    "abs(k - nearest) < 1e-09 * max(1.0, k)",
)(
    "differs only when the rounding error of n * level / 2 is exactly the tolerance; the "
    "errors it snaps are ~1e-16 relative"
)
_equivalent("evaluation/significance.py", "_tail_count", _TAIL, "1.0", "2.0")(
    "a tolerance of 2e-9 instead of 1e-9 for k < 2: the rounding errors it snaps are ~1e-16"
)
_equivalent(
    "evaluation/significance.py",
    "percentile_interval",
    "k = _tail_count(b, 1.0 - confidence)",
    "_tail_count(b, 1.0 - confidence)",
    "_tail_count(1.0 - confidence, b)",
)("_tail_count computes n * level / 2: the product does not depend on the argument order")
_equivalent(
    "data/label_spellings.py",
    "<module>",
    "MISSING = -1  # internal marker of an unknown label before it becomes mask=False",
    "1",
    "2",
)(
    "an internal marker of an unknown label, replaced by mask=False before the reader "
    "returns; any value outside the class codes 0..3 works"
)
_equivalent(
    "evaluation/significance.py",
    "seed_expansion",
    "q = 0.5 + confidence / 2.0",
    "0.5 + confidence / 2.0",
    "0.5 - confidence / 2.0",
)(
    "the lower quantile instead of the upper: t and normal quantiles are both symmetric, "
    "so their ratio (the factor) is the same"
)
_equivalent(
    "evaluation/seed_power.py",
    "seeds_needed",
    "ok = np.flatnonzero(np.asarray(mde) <= delta)",
    "np.asarray(mde) <= delta",
    "np.asarray(mde) < delta",
)("differs only when a detectable difference equals the target exactly (a real-valued formula)")
_equivalent("losses/_common.py", "safe_pow", "if gamma < 1:", "1", "2")(
    "the clamp at 1e-12 also for 1 < gamma < 2: values below 1e-12 change by less than 1e-12 "
    "and the gradient there is 0 both ways (d/dx x**gamma -> 0 as x -> 0 for gamma > 1)"
)
_equivalent(
    "losses/ghm.py",
    "GHMCLoss._weights",
    "if self.momentum > 0:",
    "self.momentum > 0",
    "self.momentum >= 0",
)(
    "at momentum 0 the EMA update lerp(ema, counts, 1) is counts itself (integer counts, "
    "exact), which is what the skipped branch uses"
)
_equivalent(
    "losses/contrastive.py",
    "_labels",
    "return targets.long().masked_fill(valid == 0, -1), valid",
    "1",
    "2",
)("the marker of an unlabelled cell: _agreement drops every negative label, -2 as -1")
_equivalent(
    "evaluation/significance.py",
    "review_counts",
    "exact = gold_on & pred_on & (gold == pred)",
    "gold_on & pred_on",
    "gold_on | pred_on",
)("with gold == pred a cell is mentioned in both or in neither, so & and | agree")
_equivalent("losses/_common.py", "safe_pow", "if gamma < 1:", "gamma < 1", "gamma <= 1")(
    "gamma == 1 has returned the base on the line before"
)
_equivalent(
    "losses/contrastive.py",
    "_weighted_log_prob_loss",
    "logits = (z @ z.t() / temperature).masked_fill(eye, -1e9)",
    "1e9",
    "1000000001.0",
)("the self-similarity's stand-in for -inf: exp(-1e9) and exp(-1e9 - 1) are both 0")
_equivalent(
    "losses/contrastive.py", "_weighted_log_prob_loss", "total = weights.sum(-1)", "1", "2"
)("the pair weights are symmetric, so their row sums equal their column sums")
_equivalent(
    "losses/registry.py",
    "_resolve_type",
    "close = difflib.get_close_matches(str(value), list(allowed), n=1)",
    "1",
    "2",
)("only the best match close[0] is suggested, and it is first however many are asked for")
_equivalent(
    "losses/unified_focal.py",
    "_tversky_part",
    "return term.sum() / (seen.sum() * term.shape[-1]).clamp_min(1)",
    "1",
    "2",
    1,  # clamp_min(1); occurrence 0 is shape[-1], which matters
)(
    "the divisor is 0 (every cell masked, and then the sum is 0 too) or at least the number "
    "of classes, which is at least 2"
)
_equivalent("data/text_files.py", "read_text", "head = raw[:2000]", "2000", "2001")(
    "the window of the UTF-16 guess one byte longer: UTF-16 text has NUL in about every "
    "other byte and the cut is a quarter, so one byte more moves no real file across it"
)
for _function in ("paired_bootstrap", "replicate_scores", "two_level_bootstrap"):
    _equivalent("evaluation/significance.py", _function, f"def {_function}(", "500", "501")(
        "the default chunk size: the replicates do not depend on it (tests/test_significance.py"
        "::test_*_independent_of_chunking*), only memory does"
    )

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


# ----------------------------------------------------------------------------- mutants


@dataclass
class Mutant:
    module: str  # relative to src/acsa
    line: int
    end_line: int
    function: str
    operator: str
    original: str
    mutated: str
    start: tuple[int, int] = (0, 0)  # (line, byte column) of the replaced segment
    end: tuple[int, int] = (0, 0)
    # the lines whose tests may notice (a default argument: the whole function)
    scope: tuple[int, int] = (0, 0)
    context: str = ""  # the first line of the statement the mutant is in
    # a default value's mutant: the function or class whose default it is (tests that
    # only name it, e.g. through inspect.signature, execute none of its lines)
    default_of: str = ""
    occurrence: int = 0  # among mutants with the same context, original and mutation
    status: str = "pending"  # killed | timeout | survived | not covered | equivalent
    seconds: float = 0.0
    tests: int = 0
    reason: str = ""

    @property
    def key(self) -> tuple[str, str, str, str, str, int]:
        """``(module, function, statement, original, mutated, occurrence)``: EQUIVALENT's key."""
        original = " ".join(self.original.split())
        return (
            self.module,
            self.function,
            self.context,
            original,
            self.mutated_text,
            self.occurrence,
        )

    @property
    def mutated_text(self) -> str:
        text = " ".join(self.mutated.split())
        # the parentheses wrapped around a rewritten expression are not part of the key
        return text[1:-1] if text.startswith("(") and text.endswith(")") else text

    def describe(self) -> str:
        return f"{self.operator}: `{_short(self.original)}` -> `{_short(self.mutated)}`"


def _short(text: str, limit: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


_COMPARE_SWAP = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
}
_BINOP_SWAP = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div,
    ast.Pow: ast.Mult,
    ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd,
    ast.Mod: ast.FloorDiv,
}
_LOGGING_NAMES = {"logger", "logging", "log", "warnings"}


class _Finder(ast.NodeVisitor):
    """Walk one module and collect (node, replacement source, operator) triples."""

    def __init__(self, source: bytes, module: str, functions: set[str] | None) -> None:
        self.source = source
        self.lines = source.splitlines(keepends=True)
        self.module = module
        self.functions = functions
        self.stack: list[str] = []
        self.skip_depth = 0
        self.scope: tuple[int, int] | None = None
        self.default_of = ""
        self._is_class: list[bool] = []
        self.statements: list[ast.stmt] = []
        self.found: list[Mutant] = []

    def visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.stmt):
            self.statements.append(node)
            try:
                super().visit(node)
            finally:
                self.statements.pop()
        else:
            super().visit(node)

    # -- helpers

    def _segment(self, node: ast.AST) -> str:
        """The node's source text (``ast`` columns are UTF-8 byte offsets)."""
        first, last = node.lineno - 1, node.end_lineno - 1
        if first == last:
            raw = self.lines[first][node.col_offset : node.end_col_offset]
        else:
            raw = (
                self.lines[first][node.col_offset :]
                + b"".join(self.lines[first + 1 : last])
                + self.lines[last][: node.end_col_offset]
            )
        return raw.decode("utf-8")

    def _enabled(self) -> bool:
        if self.skip_depth:
            return False
        if self.functions is None:
            return True
        return any(name in self.functions for name in self.stack)

    def _add(self, node: ast.AST, replacement: str, operator: str, stmt: ast.AST | None = None):
        if not self._enabled():
            return
        anchor = stmt or node
        self.found.append(
            Mutant(
                module=self.module,
                line=node.lineno,
                end_line=getattr(anchor, "end_lineno", node.lineno),
                function=".".join(self.stack) or "<module>",
                operator=operator,
                original=self._segment(node),
                mutated=replacement,
                start=(node.lineno, node.col_offset),
                end=(node.end_lineno, node.end_col_offset),
                scope=self.scope or (node.lineno, getattr(anchor, "end_lineno", node.lineno)),
                context=self._context(),
                default_of=self.default_of,
            )
        )

    def _context(self) -> str:
        if not self.statements:
            return ""
        stmt = self.statements[-1]
        return self.lines[stmt.lineno - 1].decode("utf-8").strip()

    def _replace_with(self, node: ast.AST, new: ast.AST, operator: str) -> None:
        self._add(node, f"({ast.unparse(new)})", operator)

    # -- scopes and skipped regions

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.stack.append(node.name)
        # a default is evaluated at import but used by the calls: the body's tests notice it
        self.scope = (node.lineno, node.end_lineno or node.lineno)
        in_class = len(self.stack) > 1 and self._is_class[-1]
        self.default_of = self.stack[-2] if node.name == "__init__" and in_class else node.name
        for default in node.args.defaults + [d for d in node.args.kw_defaults if d]:
            self.visit(default)
        self.scope = None
        self.default_of = ""
        self._is_class.append(False)
        for stmt in _without_docstring(node.body):
            self.visit(stmt)
        self._is_class.pop()
        self.stack.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.stack.append(node.name)
        self._is_class.append(True)
        for stmt in _without_docstring(node.body):
            self.visit(stmt)
        self._is_class.pop()
        self.stack.pop()

    def visit_Module(self, node: ast.Module) -> None:
        for stmt in _without_docstring(node.body):
            self.visit(stmt)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            # a class attribute's default (a dataclass field): the class is what tests name
            self.default_of = self.stack[-1] if self._is_class and self._is_class[-1] else ""
            self.visit(node.value)
            self.default_of = ""

    def visit_Assign(self, node: ast.Assign) -> None:
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return
        self.generic_visit(node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        return  # f-strings are messages

    def visit_Raise(self, node: ast.Raise) -> None:
        self._add(node, "pass", "remove raise", node)
        # the exception's arguments are messages: not mutated

    def visit_Expr(self, node: ast.Expr) -> None:
        if isinstance(node.value, ast.Constant):
            return
        if isinstance(node.value, ast.Call):
            if _is_logging(node.value):
                return
            self._add(node, "pass", "remove call", node)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._add(node, "pass", "remove augmented assignment", node)
        swap = _BINOP_SWAP.get(type(node.op))
        if swap is not None:
            new = copy.deepcopy(node)
            new.op = swap()
            self._add(node, ast.unparse(new), "swap operator", node)
        self.generic_visit(node)

    def visit_Continue(self, node: ast.Continue) -> None:
        self._add(node, "pass", "remove continue", node)

    def visit_Break(self, node: ast.Break) -> None:
        self._add(node, "pass", "remove break", node)

    def visit_If(self, node: ast.If) -> None:
        self._negate(node.test)
        self.generic_visit(node)

    def visit_While(self, node: ast.While) -> None:
        self._negate(node.test)
        self.generic_visit(node)

    def _negate(self, test: ast.expr) -> None:
        if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
            return  # dropping the not already covers it
        self._add(test, f"not ({self._segment(test)})", "negate condition")

    # -- expressions

    def visit_Compare(self, node: ast.Compare) -> None:
        for i, op in enumerate(node.ops):
            swap = _COMPARE_SWAP.get(type(op))
            if swap is None:
                continue
            new = copy.deepcopy(node)
            new.ops[i] = swap()
            self._replace_with(node, new, "flip comparison")
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        swap = _BINOP_SWAP.get(type(node.op))
        if swap is not None and not _is_string_format(node):
            new = copy.deepcopy(node)
            new.op = swap()
            self._replace_with(node, new, "swap operator")
        self.generic_visit(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        new = copy.deepcopy(node)
        new.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        self._replace_with(node, new, "swap and/or")
        self.generic_visit(node)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if isinstance(node.op, (ast.Not, ast.Invert, ast.USub)):
            if not (isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant)):
                self._add(node, f"({self._segment(node.operand)})", "drop unary operator")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bool):
            self._add(node, repr(not value), "flip boolean")
        elif isinstance(value, int):
            self._add(node, repr(value + 1), "number + 1")
        elif isinstance(value, float):
            self._add(node, repr(value + 1.0), "number + 1")

    def visit_Call(self, node: ast.Call) -> None:
        if _is_logging(node):
            return
        positional = [a for a in node.args if not isinstance(a, ast.Starred)]
        if len(positional) == len(node.args) >= 2 and _callee(node) not in _SYMMETRIC:
            a, b = self._segment(node.args[0]), self._segment(node.args[1])
            if a != b:
                new = copy.deepcopy(node)
                new.args[0], new.args[1] = new.args[1], new.args[0]
                self._replace_with(node, new, "swap arguments")
        self.generic_visit(node)

    def visit_arguments(self, node: ast.arguments) -> None:
        return

    def visit_Subscript(self, node: ast.Subscript) -> None:
        # dict["key"] lookups and tensor[..., 0] indices: mutate the index constants
        self.generic_visit(node)


# swapping the arguments of these changes nothing
_SYMMETRIC = {
    "max",
    "min",
    "maximum",
    "minimum",
    "fmax",
    "fmin",
    "array_equal",
    "equal",
    "logical_and",
    "logical_or",
    "hypot",
}


def _callee(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        return body[1:]
    return body


def _is_logging(call: ast.Call) -> bool:
    func = call.func
    while isinstance(func, ast.Attribute):
        func = func.value
    return isinstance(func, ast.Name) and func.id in _LOGGING_NAMES


def _is_string_format(node: ast.BinOp) -> bool:
    def stringy(n: ast.AST) -> bool:
        return isinstance(n, ast.JoinedStr) or (
            isinstance(n, ast.Constant) and isinstance(n.value, str)
        )

    return stringy(node.left) or stringy(node.right)


def find_mutants(
    module: str, functions: set[str] | None = None, package: Path = PACKAGE
) -> list[Mutant]:
    source = (package / module).read_bytes()
    tree = ast.parse(source)
    finder = _Finder(source, module, functions)
    finder.visit(tree)
    heirs = _subclasses(tree)
    seen: dict[tuple, int] = {}
    for mutant in finder.found:
        base = mutant.key[:5]
        mutant.occurrence = seen.get(base, 0)
        seen[base] = mutant.occurrence + 1
        if mutant.default_of in heirs:
            # a base class's __init__ default is the default of every subclass in the module
            mutant.default_of = "|".join([mutant.default_of, *heirs[mutant.default_of]])
    return finder.found


def _subclasses(tree: ast.Module) -> dict[str, list[str]]:
    """Class name -> the classes of the same module that derive from it (transitively)."""
    bases = {
        node.name: [b.id for b in node.bases if isinstance(b, ast.Name)]
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    }
    heirs: dict[str, list[str]] = {}
    for name in bases:
        stack, found = [name], []
        while stack:
            current = stack.pop()
            for child, parents in bases.items():
                if current in parents and child not in found:
                    found.append(child)
                    stack.append(child)
        if found:
            heirs[name] = sorted(found)
    return heirs


def mutated_source(mutant: Mutant, package: Path = PACKAGE) -> bytes:
    """The module's source with the mutant's segment replaced (every other byte kept)."""
    source = (package / mutant.module).read_bytes()
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    start = offsets[mutant.start[0] - 1] + mutant.start[1]
    end = offsets[mutant.end[0] - 1] + mutant.end[1]
    new = source[:start] + mutant.mutated.encode("utf-8") + source[end:]
    compile(new, mutant.module, "exec")  # a mutant must at least be valid Python
    return new


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


# ----------------------------------------------------------------------------- report


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


def summarize(mutants: list[Mutant]) -> list[dict]:
    rows = []
    for module in sorted({m.module for m in mutants}):
        ms = [m for m in mutants if m.module == module]
        count = {s: sum(m.status == s for m in ms) for s in _STATUSES}
        equivalent = count["equivalent"]
        killed = count["killed"] + count["timeout"]
        scored = len(ms) - equivalent
        rows.append(
            {
                "module": module,
                "mutants": len(ms),
                "killed": count["killed"],
                "timeout": count["timeout"],
                "survived": count["survived"] + count["not covered"] + count["no tests ran"],
                "equivalent": equivalent,
                "score": killed / scored if scored else 1.0,
            }
        )
    return rows


_STATUSES = ("killed", "timeout", "survived", "not covered", "no tests ran", "equivalent")
_SURVIVED = ("survived", "not covered", "no tests ran")  # what the score counts as missed


def _area(module: str) -> str:
    if module in READER_MODULES:
        return READER_AREA
    return "losses/" if module.startswith("losses/") else module


def markdown(mutants: list[Mutant], meta: dict) -> list[str]:
    rows = summarize(mutants)
    areas: dict[str, dict] = {}
    for r in rows:
        a = areas.setdefault(
            _area(r["module"]),
            {"mutants": 0, "killed": 0, "timeout": 0, "survived": 0, "equivalent": 0},
        )
        for k in a:
            a[k] += r[k]
    lines = [
        MARKERS[0],
        "## Mutation testing",
        "",
        f"Generated by `{meta.get('command', COMMAND)}` on {meta['date']} in "
        f"{meta['minutes']:.0f} min "
        f"({meta['mutants']} mutants, a uniform sample per area, fixed seed: {meta['sampling']}; "
        f"Python {meta['python']}). Each mutant "
        "is one small planted bug (a flipped comparison, a swapped operator or argument, a "
        "number off by one, a removed statement or `raise`, a negated condition; see the "
        "script's docstring), run against the tests that execute the mutated line. Score = "
        "killed (failing tests or timeout) / (mutants - equivalent). The score of a sample "
        "is an estimate for the whole area; a sample drawn with a new `--seed` after an "
        "earlier sample's survivors were fixed measures code the tests were not written "
        "against, which a rerun of the same sample does not.",
        "",
        "| area | mutants | killed | timed out | survived | equivalent | score |",
        "|---|---|---|---|---|---|---|",
    ]
    for area, a in areas.items():
        scored = a["mutants"] - a["equivalent"]
        score = (a["killed"] + a["timeout"]) / scored if scored else 1.0
        lines.append(
            f"| `{area}` | {a['mutants']} | {a['killed']} | {a['timeout']} | {a['survived']} | "
            f"{a['equivalent']} | {100 * score:.1f}% |"
        )
    survivors = [m for m in mutants if m.status in _SURVIVED]
    equivalent = [m for m in mutants if m.status == "equivalent"]
    lines += ["", f"Surviving mutants ({len(survivors)}):", ""]
    lines += [
        f"- `{m.module}:{m.line}` ({m.function}) {m.describe()}"
        + (f" [{m.status}]" if m.status != "survived" else "")
        + (f"; {m.reason}" if m.reason else "")
        for m in survivors
    ] or ["- none"]
    lines += ["", f"Equivalent mutants ({len(equivalent)}), each with why it cannot matter:", ""]
    lines += [
        f"- `{m.module}:{m.line}` ({m.function}) {m.describe()}: {m.reason}" for m in equivalent
    ] or ["- none"]
    lines += ["", MARKERS[1]]
    return lines


def write_docs(block: list[str], path: Path | None = None) -> None:
    path = DOC if path is None else path
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    begin, end = MARKERS
    new = "\n".join(block)
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + new + tail
    else:
        text = text.rstrip("\n") + "\n\n" + new + "\n"
    path.write_text(text, encoding="utf-8")


# ----------------------------------------------------------------------------- main


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
        print(f"updated {DOC}")
    return 0


def _print_summary(mutants: list[Mutant]) -> None:
    print(
        f"{'module':40s} {'mutants':>7s} {'killed':>6s} {'timeout':>7s} {'surv.':>5s} "
        f"{'equiv.':>6s} {'score':>6s}"
    )
    for r in summarize(mutants):
        print(
            f"{r['module']:40s} {r['mutants']:7d} {r['killed']:6d} {r['timeout']:7d} "
            f"{r['survived']:5d} {r['equivalent']:6d} {100 * r['score']:5.1f}%"
        )
    for m in mutants:
        if m.status in _SURVIVED:
            print(f"SURVIVED {m.module}:{m.line} ({m.function}) {m.describe()} [{m.status}]")


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
        print(f"updated {DOC}")
    return 0


def iter_mutants(group: str = "target") -> Iterator[Mutant]:
    """Every mutant of a group (for tests of this script)."""
    for module, (_, functions) in _module_specs(group, None).items():
        yield from find_mutants(module, functions)


if __name__ == "__main__":
    sys.exit(main())

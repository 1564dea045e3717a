"""Mutants: every small planted bug :mod:`ast` finds in a module, and the mutated source."""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass
from pathlib import Path

from .settings import PACKAGE


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

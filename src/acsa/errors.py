"""The project's own error types.

Every error a user can cause (bad data, bad config, unreadable checkpoint) is
raised as an :class:`AcsaError` whose message is one line naming the place
(file, row, column or config key) and what to do. The CLI prints that line
and exits with code 2; anything else is a bug in acsa.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import ModuleType

# spells an argument: (its name, the value in the field, e.g. "True") -> the text
Speller = Callable[[str, str], str]


class AcsaError(Exception):
    """Base class of errors caused by user input; the message is one line."""


class DataError(AcsaError):
    """A data file is missing, unreadable or holds invalid content."""


class ConfigError(AcsaError):
    """A configuration key is unknown, missing or out of range."""


class CheckpointError(AcsaError):
    """A saved model or checkpoint is missing, incomplete or unsafe to load."""


class TrainingError(AcsaError):
    """Training cannot go on (for example a non-finite loss)."""


class ClusterError(AcsaError):
    """Ray could not be started or joined (a wrong address, a cluster that is down)."""


class DependencyError(AcsaError):
    """An optional dependency (a ``pip install "acsa[extra]"`` extra) is not installed."""


def keyword(name: str, value: str) -> str:
    """An argument as a Python caller writes it: ``name``, or ``name=value``
    (``engine='ray'``, ``resume=True``)."""
    if not value:
        return name
    literal = value in ("True", "False", "None") or value.lstrip("-").replace(".", "", 1).isdigit()
    return f"{name}={value if literal else repr(value)}"


class _Argument:
    """A template field naming an argument; its format spec is the value (``{resume:True}``)."""

    def __init__(self, name: str, spell: Speller) -> None:
        self.name, self.spell = name, spell

    def __format__(self, value: str) -> str:
        return self.spell(self.name, value)


class _Fields(dict[str, object]):
    def __init__(self, values: Mapping[str, object], spell: Speller) -> None:
        super().__init__(values)
        self.spell = spell

    def __missing__(self, name: str) -> _Argument:
        return _Argument(name, self.spell)


def spell_template(template: str, values: Mapping[str, object], spell: Speller = keyword) -> str:
    """``template`` filled in: fields in ``values`` are values, every other field an argument.

    ``{seeds}`` names the argument ``seeds``; ``{resume:True}`` asks for it set to
    ``True``. ``spell`` writes each argument: :func:`keyword` (``seeds``,
    ``resume=True``) for Python callers; the CLI writes its option (``--seeds``,
    ``--resume``) instead, so that no layer below it names a command-line flag.
    """
    return template.format_map(_Fields(values, spell))


class NamesArguments(AcsaError):
    """An error whose message names arguments of the call, as the caller wrote them.

    ``str()`` names Python keywords (``python_names`` maps an argument to another
    spelling for Python callers, e.g. ``{"output_dir": "output.dir"}`` where a
    config key holds it); the CLI, whose options pass these arguments, prints
    :meth:`spelled` with its option names. ``template`` and ``values`` as in
    :func:`spell_template`. Raise one of the subclasses below.
    """

    def __init__(
        self,
        template: str,
        *,
        python_names: Mapping[str, str] | None = None,
        **values: object,
    ) -> None:
        self.template, self.values = template, values
        self.python_names = dict(python_names or {})
        super().__init__(self.spelled(self._keyword))

    def _keyword(self, name: str, value: str) -> str:
        return keyword(self.python_names.get(name, name), value)

    def spelled(self, spell: Speller) -> str:
        """The message with every argument written by ``spell``."""
        return spell_template(self.template, self.values, spell)

    def __reduce__(self) -> tuple[object, ...]:
        # the default would call the class with the message: rebuild from the parts instead
        return (_rebuild, (type(self), self.template, self.python_names, self.values))


def _rebuild(
    cls: type[NamesArguments], template: str, names: dict[str, str], values: dict[str, object]
) -> NamesArguments:
    return cls(template, python_names=names, **values)


class ArgumentError(NamesArguments, ConfigError):
    """An argument (a CLI option one layer up) has a bad value."""


class DataArgumentError(NamesArguments, DataError):
    """A data file cannot be read or written as asked; the fix names an argument."""


class CheckpointArgumentError(NamesArguments, CheckpointError):
    """A model folder cannot be read or written as asked; the fix names an argument."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, after saving what lets the run continue; the message says how (``resume=True``
    for a Python caller, :meth:`spelled` with the CLI's option names for its user).
    ``template`` and ``values`` as in :func:`spell_template`."""

    def __init__(self, template: str, **values: object) -> None:
        super().__init__(template)
        self.template, self.values = template, values

    def spelled(self, spell: Speller = keyword) -> str:
        """The message with every argument written by ``spell``."""
        return spell_template(self.template, self.values, spell)

    def __str__(self) -> str:
        return self.spelled()


def optional_import(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module``, or raise :class:`DependencyError` naming the extra that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise DependencyError(
            f"{purpose} needs the Python package {module!r}, which is not installed;"
            f' install it with: pip install "acsa[{extra}]"'
        ) from None


def first_line(exc: BaseException, limit: int | None = None) -> str:
    """The first line of the message of ``exc`` (libraries such as torch append a stack
    trace), cut to ``limit`` characters; the type name if the message is empty."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    if limit is not None and len(first) > limit:
        first = first[: limit - 3] + "..."
    return first


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line (whitespace runs collapsed; the type name if empty)."""
    return " ".join(str(exc).split()) or type(exc).__name__

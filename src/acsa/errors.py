"""The project's own error types.

Every error a user can cause (bad data, bad config, unreadable checkpoint) is
raised as an :class:`AcsaError` whose message is one line naming the place
(file, row, column or config key) and what to do. The CLI prints that line
and exits with code 2; anything else is a bug in acsa.
"""

from __future__ import annotations

from types import ModuleType


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
    """Ray could not be started or joined (a wrong ``--address``, a cluster that is down)."""


class DependencyError(AcsaError):
    """An optional dependency (a ``pip install "acsa[extra]"`` extra) is not installed."""


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

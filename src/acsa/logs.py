"""Logging helpers: which process may write, acsa's stderr handler, and repeated-message filtering.

acsa logs through the ``acsa`` logger hierarchy; :func:`setup_logging` gives
it one stderr handler printing ``LEVEL: message`` lines (the CLI calls it),
and :func:`warn_once` lets each distinct message through once while a block
runs (a comparison reads the same data in every run).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

LOGGER_NAME = "acsa"
_FORMAT = "%(levelname)s: %(message)s"


def process_rank() -> int:
    """This process's global rank under ``torchrun`` (0 when not distributed)."""
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    """True in the process that writes files and prints results (rank 0)."""
    return process_rank() == 0


class StderrHandler(logging.StreamHandler):
    """A handler that writes to whatever ``sys.stderr`` is at emit time.

    A plain ``StreamHandler(sys.stderr)`` keeps the stream it was created
    with; when acsa runs inside another program (tests, notebooks) that
    swaps ``sys.stderr``, later messages would go to a closed stream.
    """

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logging.Formatter(_FORMAT))

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def setup_logging(verbose: bool = False) -> None:
    """acsa's notices on stderr, one line each; library chatter kept down."""
    root = logging.getLogger(LOGGER_NAME)
    root.handlers[:] = [StderrHandler()]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    root.propagate = False
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class OnceFilter(logging.Filter):
    """Lets each distinct message through once."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message in self.seen:
            return False
        self.seen.add(message)
        return True


def attach_once_filter() -> Any:
    """Filter repeated ``acsa`` log messages from now on; returns the function that undoes it."""
    logger = logging.getLogger(LOGGER_NAME)
    added: logging.Handler | None = None
    propagate = logger.propagate
    if not logger.handlers:
        # without a handler, records reach logging's last-resort handler, which
        # takes no filters; this one prints the same one-line form as the CLI
        added = StderrHandler()
        logger.addHandler(added)
        logger.propagate = False
    handlers = list(logger.handlers)
    once = OnceFilter()
    for handler in handlers:
        handler.addFilter(once)

    def undo() -> None:
        for handler in handlers:
            handler.removeFilter(once)
        if added is not None:
            logger.removeHandler(added)
            logger.propagate = propagate

    return undo


@contextmanager
def warn_once() -> Iterator[None]:
    """Within the block, each distinct ``acsa`` log message is shown once."""
    undo = attach_once_filter()
    try:
        yield
    finally:
        undo()

"""The rich console the commands print through (rich is imported on first use)."""

from __future__ import annotations

from typing import Any

# the width of tables written to a file or a pipe (a terminal uses its own): wide enough
# that no number is cut to "0.88…", as rich's 80-column default for files does
FILE_WIDTH = 200


def console(stderr: bool = False) -> Any:
    """A ``rich.console.Console`` without syntax highlighting of numbers and paths.

    Not a terminal (a log file, a pipe): no width limit of 80 columns, tables at
    full width (``COLUMNS`` still wins when set).
    """
    import os
    import sys

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    is_terminal = hasattr(stream, "isatty") and stream.isatty()
    width = None if is_terminal or os.environ.get("COLUMNS") else FILE_WIDTH
    return Console(stderr=stderr, highlight=False, width=width)

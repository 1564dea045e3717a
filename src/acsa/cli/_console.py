"""The rich console the commands print through (rich is imported on first use)."""

from __future__ import annotations

from typing import Any


def console(stderr: bool = False) -> Any:
    """A ``rich.console.Console`` without syntax highlighting of numbers and paths."""
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)

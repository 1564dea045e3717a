"""acsa.errors helpers that turn library exceptions into one-line messages."""

from __future__ import annotations

from acsa.errors import first_line, one_line


def test_first_line_drops_an_appended_stack_and_cuts_long_lines() -> None:
    exc = ValueError("Overflow when unpacking long\nException raised from frame #0 ...")
    assert first_line(exc) == "Overflow when unpacking long"
    assert first_line(ValueError("x" * 300), limit=200) == "x" * 197 + "..."
    assert first_line(ValueError("x" * 200), limit=200) == "x" * 200
    assert first_line(KeyError()) == "KeyError"
    assert one_line(ValueError("a\n  b")) == "a b"

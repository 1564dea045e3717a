"""Label spellings: a cell or a label's polarity as written -> its canonical code.

``data.label_names``, ``data.label_aliases`` and ``data.missing_values`` are
matched case-sensitively after surrounding spaces are stripped; an unknown
spelling gets a hint (wrong case, a close spelling, or the alias to add).
"""

from __future__ import annotations

import difflib

from acsa.data.config import DataConfig
from acsa.data.label_space import NEGATIVE, NEUTRAL, NONE, POLARITIES, POSITIVE
from acsa.data.text_files import quote

POLARITY_CODE = {"negative": NEGATIVE, "neutral": NEUTRAL, "positive": POSITIVE}
CODE_NAME = {NONE: "none", NEGATIVE: "negative", NEUTRAL: "neutral", POSITIVE: "positive"}
MISSING = -1  # internal marker of an unknown label before it becomes mask=False


class LabelLookup:
    """Maps label spellings to canonical codes, with helpful errors for unknown ones."""

    def __init__(self, config: DataConfig) -> None:
        self.spellings = [config.label_names[p] for p in POLARITIES]
        table: dict[str, int] = {config.label_names[p]: POLARITY_CODE[p] for p in POLARITIES}
        for alias, target in config.label_aliases.items():
            if target in table:
                table[alias] = table[target]
            elif target in POLARITY_CODE:
                table[alias] = POLARITY_CODE[target]
            else:  # "none": the alias means "not mentioned"
                table[alias] = NONE
        for value in config.missing_values:
            table[value] = MISSING
        self.table = table

    def code(self, value: str) -> int | None:
        return self.table.get(value.strip())

    def unknown(self, value: str, allow_empty: bool, extra_hint: str = "") -> str:
        """The message tail for an unknown label ``value`` (``extra_hint`` ends it)."""
        value = value.strip()
        # unprintable spellings would garble the suggested YAML, so show them escaped
        shown = value if value.isprintable() else repr(value)
        expected = ", ".join(sorted(self.spellings)) + (" or empty" if allow_empty else "")
        folded = {s.casefold(): s for s in self.spellings}
        if value.casefold() in folded:
            target = folded[value.casefold()]
            return (
                f"label {quote(value)} has the wrong case (labels are case-sensitive; "
                f"expected one of {expected}); add it to data.label_aliases, "
                f"e.g. {{{shown}: {target}}}{extra_hint}"
            )
        close = difflib.get_close_matches(value, self.spellings, n=1, cutoff=0.6)
        hint = (
            f"add it to data.label_aliases, e.g. {{{shown}: {close[0]}}}"
            if close
            else "add it to data.label_aliases (e.g. {"
            + f"{shown}: {self.spellings[-1]}"
            + "}) or to data.missing_values if it means 'unknown'"
        )
        return f"unknown label {quote(value)} (expected one of {expected}); {hint}{extra_hint}"

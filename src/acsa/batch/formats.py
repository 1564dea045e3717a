"""File formats of batch prediction: which format a path is, and which column holds the text."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from acsa.errors import DataArgumentError

# read and written: txt (one review per line), JSON lines, CSV, Parquet
FORMATS = ("txt", "jsonl", "csv", "parquet")
SUFFIXES: dict[str, str] = {
    ".txt": "txt",
    ".text": "txt",
    ".jsonl": "jsonl",
    ".json": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
# the text column of a CSV or Parquet input when none is named, in this order
TEXT_COLUMNS = ("data", "text", "review")
# the text field of a JSON-lines input record
JSON_TEXT_FIELD = "text"


def _known() -> str:
    return ", ".join(sorted(SUFFIXES))


def check_format(fmt: str, option: str) -> str:
    """``fmt`` lower-cased, or a one-line error naming the argument ``option`` and the
    allowed formats."""
    value = fmt.strip().lower()
    if value not in FORMATS:
        raise DataArgumentError(
            "{" + option + "}: unknown format {got!r}; expected one of {allowed}",
            got=fmt,
            allowed=", ".join(FORMATS),
        )
    return value


def input_format(path: Path, given: str | None = None) -> str:
    """The format of an input file: ``given``, else from its suffix."""
    if given is not None:
        return check_format(given, "input_format")
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise DataArgumentError(
            "{path}: unknown input format {suffix!r}; expected a file ending in {known}, or "
            "name the format with {input_format}",
            path=path,
            suffix=path.suffix or "(no suffix)",
            known=_known(),
        )
    return fmt


def output_format(path: Path | None, given: str | None = None, as_json: bool = False) -> str:
    """The format to write: ``given``, else ``jsonl`` for ``as_json``, else the suffix.

    An output without a known suffix (or stdout) gets today's text lines.
    """
    if given is not None:
        fmt = check_format(given, "format")
        if as_json and fmt != "jsonl":
            raise DataArgumentError(
                "{as_json:True} writes JSON lines; it contradicts {format:{fmt}}", fmt=fmt
            )
        return fmt
    if as_json:
        return "jsonl"
    if path is None:
        return "txt"
    return SUFFIXES.get(path.suffix.lower(), "txt")


def choose_text_column(
    names: Sequence[str], wanted: str | None, where: str, preferred: Sequence[str] = ()
) -> str:
    """The text column among ``names``: ``wanted`` (exact, else any case), else the first
    of ``preferred`` (the model's text column) then data/text/review found (any case).

    A file with a single column uses it. ``where`` names the file in errors.
    """
    names = [str(n) for n in names]
    if wanted is not None:
        if wanted in names:
            return wanted
        folded = [n for n in names if n.strip().lower() == wanted.strip().lower()]
        if len(folded) == 1:
            return folded[0]
        raise DataArgumentError(
            "{where}: no column {wanted!r} ({text_column}); the columns are {names}",
            where=where,
            wanted=wanted,
            names=names[:12],
        )
    lowered = [n.strip().lower() for n in names]
    candidates = list(dict.fromkeys([*(p.strip().lower() for p in preferred), *TEXT_COLUMNS]))
    for candidate in candidates:
        if candidate in lowered:
            return names[lowered.index(candidate)]
    if len(names) == 1:
        return names[0]
    tried = ", ".join(repr(c) for c in candidates[:-1]) + f" or {candidates[-1]!r}"
    raise DataArgumentError(
        "{where}: no {tried} column among {names}; name the text column with {text_column}",
        where=where,
        tried=tried,
        names=names[:12],
    )

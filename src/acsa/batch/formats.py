"""File formats of batch prediction: which format a path is, and which column holds the text."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from acsa.errors import DataError

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
# the text column of a CSV or Parquet input when --text-column is not given, in this order
TEXT_COLUMNS = ("data", "text", "review")
# the text field of a JSON-lines input record
JSON_TEXT_FIELD = "text"


def _known() -> str:
    return ", ".join(sorted(SUFFIXES))


def check_format(fmt: str, option: str) -> str:
    """``fmt`` lower-cased, or a one-line error naming the allowed formats."""
    value = fmt.strip().lower()
    if value not in FORMATS:
        raise DataError(f"{option}: unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return value


def input_format(path: Path, given: str | None = None) -> str:
    """The format of an input file: ``given``, else from its suffix."""
    if given is not None:
        return check_format(given, "--input-format")
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise DataError(
            f"{path}: unknown input format {path.suffix or '(no suffix)'!r}; expected a file "
            f"ending in {_known()}, or name the format with --input-format"
        )
    return fmt


def output_format(path: Path | None, given: str | None = None, as_json: bool = False) -> str:
    """The format to write: ``--format``, else ``jsonl`` for ``--json``, else the suffix.

    An output without a known suffix (or stdout) gets today's text lines.
    """
    if given is not None:
        fmt = check_format(given, "--format")
        if as_json and fmt != "jsonl":
            raise DataError(f"--json writes JSON lines; it contradicts --format {fmt}")
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
        raise DataError(
            f"{where}: no column {wanted!r} (--text-column); the columns are {names[:12]}"
        )
    lowered = [n.strip().lower() for n in names]
    candidates = list(dict.fromkeys([*(p.strip().lower() for p in preferred), *TEXT_COLUMNS]))
    for candidate in candidates:
        if candidate in lowered:
            return names[lowered.index(candidate)]
    if len(names) == 1:
        return names[0]
    tried = ", ".join(repr(c) for c in candidates[:-1]) + f" or {candidates[-1]!r}"
    raise DataError(
        f"{where}: no {tried} column among {names[:12]}; name the text column with --text-column"
    )

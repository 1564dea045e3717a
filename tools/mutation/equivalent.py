"""The reviewed list of equivalent mutants (``equivalent_mutants.yaml`` beside this module).

A survivor whose key is listed cannot change behaviour; the file says why for
each. The key is :attr:`~tools.mutation.mutants.Mutant.key`: ``(module,
function, statement, original, mutated, occurrence)``.
"""

from __future__ import annotations

from pathlib import Path

import yaml

EQUIVALENT_FILE = Path(__file__).resolve().with_name("equivalent_mutants.yaml")
_FIELDS = ("module", "function", "statement", "original", "mutated")


def load_equivalent(path: Path = EQUIVALENT_FILE) -> dict[tuple[str, str, str, str, str, int], str]:
    """Key -> reason for every entry (one key per occurrence); a malformed entry is an error."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a list of entries")
    table: dict[tuple[str, str, str, str, str, int], str] = {}
    for number, entry in enumerate(entries, start=1):
        where = f"{path.name} entry {number}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where}: expected a mapping, got {type(entry).__name__}")
        unknown = set(entry) - {*_FIELDS, "occurrences", "reason"}
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
        for name in (*_FIELDS, "reason"):
            if not isinstance(entry.get(name), str) or not entry[name].strip():
                raise ValueError(f"{where}: {name!r} must be a non-empty string")
        occurrences = entry.get("occurrences", [0])
        if not isinstance(occurrences, list) or not all(
            isinstance(o, int) and o >= 0 for o in occurrences
        ):
            raise ValueError(f"{where}: 'occurrences' must be a list of whole numbers >= 0")
        for occurrence in occurrences:
            key = (*(entry[name] for name in _FIELDS), occurrence)
            if key in table:
                raise ValueError(f"{where}: listed twice: {key}")
            table[key] = entry["reason"]
    return table


EQUIVALENT = load_equivalent()

"""tools/mutation: mutants are valid one-node changes; the equivalence list is current and loads."""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mutation():
    # loaded under its own name: the tool is a package beside the tests, not inside them
    folder = ROOT / "tools" / "mutation"
    spec = importlib.util.spec_from_file_location(
        "acsa_mutation", folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["acsa_mutation"] = module
    spec.loader.exec_module(module)
    return module


def test_mutants_change_one_segment_and_compile(mutation) -> None:
    source = (mutation.PACKAGE / "evaluation" / "metrics.py").read_bytes()
    mutants = mutation.find_mutants("evaluation/metrics.py")
    assert len(mutants) > 100
    operators = {m.operator for m in mutants}
    assert {"flip comparison", "swap operator", "number + 1", "swap arguments"} <= operators
    assert {"remove raise", "negate condition", "swap and/or", "drop unary operator"} <= operators
    for m in mutants[::5]:  # every fifth: compiling all of them takes seconds
        new = mutation.mutated_source(m)
        assert new != source
        ast.parse(new)
        # everything before the mutated segment is byte for byte the original
        lines = source.splitlines(keepends=True)
        prefix = b"".join(lines[: m.start[0] - 1]) + lines[m.start[0] - 1][: m.start[1]]
        assert new.startswith(prefix)


def test_docstrings_messages_and_logging_are_left_alone(mutation) -> None:
    for m in (m for module in mutation.READER_MODULES for m in mutation.find_mutants(module)):
        # no string constant is ever the mutated node (a swap may move one, a flip may hold one)
        assert not (m.operator == "number + 1" and m.original.startswith(('"', "'"))), m
        assert not m.original.startswith(("logger.", "warnings.")), m.describe()
        assert '"""' not in m.original, m.describe()


def test_every_equivalence_names_a_current_mutant(mutation) -> None:
    # a justification must not outlive the code it justifies
    keys = {m.key for m in mutation.iter_mutants("target")}
    stale = [key for key in mutation.EQUIVALENT if key not in keys]
    assert not stale, stale


def test_a_saved_run_is_rerendered_with_todays_equivalences(
    mutation, tmp_path, capsys, monkeypatch
) -> None:
    import dataclasses
    import json

    mutants = mutation.find_mutants("evaluation/metrics.py")
    justified = next(m for m in mutants if m.key in mutation.EQUIVALENT)
    other = next(m for m in mutants if m.key not in mutation.EQUIVALENT)
    justified.status, other.status = "survived", "killed"
    saved = tmp_path / "run.json"
    meta = {"date": "d", "minutes": 1.0, "mutants": 2, "sampling": "s", "python": "3"}
    records = [dataclasses.asdict(m) for m in (justified, other)]
    saved.write_text(json.dumps({"meta": meta, "mutants": records}), encoding="utf-8")
    doc = tmp_path / "RELIABILITY.md"
    doc.write_text("# Reliability\n", encoding="utf-8")
    monkeypatch.setattr(mutation.settings, "DOC", doc)
    mutation.main(["--from-json", str(saved), "--write-docs"])
    text = doc.read_text(encoding="utf-8")
    assert "| `evaluation/metrics.py` | 2 | 1 | 0 | 0 | 1 | 100.0% |" in text
    assert mutation.EQUIVALENT[justified.key] in text
    assert "SURVIVED" not in capsys.readouterr().out


def test_a_default_names_its_owner_and_the_owners_subclasses(mutation) -> None:
    owners: dict[str, set[str]] = {}
    for m in mutation.find_mutants("losses/focal.py"):
        owners.setdefault(m.function, set()).add(m.default_of)
    # defaults name their owner; mutants in the body name nothing
    assert owners["sigmoid_focal_loss"] == {"sigmoid_focal_loss", ""}
    assert owners["_FocalModule.__init__"] == {
        "_FocalModule|SigmoidFocalLoss|SoftmaxFocalLoss",
        "",
    }


def test_the_equivalence_file_loads_and_every_entry_has_a_reason(mutation) -> None:
    import yaml

    entries = yaml.safe_load(mutation.EQUIVALENT_FILE.read_text(encoding="utf-8"))
    assert len(entries) > 30
    for entry in entries:
        assert isinstance(entry["reason"], str) and len(entry["reason"].split()) >= 5, entry
        assert (mutation.PACKAGE / entry["module"]).is_file(), entry["module"]
    occurrences = sum(len(e.get("occurrences", [0])) for e in entries)
    assert len(mutation.load_equivalent()) == occurrences == len(mutation.EQUIVALENT)


def test_a_malformed_equivalence_entry_is_refused(mutation, tmp_path) -> None:
    bad = tmp_path / "eq.yaml"
    entry = {"module": "m.py", "function": "f", "statement": "s", "original": "1"}
    bad.write_text(json.dumps([{**entry, "mutated": "2"}]), encoding="utf-8")
    with pytest.raises(ValueError, match="'reason' must be a non-empty string"):
        mutation.load_equivalent(bad)
    bad.write_text(
        json.dumps([{**entry, "mutated": "2", "reason": "r", "occurrences": [-1]}]),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="occurrences"):
        mutation.load_equivalent(bad)

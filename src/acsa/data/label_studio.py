"""Read a Label Studio JSON export as labelled reviews (``data.format: label_studio``).

The export is a JSON array of tasks (Label Studio's "JSON" export)::

    [{"id": 7, "data": {"text": "Pin tốt", "acsa_row": 12},
      "annotations": [{"was_cancelled": false, "updated_at": "...",
                       "result": [{"from_name": "Battery", "to_name": "text",
                                   "type": "choices", "value": {"choices": ["Positive"]}}]}]}]

The review text is ``data[data.text_key]``. Each aspect is one ``choices``
control named after the aspect (``from_name``), as in the labelling config
``acsa analyze --label-studio`` writes. A choice is a label spelling of
``data.label_names`` (or an alias, or a ``data.missing_values`` entry),
``Not mentioned`` (none) or ``Unknown`` (label unknown). An aspect without a
choice in the annotation is not mentioned. The latest annotation that was not
cancelled counts (by ``updated_at``, else the last in the list); a task
without one is an error, as is an unknown aspect or choice: one line naming
the file, the task (position and id) and what to do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from acsa.data.config import DataConfig
from acsa.data.label_space import NONE
from acsa.data.label_spellings import MISSING, LabelLookup
from acsa.data.reviews import LabeledReviews, check_text, reviews_from_codes
from acsa.data.text_files import fail, file_place, parse_json, quote

NOT_MENTIONED = "Not mentioned"
UNKNOWN = "Unknown"


def _tasks(path: Path, text: str) -> list[Any]:
    fix = "export the project again from Label Studio (Export -> JSON)"
    tasks = parse_json(text, file_place(path), fix)
    if not isinstance(tasks, list):
        raise fail(
            f"{path}: expected a JSON array of tasks (Label Studio's JSON export), got "
            f"{type(tasks).__name__}; export the project with Export -> JSON"
        )
    return tasks


def _annotation(task: dict, place: str) -> dict:
    annotations = task.get("annotations")
    if not isinstance(annotations, list):
        raise fail(
            f"{place}: missing field 'annotations'; export with Label Studio's JSON export, "
            "which includes the annotations"
        )
    valid = [a for a in annotations if isinstance(a, dict) and not a.get("was_cancelled")]
    if not valid:
        raise fail(
            f"{place}: the task has no annotation (or only cancelled ones); annotate it in "
            "Label Studio or delete the task before exporting"
        )
    if all(isinstance(a.get("updated_at"), str) for a in valid):
        valid.sort(key=lambda a: a["updated_at"])
    return valid[-1]


def _task_place(path: Path, index: int, task: Any) -> str:
    tid = task.get("id") if isinstance(task, dict) else None
    return f"{path} task {index}" + (f" (id {tid})" if tid is not None else "")


def _parse(path: Path, text: str, config: DataConfig) -> tuple[list, list[str]]:
    """Per task ``(index, text, place, {aspect as written: (code, choice)})`` and the aspects."""
    lookup = LabelLookup(config)
    key = config.text_key
    parsed = []
    names: dict[str, str] = {}
    for index, task in enumerate(_tasks(path, text), start=1):
        place = _task_place(path, index, task)
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise fail(
                f"{place}: missing field 'data' (a task is an object with 'data' and "
                "'annotations'); export the project again with Export -> JSON"
            )
        if key not in task["data"]:
            raise fail(
                f"{place}: missing field data.{key} (fields: {sorted(task['data'])[:10]}); "
                "set data.text_key to the field holding the review text"
            )
        review = check_text(task["data"][key], f"{place}, field data.{key}", config)
        cells: dict[str, tuple[int, str]] = {}  # casefolded aspect -> (code, as written)
        for r, result in enumerate(_annotation(task, place).get("result") or [], start=1):
            if not isinstance(result, dict) or result.get("type") != "choices":
                continue  # other controls (text areas, ratings) carry no aspect label
            aspect = result.get("from_name")
            choices = (result.get("value") or {}).get("choices")
            if not isinstance(aspect, str) or not isinstance(choices, list) or len(choices) != 1:
                raise fail(
                    f"{place}, result {r}: expected one choice per aspect control "
                    "(from_name and value.choices with one entry), got "
                    f"{quote(json.dumps(result, ensure_ascii=False), 80)}; "
                    'use single-choice controls (choice="single")'
                )
            choice = str(choices[0])
            if choice == NOT_MENTIONED:
                code = NONE
            elif choice == UNKNOWN:
                code = MISSING
            else:
                code = lookup.code(choice)
                if code is None:
                    raise fail(
                        f"{place}, aspect {aspect!r}: unknown choice {quote(choice)} (expected "
                        f"{NOT_MENTIONED!r}, {UNKNOWN!r} or a label of data.label_names); "
                        + lookup.unknown(choice, allow_empty=False).split("; ", 1)[-1]
                    )
            names.setdefault(aspect.strip().casefold(), aspect.strip())
            cells[aspect.strip().casefold()] = (code, aspect.strip())
        parsed.append((index, review, place, cells))
    return parsed, sorted(names.values(), key=lambda n: (n.casefold(), n))


def label_studio_aspects(path: Path, text: str, config: DataConfig) -> tuple[str, ...]:
    """The aspects the export's annotations name, sorted ignoring case."""
    return tuple(_parse(path, text, config.model_copy(update={"aspects": None}))[1])


def read_label_studio(path: Path, text: str, config: DataConfig) -> LabeledReviews:
    """The reviews of a Label Studio JSON export (``rows`` are task positions, 1-based)."""
    parsed, found = _parse(path, text, config)
    aspects = list(config.aspects) if config.aspects is not None else found
    if not aspects:
        raise fail(
            f"{path}: no annotation chooses a label, so the aspects cannot be taken from it; "
            "list them in data.aspects"
        )
    index = {a.casefold(): i for i, a in enumerate(aspects)}
    texts, codes, rows = [], [], []
    for task_index, review, place, cells in parsed:
        row_codes = [NONE] * len(aspects)
        for key, (code, written) in cells.items():
            if key not in index:
                raise fail(
                    f"{place}: unknown aspect control {written!r} (expected one of "
                    f"{', '.join(aspects)}); add it to data.aspects or rename the control"
                )
            row_codes[index[key]] = code
        texts.append(review)
        codes.append(row_codes)
        rows.append(task_index)
    return reviews_from_codes(path, aspects, texts, codes, rows, [])

"""A Label Studio import file and labelling config for reviewing the flagged cells.

``tasks.json`` is a JSON array of Label Studio tasks, one per review, the
reviews with flagged cells first (most suspicious first), then the others::

    {"data": {"text": "...", "acsa_row": 12,
              "acsa_flagged": "Battery: positive -> negative (0.03)"},
     "annotations": [{"result": [... given labels, one choice per aspect ...]}],
     "predictions": [{"model_version": "acsa-analyze", "score": 0.03,
                      "result": [... given labels, suggestions in the flagged cells ...]}]}

The given labels come pre-filled as an annotation and the suggestions as a
prediction, so a reviewer filters the tasks on ``acsa_flagged`` and edits only
those; the JSON export of the whole project then reads back as the full
training file (``data.format: label_studio``). ``label_config.xml`` is the
labelling interface: the text and one single-choice control per aspect
(``Not mentioned``, the polarities as spelt in ``data.label_names``, ``Unknown``).
The task format is Label Studio's documented import format (tasks with
``data``, ``annotations`` and ``predictions``; results with ``from_name``,
``to_name``, ``type`` and ``value``).
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from acsa.analysis.issues import CellIssues
from acsa.data.config import DataConfig
from acsa.data.label_space import CANONICAL_CLASSES, NONE, POLARITIES
from acsa.data.label_studio import NOT_MENTIONED, UNKNOWN
from acsa.data.reviews import LabeledReviews
from acsa.files import atomic_write

TASKS_FILE = "label_studio_tasks.json"
CONFIG_FILE = "label_studio_config.xml"
TEXT_FIELD = "text"
MODEL_VERSION = "acsa-analyze"


def _choice(code: int, known: bool, config: DataConfig) -> str:
    if not known:
        return UNKNOWN
    return NOT_MENTIONED if code == NONE else config.label_names[POLARITIES[code - 1]]


def _result(aspects: tuple[str, ...], choices: list[str]) -> list[dict]:
    return [
        {
            "from_name": aspect,
            "to_name": TEXT_FIELD,
            "type": "choices",
            "value": {"choices": [choice]},
        }
        for aspect, choice in zip(aspects, choices, strict=True)
    ]


def labelling_config(aspects: tuple[str, ...], config: DataConfig) -> str:
    """The Label Studio labelling interface (XML) for these aspects."""
    options = [NOT_MENTIONED] + [config.label_names[p] for p in POLARITIES] + [UNKNOWN]
    lines = [
        "<View>",
        f"  <Text name={quoteattr(TEXT_FIELD)} value={quoteattr('$' + TEXT_FIELD)}/>",
        f'  <Header value={quoteattr("Flagged: $acsa_flagged")} size="6"/>',
    ]
    for aspect in aspects:
        lines.append(f'  <Header value={quoteattr(aspect)} size="5"/>')
        lines.append(
            f"  <Choices name={quoteattr(aspect)} toName={quoteattr(TEXT_FIELD)} "
            'choice="single" showInline="true" required="true">'
        )
        lines += [f"    <Choice value={quoteattr(o)}/>" for o in options]
        lines.append("  </Choices>")
    lines.append("</View>")
    return "\n".join(lines) + "\n"


def build_tasks(reviews: LabeledReviews, issues: CellIssues, config: DataConfig) -> list[dict]:
    """One task per review, the reviews with flagged cells first (lowest score first)."""
    flagged_rows = []
    for n, _ in issues.ranked_cells():
        if n not in flagged_rows:
            flagged_rows.append(n)
    rest = [n for n in range(len(reviews)) if not issues.flagged[n].any()]
    tasks = []
    for n in flagged_rows + rest:
        given = [
            _choice(int(reviews.labels[n, a]), bool(reviews.mask[n, a]), config)
            for a in range(len(reviews.aspects))
        ]
        notes = []
        proposed = list(given)
        for a in np.flatnonzero(issues.flagged[n]):
            proposed[a] = _choice(int(issues.suggested[n, a]), True, config)
            notes.append(
                f"{reviews.aspects[a]}: {CANONICAL_CLASSES[reviews.labels[n, a]]} -> "
                f"{CANONICAL_CLASSES[issues.suggested[n, a]]} ({issues.score[n, a]:.2f})"
            )
        task = {
            "data": {
                TEXT_FIELD: reviews.texts[n],
                "acsa_row": reviews.rows[n],
                "acsa_flagged": "; ".join(notes),
            },
            "annotations": [{"result": _result(reviews.aspects, given)}],
        }
        if notes:
            known = issues.score[n][~np.isnan(issues.score[n])]
            task["predictions"] = [
                {
                    "model_version": MODEL_VERSION,
                    "score": round(float(known.min()), 6) if known.size else 0.0,
                    "result": _result(reviews.aspects, proposed),
                }
            ]
        tasks.append(task)
    return tasks


def write_label_studio(
    reviews: LabeledReviews, issues: CellIssues, config: DataConfig, out: Path
) -> tuple[Path, Path]:
    """Write ``label_studio_tasks.json`` and ``label_studio_config.xml`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    tasks = json.dumps(build_tasks(reviews, issues, config), ensure_ascii=False, indent=1)
    xml = labelling_config(reviews.aspects, config)
    atomic_write(out / TASKS_FILE, lambda tmp: tmp.write_text(tasks + "\n", encoding="utf-8"))
    atomic_write(out / CONFIG_FILE, lambda tmp: tmp.write_text(xml, encoding="utf-8"))
    return out / TASKS_FILE, out / CONFIG_FILE

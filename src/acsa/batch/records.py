"""One predicted chunk, and its bytes in each output format.

Layouts:

* ``txt``: today's ``acsa predict`` lines, ``text<TAB>Battery: positive; Price: negative``
  (the text on one line, cut at 60 characters; ``(no aspect mentioned)``).
* ``jsonl``: today's ``--json`` record ``{"text", "aspects", "confidence"}``
  (:meth:`acsa.api.Prediction.to_record`); with ``probabilities`` also every
  aspect's four class probabilities, as ``acsa serve`` answers
  (:meth:`acsa.api.Prediction.to_payload`).
* ``csv`` and ``parquet``: the layout of ``predictions.csv``
  (:func:`acsa.evaluation.report.predictions_frame`): ``data`` (the text), one
  column per aspect holding ``Positive``, ``Negative``, ``Neutral`` or an empty
  cell (not mentioned), as in the input wide CSV, then
  ``prob_<aspect>_<class>`` for the four classes, rounded to 4 decimals. A CSV
  is UTF-8 with a BOM (so Excel shows Vietnamese), ``\\n`` line ends, the
  header once.

With ``--explain`` each review also carries the evidence of its mentioned
aspects, ``{aspect: {label, method, target, total, tokens: [{start, end, text,
contribution}]}}`` (the ``top_k`` strongest tokens, :meth:`acsa.explain.Explanation.to_payload`):
the ``explanations`` key of a JSON record, an ``explanations`` column holding
that object as JSON text in CSV and Parquet (one row per review, as without
it; ``json.loads`` reads it back), and ``[+0.52 "word", ...]`` after each
aspect in text lines, whose review is then shown whole.

A blank review is marked: ``"empty": true`` in JSON lines, an ``empty`` column
(after ``data``) in CSV and Parquet, ``(empty review)`` in text lines; its
aspects are all "not mentioned". The input columns kept (``--keep-columns``)
come first: before ``data`` in a table, as the first keys of a JSON record.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from acsa.data.label_space import CANONICAL_CLASSES

UTF8_BOM = "\ufeff".encode()
TEXT_CHARS = 60  # characters of the review in front of a txt line, as before


@dataclass(frozen=True, eq=False)
class PredictedChunk:
    """Consecutive reviews and their predictions.

    Attributes:
        texts: the ``n`` reviews, input order.
        labels: ``[n, A]`` canonical labels under the model's decision rule.
        probabilities: ``[n, A, 4]`` canonical-order class probabilities.
        aspects: the ``A`` aspect names.
        keep: the names of the input columns carried through.
        kept: ``n`` tuples of their values, one per review.
        explanations: with ``--explain``, per review ``{aspect: evidence}`` as
            :meth:`acsa.explain.AspectEvidence.to_dict` gives it; else None.
    """

    texts: list[str]
    labels: np.ndarray
    probabilities: np.ndarray
    aspects: tuple[str, ...]
    keep: tuple[str, ...] = ()
    kept: list[tuple[Any, ...]] = field(default_factory=list)
    explanations: list[dict[str, Any]] | None = None

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def empty(self) -> list[bool]:
        """Which reviews are blank (predicted as mentioning no aspect)."""
        from acsa.api import is_blank

        return [is_blank(t) for t in self.texts]

    def kept_columns(self) -> dict[str, list[Any]]:
        """The kept input columns, name -> the ``n`` values."""
        rows = self.kept or [() for _ in self.texts]
        return {name: [row[j] for row in rows] for j, name in enumerate(self.keep)}


def empty_chunk(
    aspects: tuple[str, ...], keep: tuple[str, ...] = (), explain: bool = False
) -> PredictedChunk:
    """A chunk without reviews (what an empty input writes: a CSV header, a Parquet schema)."""
    return PredictedChunk(
        [],
        np.zeros((0, len(aspects)), dtype=np.int64),
        np.zeros((0, len(aspects), 4), dtype=np.float32),
        tuple(aspects),
        tuple(keep),
        explanations=[] if explain else None,
    )


EXPLANATIONS = "explanations"  # the evidence's key and column (--explain)


def table_columns(aspects: Sequence[str]) -> list[str]:
    """The columns a CSV or Parquet output writes besides the kept ones."""
    probs = [f"prob_{a}_{c}" for a in aspects for c in CANONICAL_CLASSES]
    return ["data", "empty", *map(str, aspects), *probs, EXPLANATIONS]


JSON_KEYS = ("text", "aspects", "confidence", "empty", "probabilities", EXPLANATIONS)


def explanation_line(text: str, evidence: dict[str, Any]) -> str:
    """``review<TAB>Aspect: label [+1.23 "word", -0.40 "other"]; ...`` from the evidence's
    dicts (no aspect: a note); the review on one line, whole."""
    parts = []
    for aspect, entry in evidence.items():
        tokens = ", ".join(f'{t["contribution"]:+.2f} "{t["text"]}"' for t in entry["tokens"])
        parts.append(f"{aspect}: {entry['label']} [{tokens}]")
    review = " ".join(text.split())
    return f"{review}\t{'; '.join(parts) if parts else '(no aspect mentioned)'}"


def _predictions(chunk: PredictedChunk) -> list[Any]:
    from acsa.api import Prediction

    return [
        Prediction(text, chunk.labels[i], chunk.probabilities[i], chunk.aspects)
        for i, text in enumerate(chunk.texts)
    ]


def columns(chunk: PredictedChunk) -> dict[str, list[Any]]:
    """The chunk in the tabular layout: column name -> values (kept columns first)."""
    from acsa.evaluation.report import prediction_columns

    predicted = prediction_columns(
        chunk.texts, chunk.labels, chunk.aspects, probabilities=chunk.probabilities
    )
    table = {**chunk.kept_columns(), "data": predicted.pop("data"), "empty": chunk.empty}
    table.update(predicted)
    if chunk.explanations is not None:
        table[EXPLANATIONS] = [json.dumps(e, ensure_ascii=False) for e in chunk.explanations]
    return table


def frame(chunk: PredictedChunk) -> Any:
    """The chunk as the tabular layout's DataFrame."""
    import pandas as pd

    return pd.DataFrame(columns(chunk))


def _csv_cell(value: Any) -> Any:
    # what pandas writes for a missing value: an empty cell
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return value


def _csv_text(chunk: PredictedChunk, header: bool) -> str:
    """The chunk as CSV text (the csv module: no pandas import on ``acsa predict``'s path)."""
    table = columns(chunk)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(table)
    writer.writerows([_csv_cell(v) for v in row] for row in zip(*table.values(), strict=True))
    return out.getvalue()


def encode(chunk: PredictedChunk, fmt: str, *, first: bool, probabilities: bool) -> bytes:
    """The bytes of ``chunk`` in a line format (``txt``, ``jsonl``, ``csv``).

    Args:
        first: the output's first chunk (a CSV's BOM and header come with it).
        probabilities: JSON lines also carry every class probability.
    """
    if fmt == "txt" and chunk.explanations is not None:
        lines = [
            explanation_line(t, e) for t, e in zip(chunk.texts, chunk.explanations, strict=True)
        ]
        return "".join(line + "\n" for line in lines).encode("utf-8")
    if fmt == "txt":
        from acsa.evaluation.report import format_prediction_line

        lines = [
            f"{text}\t(empty review)"
            if blank
            else format_prediction_line(
                text, chunk.labels[i], chunk.aspects, max_text_chars=TEXT_CHARS
            )
            for i, (text, blank) in enumerate(zip(chunk.texts, chunk.empty, strict=True))
        ]
        return "".join(line + "\n" for line in lines).encode("utf-8")
    if fmt == "jsonl":
        records = [p.to_payload() if probabilities else p.to_record() for p in _predictions(chunk)]
        if chunk.explanations is not None:
            for record, evidence in zip(records, chunk.explanations, strict=True):
                record[EXPLANATIONS] = evidence
        kept = chunk.kept_columns()
        if kept:
            records = [{**{k: v[i] for k, v in kept.items()}, **r} for i, r in enumerate(records)]
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    if fmt == "csv":
        text = _csv_text(chunk, header=first)
        return (UTF8_BOM if first else b"") + text.encode("utf-8")
    raise ValueError(f"not a line format: {fmt!r}")


def arrow_schema(
    aspects: Sequence[str], keep_types: dict[str, Any] | None = None, explain: bool = False
) -> Any:
    """The Parquet output's schema: the kept columns (their own types), text and aspects
    as strings, ``empty`` as a bool, probabilities as doubles (``explain``: then the
    evidence as JSON text)."""
    import pyarrow as pa

    fields = [pa.field(name, kind) for name, kind in (keep_types or {}).items()]
    fields += [pa.field("data", pa.string()), pa.field("empty", pa.bool_())]
    fields += [pa.field(str(a), pa.string()) for a in aspects]
    fields += [pa.field(f"prob_{a}_{c}", pa.float64()) for a in aspects for c in CANONICAL_CLASSES]
    if explain:
        fields.append(pa.field(EXPLANATIONS, pa.string()))
    return pa.schema(fields)


def arrow_table(chunk: PredictedChunk, keep_types: dict[str, Any] | None = None) -> Any:
    """The chunk as a ``pyarrow.Table`` of :func:`arrow_schema`."""
    import pyarrow as pa

    if keep_types is None:
        keep_types = {name: pa.string() for name in chunk.keep}
    explain = chunk.explanations is not None
    schema = arrow_schema(chunk.aspects, keep_types, explain)
    if chunk.keep:  # kept values as they came (dates, numbers): no trip through pandas
        base = pa.Table.from_pandas(
            frame(_without_kept(chunk)),
            schema=arrow_schema(chunk.aspects, explain=explain),
            preserve_index=False,
        )
        kept = chunk.kept_columns()
        arrays = [pa.array(kept[f.name], f.type) for f in schema if f.name in kept]
        table = pa.Table.from_arrays([*arrays, *base.columns], schema=schema)
    else:
        table = pa.Table.from_pandas(frame(chunk), schema=schema, preserve_index=False)
    return table.replace_schema_metadata(None)  # no pandas metadata: every part has one schema


def _without_kept(chunk: PredictedChunk) -> PredictedChunk:
    return PredictedChunk(
        chunk.texts,
        chunk.labels,
        chunk.probabilities,
        chunk.aspects,
        explanations=chunk.explanations,
    )

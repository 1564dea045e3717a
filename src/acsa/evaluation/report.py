"""Reports of an evaluation: metrics.json, predictions.csv, console tables, plots.

``predictions.csv`` has the same wide shape as the input data (text column
``data`` plus one column per aspect holding ``Positive``, ``Negative``,
``Neutral`` or an empty cell), so it opens in a spreadsheet next to the
data it was predicted from and can be read back by the wide-CSV reader.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.table import Table

from acsa.data.label_space import CANONICAL_CLASSES, CELL_NAMES
from acsa.files import atomic_write, write_json

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "format_metrics_table",
    "format_prediction_line",
    "prediction_record",
    "prediction_columns",
    "predictions_frame",
    "write_metrics_json",
    "write_predictions_csv",
    "write_report",
]

MISSING_GOLD = "unknown"


def write_metrics_json(path: str | Path, metrics: Mapping[str, Any]) -> Path:
    """Write ``metrics`` as indented UTF-8 JSON, atomically; returns the path."""
    # NaN is not valid JSON; failing here beats a file other tools cannot parse
    return write_json(path, dict(metrics), allow_nan=False)


def _label_column(values: np.ndarray, names: Mapping[int, str], what: str) -> list[str]:
    out = []
    for v in values.tolist():
        if v not in names:
            raise ValueError(f"{what}: label {v!r} is not a canonical label 0..3")
        out.append(names[v])
    return out


def predictions_frame(
    texts: Sequence[str],
    pred_canonical: np.ndarray,
    aspects: Sequence[str],
    gold: np.ndarray | None = None,
    probabilities: np.ndarray | None = None,
    *,
    gold_mask: np.ndarray | None = None,
    label_names: Mapping[int, str] | None = None,
    class_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """:func:`prediction_columns` (the same arguments) as a pandas DataFrame."""
    import pandas as pd

    columns = prediction_columns(
        texts,
        pred_canonical,
        aspects,
        gold,
        probabilities,
        gold_mask=gold_mask,
        label_names=label_names,
        class_names=class_names,
    )
    return pd.DataFrame(columns)


def prediction_columns(
    texts: Sequence[str],
    pred_canonical: np.ndarray,
    aspects: Sequence[str],
    gold: np.ndarray | None = None,
    probabilities: np.ndarray | None = None,
    *,
    gold_mask: np.ndarray | None = None,
    label_names: Mapping[int, str] | None = None,
    class_names: Sequence[str] | None = None,
) -> dict[str, list[Any]]:
    """Predictions in the wide layout of the input data: column name -> values.

    The columns of ``predictions.csv`` (:func:`write_predictions_csv`) and of
    ``acsa predict``'s CSV and Parquet outputs: ``data`` (the text), one column
    per aspect, then ``gold_<aspect>`` and ``prob_<aspect>_<class>`` when given.

    Args:
        texts: the ``N`` review texts (column ``data``).
        pred_canonical: predicted canonical labels ``[N, A]``; one column per aspect.
        aspects: the ``A`` aspect names (column headers).
        gold: optional gold canonical labels ``[N, A]``, written as ``gold_<aspect>``.
        probabilities: optional ``[N, A, C]`` class probabilities, written as
            ``prob_<aspect>_<class>`` rounded to 4 decimals.
        gold_mask: optional boolean ``[N, A]``; gold cells where it is
            ``False`` are written as ``unknown`` rather than read as ``none``.
        label_names: canonical index -> cell text; default empty / ``Negative``
            / ``Neutral`` / ``Positive``.
        class_names: names of the ``C`` probability classes; default the
            canonical ``none, negative, neutral, positive`` (needs ``C == 4``).
    """
    names = dict(CELL_NAMES if label_names is None else label_names)
    pred = np.asarray(pred_canonical)
    aspects = [str(a) for a in aspects]
    n = len(texts)
    if pred.shape != (n, len(aspects)):
        raise ValueError(
            f"pred_canonical must have shape ({n}, {len(aspects)}) for {n} texts and "
            f"{len(aspects)} aspects, got {pred.shape}"
        )
    columns: dict[str, list[Any]] = {"data": list(texts)}
    for j, a in enumerate(aspects):
        columns[a] = _label_column(pred[:, j], names, f"prediction for {a}")
    if gold is not None:
        gold = np.asarray(gold)
        if gold.shape != pred.shape:
            raise ValueError(f"gold must have shape {pred.shape}, got {gold.shape}")
        valid = np.ones(gold.shape, bool) if gold_mask is None else np.asarray(gold_mask, bool)
        for j, a in enumerate(aspects):
            cells = [MISSING_GOLD] * n
            ok = valid[:, j]
            known = _label_column(gold[ok, j], names, f"gold for {a}")
            for i, text in zip(np.flatnonzero(ok).tolist(), known, strict=True):
                cells[i] = text
            columns[f"gold_{a}"] = cells
    if probabilities is not None:
        probs = np.asarray(probabilities, dtype=np.float64)
        cls = list(CANONICAL_CLASSES if class_names is None else class_names)
        if probs.shape != (n, len(aspects), len(cls)):
            raise ValueError(
                f"probabilities must have shape ({n}, {len(aspects)}, {len(cls)}), "
                f"got {probs.shape}"
            )
        for j, a in enumerate(aspects):
            for k, c in enumerate(cls):
                columns[f"prob_{a}_{c}"] = np.round(probs[:, j, k], 4).tolist()
    return columns


def write_predictions_csv(path: str | Path, *columns: Any, **options: Any) -> Path:
    """Write predictions in the wide CSV format (UTF-8 with BOM, so Excel shows Vietnamese).

    ``path`` is the output file; ``columns`` and ``options`` go to
    :func:`predictions_frame` as they are (its arguments, its columns).
    """
    frame = predictions_frame(*columns, **options)

    def write(tmp: Path) -> None:
        frame.to_csv(tmp, index=False, encoding="utf-8-sig", lineterminator="\n")

    return atomic_write(Path(path), write)


def _mentions(pred_row: Sequence[int] | np.ndarray, aspects: Sequence[str]) -> dict[str, str]:
    row = np.asarray(pred_row).reshape(-1)
    if row.shape[0] != len(aspects):
        raise ValueError(f"prediction row has {row.shape[0]} labels for {len(aspects)} aspects")
    out: dict[str, str] = {}
    for a, v in zip(aspects, row.tolist(), strict=True):
        if not 0 <= v <= 3:
            raise ValueError(f"label {v!r} for aspect {a} is not a canonical label 0..3")
        if v != 0:
            out[str(a)] = CANONICAL_CLASSES[v]
    return out


def format_prediction_line(
    text: str,
    pred_row: Sequence[int] | np.ndarray,
    aspects: Sequence[str],
    *,
    max_text_chars: int | None = 0,
) -> str:
    """One line for ``acsa predict``: ``Battery: positive; Price: negative``.

    A review that mentions no aspect gives ``(no aspect mentioned)``. With
    ``max_text_chars`` > 0 (or ``None`` for all of it) the review text, on one
    line, is put in front, separated by a tab.
    """
    mentions = _mentions(pred_row, aspects)
    labels = (
        "; ".join(f"{a}: {s}" for a, s in mentions.items()) if mentions else "(no aspect mentioned)"
    )
    if max_text_chars == 0:
        return labels
    flat = " ".join(str(text).split())
    if max_text_chars is not None and len(flat) > max_text_chars:
        flat = flat[: max(max_text_chars - 3, 0)] + "..."
    return f"{flat}\t{labels}"


def prediction_record(
    text: str,
    pred_row: Sequence[int] | np.ndarray,
    aspects: Sequence[str],
    probabilities: np.ndarray | None = None,
) -> dict[str, Any]:
    """One JSON-lines record for ``acsa predict --json``.

    ``{"text": ..., "aspects": {"Battery": "positive", ...}}`` listing the
    mentioned aspects only; with ``probabilities`` (``[A, 4]``, canonical
    order) also ``"confidence": {aspect: probability of the predicted label}``
    for those aspects.
    """
    mentions = _mentions(pred_row, aspects)
    record: dict[str, Any] = {"text": text, "aspects": mentions}
    if probabilities is not None:
        probs = np.asarray(probabilities, dtype=np.float64)
        if probs.shape != (len(aspects), len(CANONICAL_CLASSES)):
            raise ValueError(
                f"probabilities must have shape ({len(aspects)}, 4), got {probs.shape}"
            )
        index = {str(a): j for j, a in enumerate(aspects)}
        record["confidence"] = {
            a: round(float(probs[index[a], CANONICAL_CLASSES.index(s)]), 4)
            for a, s in mentions.items()
        }
    return record


def format_metrics_table(metrics: Mapping[str, Any], title: str | None = "Test metrics") -> Table:
    """A rich table: one row per aspect, then the overall row; P/R/F1 for detection and pairs."""
    table = Table(title=title)
    table.add_column("aspect")
    table.add_column("gold mentions", justify="right")
    for head in ("aspect P", "aspect R", "aspect F1", "pair P", "pair R", "pair F1", "sent. mF1"):
        table.add_column(head, justify="right")

    def cells(m: Mapping[str, Any]) -> list[str]:
        keys = (
            "aspect_precision",
            "aspect_recall",
            "aspect_f1",
            "pair_precision",
            "pair_recall",
            "pair_f1",
            "sentiment_macro_f1",
        )
        return [f"{float(m.get(k, 0.0)):.4f}" for k in keys]

    per_aspect: Mapping[str, Mapping[str, Any]] = metrics.get("per_aspect", {})
    for name, m in per_aspect.items():
        table.add_row(name, str(m.get("support_mentioned", "")), *cells(m))
    total = sum(int(m.get("support_mentioned", 0)) for m in per_aspect.values())
    table.add_section()
    table.add_row("overall", str(total), *cells(metrics), style="bold")
    table.caption = (
        f"{metrics.get('num_reviews', '?')} reviews, {metrics.get('num_cells', '?')} cells; "
        f"seed-style weighted F1 {float(metrics.get('seed_weighted_f1', 0.0)):.4f} "
        "(comparison only)"
    )
    return table


def write_report(
    output_dir: str | Path,
    metrics: Mapping[str, Any],
    *,
    texts: Sequence[str] | None = None,
    pred: np.ndarray | None = None,
    gold: np.ndarray | None = None,
    gold_mask: np.ndarray | None = None,
    probabilities: np.ndarray | None = None,
    log_history: list[dict[str, Any]] | None = None,
    plots: bool = True,
) -> dict[str, Path]:
    """Write ``metrics.json``, ``predictions.csv`` (when ``texts`` and ``pred`` are given)
    and PNG plots into ``output_dir``; returns ``{name: path}`` of what was written.

    Plots: ``per_aspect_f1.png``, ``confusion_matrices.png`` and, with a
    ``log_history`` (``transformers`` ``Trainer.state.log_history``),
    ``training_curves.png``.
    """
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {"metrics": write_metrics_json(out / "metrics.json", metrics)}
    if texts is not None and pred is not None:
        written["predictions"] = write_predictions_csv(
            out / "predictions.csv",
            texts,
            pred,
            metrics["aspects"],
            gold=gold,
            probabilities=probabilities,
            gold_mask=gold_mask,
        )
    if plots:
        # imported here so that `acsa predict` does not pay matplotlib's start-up
        from acsa.evaluation.plots import (
            plot_confusion_matrices,
            plot_per_aspect_f1,
            plot_training_curves,
        )

        written["per_aspect_f1"] = plot_per_aspect_f1(metrics, out / "per_aspect_f1.png")
        written["confusion_matrices"] = plot_confusion_matrices(
            metrics, out / "confusion_matrices.png"
        )
        if log_history:
            written["training_curves"] = plot_training_curves(
                log_history, out / "training_curves.png"
            )
    return written

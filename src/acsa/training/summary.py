"""The summary ``acsa train`` prints at the end of a run, also kept as ``summary.txt``.

The test table (best model), the baseline comparison line, the decision rule,
the best validation score, where the model is and how long it took: the same
text on the terminal and in the run folder, so a run read later (or a run
whose terminal was a log file) tells the same story.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SUMMARY_FILE = "summary.txt"
# columns of the file's tables: wide enough that no figure is cut
_FILE_WIDTH = 200


def summary_items(result: Any) -> list[Any]:
    """What to print for a :class:`~acsa.training.run.TrainResult` (rich renderables, text)."""
    items: list[Any] = []
    test = result.metrics.get("test")
    if test is not None:
        from acsa.evaluation import format_metrics_table
        from acsa.training.finish import comparison_line, decision_line

        items.append(format_metrics_table(test, title="Test metrics (best model)"))
        items.append(f"test {comparison_line(test)}")
        items.append(decision_line(test))
        if test.get("self_training"):
            from acsa.training.self_training import summary_line

            items.append(summary_line(test["self_training"]))
    best = result.metrics.get("validation") or {}
    if best and result.global_step:
        items.append(
            f"best validation pair-F1 {best.get('eval_pair_f1', float('nan')):.4f} "
            f"(step {best.get('step', 0)}, epoch {best.get('epoch') or 0:.2f})"
        )
    items.append(
        f"model: {result.model_dir}\nrun folder: {result.output_dir} "
        f"(metrics.json, predictions.csv, summary.txt, plots, logs/ for TensorBoard)\n"
        f"time: {result.timings.get('total', 0.0):.1f} s"
    )
    return items


def write_summary(result: Any) -> Path:
    """Write :func:`summary_items` as plain text into ``result.output_dir/summary.txt``."""
    from rich.console import Console

    from acsa.files import atomic_write

    path = Path(result.output_dir) / SUMMARY_FILE

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8") as fh:
            out = Console(file=fh, width=_FILE_WIDTH, highlight=False, color_system=None)
            for item in summary_items(result):
                out.print(item)

    return atomic_write(path, write)

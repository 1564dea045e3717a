"""The summary ``acsa train`` prints at the end of a run, also kept as ``summary.txt``.

The test table (best model), the baseline comparison line, the decision rule,
the best validation score, where the model is and how long it took: the same
text on the terminal and in the run folder, so a run read later (or a run
whose terminal was a log file) tells the same story.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import RenderableType

    from acsa.training.finish import TrainResult

SUMMARY_FILE = "summary.txt"
# columns of the file's tables: wide enough that no figure is cut
_FILE_WIDTH = 200


def summary_items(result: TrainResult) -> list[RenderableType]:
    """What to print for a :class:`~acsa.training.run.TrainResult` (rich renderables, text)."""
    items: list[RenderableType] = []
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
    runtime = runtime_line(getattr(result, "onnx", None))
    if runtime:
        items.append(runtime)
    items.append(
        f"model: {result.model_dir}\nrun folder: {result.output_dir} "
        f"(metrics.json, predictions.csv, summary.txt, plots, logs/ for TensorBoard)\n"
        f"time: {result.timings.get('total', 0.0):.1f} s"
    )
    return items


def runtime_line(check: object) -> str | None:
    """What ``acsa predict`` will run the model on, after the ONNX export's check."""
    if not isinstance(check, dict):
        return None
    if check.get("exported") is False:
        return f"runtime: PyTorch (no model.onnx: {check.get('reason')})"
    if check.get("identical_labels"):
        return (
            f"runtime: ONNX Runtime by default (model.onnx gives PyTorch's labels on all "
            f"{check.get('reviews', 0):,} validation reviews; acsa predict --runtime torch "
            "opts out)"
        )
    return (
        f"runtime: PyTorch (model.onnx differs on {check.get('differing_cells')} of "
        f"{check.get('cells')} validation cells; acsa predict --runtime onnx forces it)"
    )


def write_summary(result: TrainResult) -> Path:
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

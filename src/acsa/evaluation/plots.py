"""PNG plots of an evaluation and of a training run (matplotlib, Agg renderer).

Figures are built with ``matplotlib.figure.Figure`` rather than pyplot: no
global backend is switched (a notebook importing acsa keeps its own), no
display is needed, and no figure stays registered in pyplot after saving, so
long runs do not accumulate open figures. Each function returns the path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "GRADIENT_STATS_PLOT",
    "plot_confusion_matrices",
    "plot_gradient_stats",
    "plot_per_aspect_f1",
    "plot_training_curves",
]

GRADIENT_STATS_PLOT = "ghm_histogram.png"

_SHORT_LABELS = ("none", "neg", "neu", "pos")
# Trainer bookkeeping entries that are not curves worth drawing
_EVAL_NON_SCORES = ("eval_runtime", "eval_samples_per_second", "eval_steps_per_second")


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def plot_per_aspect_f1(metrics: Mapping[str, Any], path: str | Path) -> Path:
    """Grouped bars per aspect: aspect-detection F1 and pair F1, overall values as lines."""
    per_aspect: Mapping[str, Mapping[str, Any]] = metrics.get("per_aspect", {})
    names = list(per_aspect)
    det = [float(per_aspect[a].get("aspect_f1", 0.0)) for a in names]
    pair = [float(per_aspect[a].get("pair_f1", 0.0)) for a in names]
    x = np.arange(len(names))
    width = 0.38
    fig = Figure(figsize=(max(6.0, 0.8 * len(names) + 2), 4.2))
    ax = fig.subplots()
    ax.bar(x - width / 2, det, width, label="aspect detection F1", color="#4c72b0")
    ax.bar(x + width / 2, pair, width, label="pair F1", color="#dd8452")
    for key, color, what in (("aspect_f1", "#4c72b0", "detection"), ("pair_f1", "#dd8452", "pair")):
        if key in metrics:
            overall = float(metrics[key])
            ax.axhline(overall, color=color, ls="--", lw=1, label=f"overall {what} {overall:.3f}")
    ax.set_xticks(x)
    ax.set_xticklabels(names, rotation=35, ha="right")
    # headroom above 1.0 keeps the legend clear of the bars
    ax.set_ylim(0, 1.2)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel("F1")
    ax.set_title("F1 per aspect")
    ax.legend(fontsize=8, loc="upper center", ncol=2, frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def plot_confusion_matrices(metrics: Mapping[str, Any], path: str | Path) -> Path:
    """One 4x4 confusion matrix per aspect (rows gold, columns predicted), counts annotated.

    Colour is the row-normalized fraction, so rare gold classes stay visible
    next to the dominant ``none`` row.
    """
    confusion: Mapping[str, Sequence[Sequence[int]]] = metrics.get("confusion", {})
    names = list(confusion)
    ncols = min(4, max(1, len(names)))
    nrows = max(1, math.ceil(len(names) / ncols))
    fig = Figure(figsize=(3.1 * ncols, 3.0 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat[len(names) :]:
        ax.axis("off")
    if not names:
        axes[0, 0].text(0.5, 0.5, "no aspects", ha="center", va="center")
    for ax, name in zip(axes.flat, names, strict=False):
        cm = np.asarray(confusion[name], dtype=np.int64)
        rows = cm.sum(axis=1, keepdims=True)
        frac = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0)
        ax.imshow(frac, cmap="Blues", vmin=0.0, vmax=1.0)
        for i in range(cm.shape[0]):
            for j in range(cm.shape[1]):
                ax.text(
                    j,
                    i,
                    str(cm[i, j]),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if frac[i, j] > 0.6 else "black",
                )
        ticks = range(cm.shape[0])
        ax.set_xticks(ticks)
        ax.set_yticks(ticks)
        ax.set_xticklabels(_SHORT_LABELS[: cm.shape[1]], fontsize=8)
        ax.set_yticklabels(_SHORT_LABELS[: cm.shape[0]], fontsize=8)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("predicted", fontsize=8)
        ax.set_ylabel("gold", fontsize=8)
    fig.tight_layout()
    return _save(fig, path)


def _is_number(v: Any) -> bool:
    return (
        isinstance(v, (int, float, np.integer, np.floating))
        and not isinstance(v, bool)
        and math.isfinite(float(v))
    )


def _series(
    entries: Sequence[Mapping[str, Any]], key: str, x_key: str
) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for i, e in enumerate(entries):
        if key in e and _is_number(e[key]):
            x = e.get(x_key, i)
            xs.append(float(x) if _is_number(x) else float(i))
            ys.append(float(e[key]))
    return xs, ys


def plot_training_curves(log_history: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Loss parts, learning rate and evaluation F1 scores from ``Trainer.state.log_history``.

    Training entries contribute every key ending in ``loss`` (``loss``,
    ``classification_loss``, ``contrastive_loss``, ...), evaluation entries
    ``eval_*loss`` and every ``eval_*f1`` score; the end-of-training summary
    (``train_runtime``, ``train_loss``) is skipped. The x axis is ``step``
    when entries carry it, else ``epoch``. Missing keys leave a panel empty
    with a note instead of failing.
    """
    entries = [e for e in log_history if isinstance(e, Mapping) and "train_runtime" not in e]
    x_key = "step" if any("step" in e for e in entries) else "epoch"
    train = [e for e in entries if not any(str(k).startswith("eval_") for k in e)]
    evals = [e for e in entries if any(str(k).startswith("eval_") for k in e)]

    def keys(group: Sequence[Mapping[str, Any]], pred: Any) -> list[str]:
        seen: dict[str, None] = {}
        for e in group:
            for k, v in e.items():
                if pred(str(k)) and _is_number(v):
                    seen[str(k)] = None
        return list(seen)

    loss_keys = keys(train, lambda k: k.endswith("loss"))
    eval_loss_keys = keys(evals, lambda k: k.endswith("loss"))
    score_keys = keys(evals, lambda k: k.endswith("f1") and k not in _EVAL_NON_SCORES)

    fig = Figure(figsize=(15, 4.2))
    ax_loss, ax_lr, ax_eval = fig.subplots(1, 3)
    for k in loss_keys:
        ax_loss.plot(*_series(train, k, x_key), label=k, lw=1.2)
    for k in eval_loss_keys:
        ax_loss.plot(*_series(evals, k, x_key), label=k, marker="o", ls="--")
    ax_loss.set_title("loss")
    lr_x, lr_y = _series(train, "learning_rate", x_key)
    if lr_y:
        ax_lr.plot(lr_x, lr_y, color="#55a868")
        ax_lr.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    ax_lr.set_title("learning rate")
    for k in score_keys:
        ax_eval.plot(*_series(evals, k, x_key), label=k, marker="o")
    ax_eval.set_title("evaluation")
    for ax, has in ((ax_loss, loss_keys or eval_loss_keys), (ax_lr, lr_y), (ax_eval, score_keys)):
        ax.set_xlabel(x_key)
        ax.grid(alpha=0.3)
        if has:
            if ax is not ax_lr:
                ax.legend(fontsize=8)
        else:
            ax.text(
                0.5,
                0.5,
                "no data logged",
                ha="center",
                va="center",
                transform=ax.transAxes,
                color="gray",
            )
    fig.tight_layout()
    return _save(fig, path)


def plot_gradient_stats(records: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """Render the evolution of the gradient-norm histogram (and GHM-C state) to a PNG.

    Panels: the share of cells per ``g`` bin over epochs (heatmap, log colour
    scale, since most cells sit in the first bin); the mean ``g`` per class;
    with GHM-C, the EMA bin counts over epochs and the mean weight per class.

    Args:
        records: one per epoch, as :func:`acsa.training.gradient_stats.read_gradient_stats`
            returns them (``acsa plot-ghm`` writes ``RUN_DIR/ghm_histogram.png``).
        path: the PNG to write.
    """
    from matplotlib.ticker import MaxNLocator

    if not records:
        raise ValueError("no gradient statistics records to plot")
    epochs = [r["epoch"] for r in records]
    classes = records[-1]["classes"]
    totals = np.array([r["total"] for r in records], dtype=np.float64)
    share = totals / np.maximum(totals.sum(axis=1, keepdims=True), 1)
    has_ghm = any(r.get("ghm") for r in records)
    nrows = 2 if has_ghm else 1
    fig = Figure(figsize=(12, 4.2 * nrows), layout="constrained")
    axes = fig.subplots(nrows, 2, squeeze=False)

    # one row per statistic: a heatmap over epochs and bins, then one line per class
    rows: list[tuple[list[int], dict[str, Any], dict[str, list[Any]], tuple[str, str]]] = [
        (
            epochs,
            {
                "values": share,
                "edges": records[-1]["bin_edges"],
                "floor": 1e-6,
                "cmap": "viridis",
                "labels": ("gradient norm g = 1 - p_t", "share of cells per g bin (all classes)"),
                "colorbar": "share of cells",
            },
            {name: [r["mean_g"].get(name) for r in records] for name in classes},
            ("mean g", "mean gradient norm per target class"),
        )
    ]
    if has_ghm:
        ghm_records = [(r["epoch"], r["ghm"]) for r in records if r.get("ghm")]
        ema = np.array(
            [
                np.asarray(g["ema_counts"], dtype=np.float64)
                .reshape(-1, len(g["bin_edges"]) - 1)
                .sum(0)
                for _, g in ghm_records
            ]
        )
        rows.append(
            (
                [e for e, _ in ghm_records],
                {
                    "values": ema,
                    "edges": ghm_records[-1][1]["bin_edges"],
                    "floor": 1e-3,
                    "cmap": "magma",
                    "labels": (
                        "GHM-C bin (g)",
                        "GHM-C EMA bin counts at epoch end (summed over aspects)",
                    ),
                    "colorbar": "EMA count",
                },
                {
                    name: [(g.get("mean_weight") or {}).get(name) for _, g in ghm_records]
                    for name in classes
                },
                ("mean GHM-C weight", "mean GHM-C weight per target class"),
            )
        )
    for row_axes, (row_epochs, heatmap, lines, line_labels) in zip(axes, rows, strict=True):
        _epoch_heatmap(fig, row_axes[0], epochs=row_epochs, **heatmap)
        _class_lines(row_axes[1], row_epochs, lines, line_labels)

    for ax in axes[:, 0]:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in axes[:, 1]:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110)
    return path


def _epoch_heatmap(
    fig: Figure,
    ax: Axes,
    values: np.ndarray,
    edges: Sequence[float],
    epochs: Sequence[int],
    *,
    floor: float,
    cmap: str,
    labels: tuple[str, str],
    colorbar: str,
) -> None:
    """``values [epochs, bins]`` as a heatmap, bins across and epochs up, log colour scale.

    Log scale: the first bin holds most cells and would hide the rest; empty
    cells are left blank.
    """
    from matplotlib.colors import LogNorm

    positive = values[values > 0]
    norm = (
        LogNorm(vmin=max(float(positive.min()), floor), vmax=float(positive.max()))
        if positive.size
        else None
    )
    im = ax.imshow(
        np.where(values > 0, values, np.nan),
        aspect="auto",
        origin="lower",
        extent=[edges[0], edges[-1], epochs[0] - 0.5, epochs[-1] + 0.5],
        norm=norm,
        cmap=cmap,
        interpolation="nearest",
    )
    ax.set_xlabel(labels[0])
    ax.set_ylabel("epoch")
    ax.set_title(labels[1])
    fig.colorbar(im, ax=ax, label=colorbar)


def _class_lines(
    ax: Axes,
    epochs: Sequence[int],
    series: Mapping[str, Sequence[float | None]],
    labels: tuple[str, str],
) -> None:
    """One line per class over epochs (``None`` values left as gaps)."""
    for name, values in series.items():
        ax.plot(epochs, [math.nan if v is None else v for v in values], marker="o", label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(labels[0])
    ax.set_title(labels[1])
    ax.legend(loc="best")

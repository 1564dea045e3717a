"""PNG plots of an ``acsa compare`` report (matplotlib ``Figure``, no pyplot state).

* ``metrics_by_variant.png``: each metric per variant, mean over seeds with
  a standard-deviation error bar and every seed as a dot;
* ``per_aspect_diff.png``: per aspect, the pair micro-F1 difference of each
  variant against the baseline with its two-level interval (seeds and test reviews);
* ``validation_curves.png``: validation pair micro-F1 at each evaluation, mean
  over seeds with the min-max band, one line per variant (the "compare after
  3 epochs" question, answered with the whole curve).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

_METRICS = (
    ("pair_f1", "pair micro-F1"),
    ("aspect_f1", "aspect micro-F1"),
    ("sentiment_macro_f1", "sentiment macro-F1"),
    ("seed_weighted_f1", "seed-style weighted F1"),
)


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def _colors(n: int) -> list[Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return [cmap(i % 10) for i in range(n)]


def plot_metrics_by_variant(report: Mapping[str, Any], path: Path) -> Path:
    variants = list(report["variants"])
    colors = _colors(len(variants))
    fig = Figure(figsize=(max(8.0, 1.6 * len(variants) * 2), 6.5), layout="constrained")
    axes = fig.subplots(2, 2).ravel()
    rng = np.random.default_rng(0)
    for ax, (key, label) in zip(axes, _METRICS, strict=True):
        for i, name in enumerate(variants):
            stats = report["variants"][name]["metrics"][key]
            if not stats["n"]:
                continue
            ax.errorbar(
                i,
                stats["mean"],
                yerr=stats["std"],
                fmt="o",
                color=colors[i],
                capsize=5,
                markersize=7,
            )
            jitter = rng.uniform(-0.12, 0.12, len(stats["values"]))
            ax.scatter(i + 0.25 + jitter, stats["values"], color=colors[i], s=12, alpha=0.6)
        ax.set_xticks(range(len(variants)))
        ax.set_xticklabels(
            [f"{n}\n(baseline)" if n == report["baseline"] else n for n in variants], fontsize=8
        )
        ax.set_title(label)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("Test scores per variant: mean +- std over seeds (dots: single seeds)")
    return _save(fig, path)


def plot_per_aspect_differences(report: Mapping[str, Any], path: Path) -> Path | None:
    per_aspect = report.get("per_aspect") or {}
    aspects = report.get("aspects") or []
    if not per_aspect or not aspects:
        return None
    names = list(per_aspect)
    colors = _colors(len(report["variants"]))
    color_of = {n: colors[i] for i, n in enumerate(report["variants"])}
    fig = Figure(
        figsize=(9, 0.45 * len(aspects) * max(1, len(names)) ** 0.5 + 2.0), layout="constrained"
    )
    ax = fig.subplots()
    offsets = np.linspace(-0.3, 0.3, len(names)) if len(names) > 1 else np.zeros(1)
    for k, name in enumerate(names):
        ys, means, lows, highs = [], [], [], []
        for j, a in enumerate(aspects):
            d = per_aspect[name].get(a, {}).get("pair_f1")
            if not d or d.get("mean") is None:
                continue
            ys.append(j + offsets[k])
            means.append(100 * d["mean"])
            lows.append(100 * (d["mean"] - (d["low"] if d["low"] is not None else d["mean"])))
            highs.append(100 * ((d["high"] if d["high"] is not None else d["mean"]) - d["mean"]))
        ax.errorbar(
            means,
            ys,
            xerr=[lows, highs],
            fmt="o",
            color=color_of.get(name),
            capsize=3,
            label=name,
            markersize=5,
        )
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(aspects)))
    ax.set_yticklabels(aspects)
    ax.invert_yaxis()
    conf = int(round(100 * report.get("confidence", 0.95)))
    ax.set_xlabel(f"pair micro-F1 difference vs {report['baseline']} (F1 points, {conf}% CI)")
    ax.set_title("Per-aspect difference against the baseline")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    return _save(fig, path)


def plot_validation_curves(report: Mapping[str, Any], path: Path) -> Path | None:
    variants = list(report["variants"])
    colors = _colors(len(variants))
    fig = Figure(figsize=(9, 5.5), layout="constrained")
    ax = fig.subplots()
    drawn = False
    for i, name in enumerate(variants):
        curves = [c for c in report["variants"][name].get("val_pair_f1", {}).values() if c]
        if not curves:
            continue
        length = max(len(c) for c in curves)
        # early stopping ends seeds at different evaluations; missing ones are left out
        grid = np.full((len(curves), length), np.nan)
        for r, c in enumerate(curves):
            grid[r, : len(c)] = c
        epochs = np.arange(1, length + 1)
        count = np.sum(~np.isnan(grid), axis=0)
        with np.errstate(invalid="ignore"):
            mean = np.nanmean(grid, axis=0)
            low = np.nanmin(grid, axis=0)
            high = np.nanmax(grid, axis=0)
        label = f"{name} ({len(curves)} seeds)"
        ax.plot(epochs, mean, marker="o", markersize=3, color=colors[i], label=label)
        ax.fill_between(epochs, low, high, color=colors[i], alpha=0.15, linewidth=0)
        partial = count < len(curves)
        if partial.any():
            ax.scatter(epochs[partial], mean[partial], color=colors[i], marker="x", s=25)
        drawn = True
    if not drawn:
        return None
    ax.set_xlabel("evaluation (training.eval_every; the last is the end of training)")
    ax.set_ylabel("validation pair micro-F1")
    ax.set_title("Validation pair micro-F1 per evaluation: mean over seeds, band = min-max")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return _save(fig, path)


def write_comparison_plots(report: Mapping[str, Any], output_dir: str | Path) -> dict[str, Path]:
    """Write every plot the report has data for; returns ``{title: path}``."""
    out = Path(output_dir)
    written: dict[str, Path] = {}
    written["scores per variant"] = plot_metrics_by_variant(report, out / "metrics_by_variant.png")
    per_aspect = plot_per_aspect_differences(report, out / "per_aspect_diff.png")
    if per_aspect is not None:
        written["per-aspect differences"] = per_aspect
    curves = plot_validation_curves(report, out / "validation_curves.png")
    if curves is not None:
        written["validation curves"] = curves
    return written

"""The comparison report: ``comparison.md``, ``comparison.json`` and the terminal table."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from acsa.compare.store import METRICS
from acsa.files import json_default

METRIC_LABELS: dict[str, str] = {
    "pair_f1": "pair micro-F1",
    "aspect_f1": "aspect micro-F1",
    "sentiment_macro_f1": "sentiment macro-F1",
    "seed_weighted_f1": "seed-style weighted F1",
}


def _fmt(x: float | None, digits: int = 4) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _fmt_diff(d: Mapping[str, Any] | None) -> str:
    if not d:
        return "n/a"
    pts = 100.0
    mean, low, high = d.get("mean"), d.get("low"), d.get("high")
    if mean is None:
        return "n/a"
    if low is None or high is None:
        return f"{mean * pts:+.2f}"
    return f"{mean * pts:+.2f} [{low * pts:+.2f}, {high * pts:+.2f}]"


def _validation_table(report: Mapping[str, Any]) -> list[str]:
    """Validation pair micro-F1 after each epoch, mean over seeds (early stops end rows)."""
    curves = {
        name: [c for c in v.get("val_pair_f1", {}).values() if c]
        for name, v in report["variants"].items()
    }
    length = max((len(c) for cs in curves.values() for c in cs), default=0)
    if length == 0:
        return []
    lines = [
        "",
        "## Validation pair micro-F1 after each epoch (mean over seeds)",
        "",
        "| variant | " + " | ".join(str(e) for e in range(1, length + 1)) + " |",
        "|---|" + "---|" * length,
    ]
    for name, cs in curves.items():
        cells = []
        for e in range(length):
            values = [c[e] for c in cs if len(c) > e]
            cells.append(f"{np.mean(values):.4f}" if values else "")
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return lines


def render_markdown(report: Mapping[str, Any]) -> str:
    """``comparison.md``: tables of means, paired differences, verdicts and per-aspect intervals."""
    lines: list[str] = []
    base = report["baseline"]
    conf = int(round(report["confidence"] * 100))
    lines.append("# Loss comparison")
    lines.append("")
    lines.append(
        f"Config `{report.get('config')}`, variants `{report.get('variants_file')}`, "
        f"seeds {report.get('seeds')}, epochs {report.get('epochs') or 'as configured'}, "
        f"baseline `{base}`."
    )
    if report.get("overrides"):
        shared = ", ".join(f"`{k}: {v}`" for k, v in report["overrides"].items())
        lines.append(f"Shared by every variant: {shared}.")
    lines.append("")
    lines.append(f"Verdict rule: {report['verdict_rule']}.")
    lines.append(
        f"Differences are variant minus baseline in F1 points (x100) with {conf}% intervals; "
        f"bootstrap with {report['n_boot']} replicates."
    )
    lines.append("")
    lines.append("## Scores per variant (mean +- std over seeds)")
    lines.append("")
    header = ["variant", "runs"] + [METRIC_LABELS[m] for m in METRICS] + ["train time (s)"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for name, v in report["variants"].items():
        cells = [f"`{name}`" + (" (baseline)" if name == base else ""), str(len(v["seeds"]))]
        for m in METRICS:
            s = v["metrics"][m]
            cells.append(f"{_fmt(s['mean'])} +- {_fmt(s['std'])}" if s["n"] else "n/a")
        t = v["train_time_s"]
        cells.append(f"{_fmt(t['mean'], 0)} +- {_fmt(t['std'], 0)}" if t["n"] else "n/a")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"## Against the baseline `{base}`")
    lines.append("")
    header = ["variant", "seeds paired"]
    for m in METRICS:
        header += [f"{METRIC_LABELS[m]} diff [{conf}% CI]", "verdict"]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    notes = []
    for name, e in report["vs_baseline"].items():
        cells = [f"`{name}`", str(len(e["paired_seeds"]))]
        for m in METRICS:
            d = e["metrics"].get(m)
            if d is None:
                cells += ["n/a", "n/a"]
                continue
            decider = d["bootstrap"] or d["t_test"]
            cells += [_fmt_diff(decider), d["verdict"]]
        lines.append("| " + " | ".join(cells) + " |")
        if e.get("note"):
            notes.append(f"- `{name}`: {e['note']}")
    lines.append("")
    lines.append(
        "Paired t-test over seeds for the bootstrap metrics, for reference "
        f"(diff [{conf}% t-interval], p):"
    )
    lines.append("")
    lines.append(f"| variant | {METRIC_LABELS['pair_f1']} | {METRIC_LABELS['aspect_f1']} |")
    lines.append("|---|---|---|")
    for name, e in report["vs_baseline"].items():
        cells = [f"`{name}`"]
        for m in ("pair_f1", "aspect_f1"):
            d = e["metrics"].get(m)
            if d is None:
                cells.append("n/a")
                continue
            t = d["t_test"]
            p = t.get("p_value")
            p_text = "n/a" if p is None else ("< 0.001" if p < 0.001 else f"{p:.3f}")
            cells.append(f"{_fmt_diff(t)}, p = {p_text}")
        lines.append("| " + " | ".join(cells) + " |")
    lines.extend(["", *notes] if notes else [])
    if report["per_aspect"]:
        lines.append("")
        lines.append(f"## Per aspect: pair micro-F1 difference against `{base}` [{conf}% CI]")
        lines.append("")
        names = list(report["per_aspect"])
        lines.append("| aspect | " + " | ".join(f"`{n}`" for n in names) + " |")
        lines.append("|---|" + "---|" * len(names))
        for a in report["aspects"]:
            cells = [a]
            for n in names:
                d = report["per_aspect"][n].get(a, {}).get("pair_f1")
                mark = {"better": " +", "worse": " -"}.get(d["verdict"], "") if d else ""
                cells.append(_fmt_diff(d) + mark)
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        lines.append("`+` / `-`: the interval lies above / below 0.")
    lines.extend(_validation_table(report))
    failed = [r for r in report.get("runs", []) if r["status"] == "failed"]
    if failed:
        lines.append("")
        lines.append("## Failed runs")
        lines.append("")
        for r in failed:
            lines.append(f"- `{r['variant']}` seed {r['seed']}: {r['error']} ({r['output_dir']})")
    plots = report.get("plots") or {}
    if plots:
        lines.append("")
        lines.append("## Plots")
        lines.append("")
        for title, rel in plots.items():
            lines.append(f"![{title}]({rel})")
    lines.append("")
    return "\n".join(lines)


def write_report_files(report: Mapping[str, Any], out: Path) -> dict[str, Path]:
    """Write ``comparison.json`` and ``comparison.md`` into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    files = {"json": out / "comparison.json", "markdown": out / "comparison.md"}
    files["json"].write_text(json.dumps(report, indent=2, default=json_default), encoding="utf-8")
    files["markdown"].write_text(render_markdown(report), encoding="utf-8")
    return files


def terminal_table(report: Mapping[str, Any]) -> Any:
    """A rich table of pair micro-F1 per variant against the baseline, for the console."""
    from rich.table import Table

    table = Table(title=f"pair micro-F1 against {report['baseline']} (differences in F1 points)")
    for col in ("variant", "runs", "mean", "sd", "diff [95% CI]", "verdict"):
        table.add_column(col, no_wrap=col != "verdict")
    for name, v in report["variants"].items():
        pair = v["metrics"]["pair_f1"]
        mean, sd = (f"{pair['mean']:.4f}", f"{pair['std']:.4f}") if pair["n"] else ("n/a", "")
        entry = report["vs_baseline"].get(name)
        d = entry["metrics"].get("pair_f1") if entry else None
        diff = _fmt_diff(d["bootstrap"] or d["t_test"]) if d else "baseline"
        table.add_row(name, str(len(v["seeds"])), mean, sd, diff, d["verdict"] if d else "")
    return table

"""The comparison report: ``comparison.md``, ``comparison.json``, the terminal table and advice."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from acsa.compare.store import METRICS
from acsa.files import json_default

if TYPE_CHECKING:
    from rich.table import Table

METRIC_LABELS: dict[str, str] = {
    "pair_f1": "pair micro-F1",
    "aspect_f1": "aspect micro-F1",
    "sentiment_macro_f1": "sentiment macro-F1",
    "seed_weighted_f1": "seed-style weighted F1",
}


def _fmt(x: float | None, digits: int = 4) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.{digits}f}"


def _fmt_diff(d: Mapping[str, Any] | None) -> str:
    """``+0.74 [+0.26, +1.21]`` in F1 points (x100); the mean alone without an interval."""
    if not d or d.get("mean") is None:
        return "n/a"
    mean, low, high = d["mean"] * 100.0, d.get("low"), d.get("high")
    if low is None or high is None:
        return f"{mean:+.2f}"
    return f"{mean:+.2f} [{low * 100.0:+.2f}, {high * 100.0:+.2f}]"


def fmt_p(p: float | None) -> str:
    """A p-value for a table: ``n/a``, ``< 0.001`` or three decimals."""
    if p is None:
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _points(x: float | None) -> str:
    return "n/a" if x is None else f"{100.0 * x:.2f}"


def _seeds(n: int | None, cap: int = 1000) -> str:
    return f"> {cap} (test set limits)" if n is None else str(n)


def _family(report: Mapping[str, Any], metric: str) -> str:
    k = report.get("holm_comparisons", {}).get(metric, 0)
    return f"Holm-Bonferroni over {k} comparison{'s' if k != 1 else ''}"


def _validation_table(report: Mapping[str, Any], level: str) -> list[str]:
    """Validation pair micro-F1 at each evaluation, mean over seeds (early stops end rows)."""
    curves = {
        name: [c for c in v.get("val_pair_f1", {}).values() if c]
        for name, v in report["variants"].items()
    }
    length = max((len(c) for cs in curves.values() for c in cs), default=0)
    if length == 0:
        return []
    lines = [
        "",
        f"{level} Validation pair micro-F1 at each evaluation (mean over seeds)",
        "",
        "Evaluations in order, every `training.eval_every` steps (with `auto`, about ten a "
        "run); the last is at the end of training.",
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


def _scores_table(report: Mapping[str, Any]) -> list[str]:
    base = report["baseline"]
    header = ["variant", "runs"] + [METRIC_LABELS[m] for m in METRICS] + ["train time (s)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, v in report["variants"].items():
        cells = [f"`{name}`" + (" (baseline)" if name == base else ""), str(len(v["seeds"]))]
        for m in METRICS:
            s = v["metrics"][m]
            cells.append(f"{_fmt(s['mean'])} +- {_fmt(s['std'])}" if s["n"] else "n/a")
        t = v["train_time_s"]
        cells.append(f"{_fmt(t['mean'], 0)} +- {_fmt(t['std'], 0)}" if t["n"] else "n/a")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _metric_table(report: Mapping[str, Any], metric: str, conf: int) -> list[str]:
    """One metric against the baseline: the verdict's interval, p-values and the extra columns."""
    header = [
        "variant",
        "seeds",
        f"diff [{conf}% CI], two-level",
        "p",
        "p (Holm)",
        "verdict",
        f"test-set sampling only [{conf}% CI]",
        f"seed-to-seed only [{conf}% t-CI], p",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, e in report["vs_baseline"].items():
        d = e["metrics"].get(metric)
        if d is None:
            lines.append(f"| `{name}` | 0 | n/a | n/a | n/a | n/a | n/a | n/a |")
            continue
        shown = d["two_level"] or d["t_test"]
        t = d["t_test"]
        cells = [
            f"`{name}`",
            str(len(e["paired_seeds"])),
            _fmt_diff(shown) + ("" if d["two_level"] else " (t-test)"),
            fmt_p(d["p"]),
            fmt_p(d["p_adjusted"]),
            d["verdict"],
            _fmt_diff(d["review_bootstrap"]),
            f"{_fmt_diff(t)}, p = {fmt_p(t.get('p_value'))}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _advice_table(report: Mapping[str, Any], metric: str = "pair_f1") -> list[str]:
    targets = report.get("advice", {}).get("targets", [])
    rows = [
        (name, e["seed_advice"].get(metric))
        for name, e in report["vs_baseline"].items()
        if e.get("seed_advice", {}).get(metric)
    ]
    if not rows:
        return []
    header = [
        "variant",
        "seeds",
        "seed sd of the difference",
        "test-set sd (shared / per seed)",
        "smallest detectable difference",
    ] + [f"seeds to detect {100 * t:g}" for t in targets]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, a in rows:
        cells = [
            f"`{name}`",
            str(a["n_seeds"]),
            _points(a["seed_sd"]),
            f"{_points(a['test_sd'])} / {_points(a['own_test_sd'])}",
            _points(a["mde"]),
        ] + [_seeds(a["seeds_for"].get(f"{t:g}")) for t in targets]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _per_aspect_table(report: Mapping[str, Any]) -> list[str]:
    names = list(report["per_aspect"])
    lines = [
        "| aspect | " + " | ".join(f"`{n}`" for n in names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for a in report["aspects"]:
        cells = [a]
        for n in names:
            d = report["per_aspect"][n].get(a, {}).get("pair_f1")
            mark = {"better": " +", "worse": " -"}.get(d["verdict"], "") if d else ""
            cells.append(_fmt_diff(d) + mark)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _seed_search(report: Mapping[str, Any]) -> list[str]:
    search = report.get("seed_search")
    if not search:
        return []
    lines = [
        f"Seeds chosen automatically (at most {search['max_seeds']}): {search['stopped']}.",
        "",
        "| seeds | " + " | ".join(f"`{n}`" for n in report["vs_baseline"]) + " |",
        "|---|" + "---|" * len(report["vs_baseline"]),
    ]
    for step in search["history"]:
        cells = [str(step["seeds"])]
        for name in report["vs_baseline"]:
            cells.append(step["verdicts"].get(name, {}).get("pair_f1", "n/a"))
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "Pair micro-F1 verdict after each added seed. Stopping when the verdicts settle is "
        "a data-dependent choice: treat verdicts near the threshold with care."
    )
    return lines


def render_body(report: Mapping[str, Any], level: int = 2) -> list[str]:
    """The report's tables under headings of ``level`` (2 for ``comparison.md``)."""
    h = "#" * level
    base = report["baseline"]
    conf = int(round(report["confidence"] * 100))
    lines = [f"{h} Scores per variant (mean +- std over seeds)", "", *_scores_table(report)]
    lines += ["", f"{h} Against the baseline `{base}`", ""]
    lines.append(
        f"Verdict: {report['methods']['verdict']}; p-values {report['methods']['multiplicity']}. "
        "Extra columns: the paired bootstrap over test reviews with the seeds held fixed, and "
        "the paired t-test over seeds with the test set held fixed; each misses the other's "
        "source of variation."
    )
    for metric in METRICS:
        lines += ["", f"{h}# {METRIC_LABELS[metric]} ({_family(report, metric)})", ""]
        lines += _metric_table(report, metric, conf)
    notes = [f"- `{n}`: {e['note']}" for n, e in report["vs_baseline"].items() if e.get("note")]
    notes += [f"- {note}" for note in report.get("notes", [])]
    lines.extend(["", *notes] if notes else [])
    advice = _advice_table(report)
    if advice:
        a = report["advice"]
        lines += [
            "",
            f"{h} How many seeds? (pair micro-F1, alpha {a['alpha']:g}, power {a['power']:g})",
            "",
            *advice,
            "",
            "In F1 points. The smallest detectable difference is that of this comparison; the "
            "seed counts are those the same rule would need, from the observed variances "
            "(an estimate: with few seeds the seed sd itself is uncertain). The shared "
            "test-set sd does not shrink with more seeds.",
        ]
    search = _seed_search(report)
    if search:
        lines += ["", f"{h} Seed count", "", *search]
    if report["per_aspect"]:
        lines += [
            "",
            f"{h} Per aspect: pair micro-F1 difference against `{base}` [{conf}% CI]",
            "",
            *_per_aspect_table(report),
            "",
            "Two-level intervals, not corrected for multiplicity (exploratory); `+` / `-`: "
            "the interval lies above / below 0.",
        ]
    lines.extend(_validation_table(report, h))
    return lines


def render_markdown(report: Mapping[str, Any]) -> str:
    """``comparison.md``: means, paired differences with verdicts, seed advice, per aspect."""
    conf = int(round(report["confidence"] * 100))
    lines = ["# Loss comparison", ""]
    lines.append(
        f"Config `{report.get('config')}`, variants `{report.get('variants_file')}`, "
        f"seeds {report.get('seeds')}, epochs {report.get('epochs') or 'as configured'}, "
        f"baseline `{report['baseline']}`."
    )
    if report.get("overrides"):
        shared = ", ".join(f"`{k}: {v}`" for k, v in report["overrides"].items())
        lines.append(f"Shared by every variant: {shared}.")
    lines += [
        "",
        f"Verdict rule: {report['verdict_rule']}.",
        f"Differences are variant minus baseline in F1 points (x100) with {conf}% intervals; "
        f"bootstrap with {report['n_boot']} replicates.",
        "",
    ]
    lines += render_body(report, level=2)
    failed = [r for r in report.get("runs", []) if r["status"] == "failed"]
    if failed:
        lines += ["", "## Failed runs", ""]
        for r in failed:
            lines.append(f"- `{r['variant']}` seed {r['seed']}: {r['error']} ({r['output_dir']})")
    plots = report.get("plots") or {}
    if plots:
        lines += ["", "## Plots", ""]
        lines += [f"![{title}]({rel})" for title, rel in plots.items()]
    lines.append("")
    return "\n".join(lines)


def write_report_files(report: Mapping[str, Any], out: Path) -> dict[str, Path]:
    """Write ``comparison.json`` and ``comparison.md`` into ``out``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    files = {"json": out / "comparison.json", "markdown": out / "comparison.md"}
    files["json"].write_text(json.dumps(report, indent=2, default=json_default), encoding="utf-8")
    files["markdown"].write_text(render_markdown(report), encoding="utf-8")
    return files


def terminal_table(report: Mapping[str, Any]) -> Table:
    """Pair micro-F1 against the baseline for the console: the verdicts, then the extra columns.

    Two narrow tables rather than one wide one, so that an 80-column terminal
    wraps the verdict text instead of dropping columns.
    """
    from rich.console import Group
    from rich.table import Table

    conf = int(round(report["confidence"] * 100))
    verdicts = Table(
        title=f"pair micro-F1 against {report['baseline']}, F1 points: two-level bootstrap over "
        f"seeds and test reviews, {_family(report, 'pair_f1')}"
    )
    verdicts.add_column("variant", no_wrap=True)
    verdicts.add_column("mean (runs)")
    verdicts.add_column(f"diff [{conf}% CI]", no_wrap=True)
    verdicts.add_column("p (Holm)")
    verdicts.add_column("verdict", min_width=10)
    extra = Table(title="extra columns: each holds one source of variation fixed")
    extra.add_column("variant", no_wrap=True)
    extra.add_column("test-set sampling only", no_wrap=True)
    extra.add_column("seed-to-seed only (t)", no_wrap=True)
    extra.add_column("p (t)", no_wrap=True)
    for name, v in report["variants"].items():
        pair = v["metrics"]["pair_f1"]
        stats = f"{pair['mean']:.4f} ({len(v['seeds'])})" if pair["n"] else "n/a"
        entry = report["vs_baseline"].get(name)
        d = entry["metrics"].get("pair_f1") if entry else None
        if d is None:
            verdicts.add_row(name, stats, "baseline" if name == report["baseline"] else "n/a")
            continue
        verdicts.add_row(
            name,
            stats,
            _fmt_diff(d["two_level"] or d["t_test"]),
            fmt_p(d["p_adjusted"]),
            d["verdict"],
        )
        extra.add_row(
            name,
            _fmt_diff(d["review_bootstrap"]),
            _fmt_diff(d["t_test"]),
            fmt_p(d["t_test"].get("p_value")),
        )
    return Group(verdicts, extra)


def advice_lines(report: Mapping[str, Any], metric: str = "pair_f1") -> list[str]:
    """One line per variant: the smallest detectable difference and the seeds for each target."""
    lines = []
    for name, e in report["vs_baseline"].items():
        a = e.get("seed_advice", {}).get(metric)
        if not a:
            continue
        needs = []
        for t, n in a["seeds_for"].items():
            size = f"{100 * float(t):g} point{'' if 100 * float(t) == 1 else 's'}"
            if n is None:
                needs.append(f"{size} is out of reach of more seeds (the test set limits it)")
            else:
                needs.append(f"{size} needs about {n} seeds")
        lines.append(
            f"{name}: with {a['n_seeds']} seeds the smallest detectable {METRIC_LABELS[metric]} "
            f"difference is {_points(a['mde'])} points (alpha {a['alpha']:g}, power "
            f"{a['power']:g}); " + "; ".join(needs)
        )
    return lines


def docs_markers(name: str) -> tuple[str, str]:
    """The comment lines that delimit a comparison's generated block in a Markdown file."""
    return f"<!-- compare-report:{name}:begin -->", f"<!-- compare-report:{name}:end -->"


def _docs_block(docs: Path, name: str) -> tuple[str, int, int]:
    """The file's text and where the block of ``name`` starts and where its end marker is."""
    from acsa.errors import ArgumentError

    begin, end = docs_markers(name)
    try:
        text = docs.read_text(encoding="utf-8")
    except OSError as exc:
        raise ArgumentError(
            "{docs}: cannot read {path}: {problem}", path=docs, problem=exc.strerror
        ) from None
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        raise ArgumentError(
            "{docs}: {path} has no block for {name!r}; add the lines {begin!r} and {end!r} "
            "where the tables should go",
            path=docs,
            name=name,
            begin=begin,
            end=end,
        )
    return text, start, stop


def check_docs_block(docs: Path, name: str) -> None:
    """Raise a one-line ``ConfigError`` unless ``docs`` has the block of comparison ``name``."""
    _docs_block(docs, name)


def write_docs(report: Mapping[str, Any], out: Path, docs: Path, name: str) -> Path:
    """Replace the block of comparison ``name`` in the Markdown file ``docs`` with this report.

    The block (between :func:`docs_markers`) gets the report's tables under
    level-4 headings and links to its plots, which are copied to
    ``<docs folder>/figures/<name>_<plot>.png``; everything outside the block
    (the prose around it) is left as it is.
    """
    import shutil

    begin, end = docs_markers(name)
    text, start, stop = _docs_block(docs, name)
    lines = [
        begin,
        f"Generated by `acsa compare` from `{report.get('variants_file')}`: seeds "
        f"{report.get('seeds')}, epochs {report.get('epochs') or 'as configured'}, "
        f"{report['n_boot']} bootstrap replicates, baseline `{report['baseline']}`.",
        "",
        *render_body(report, level=4),
    ]
    figures = docs.parent / "figures"
    plots = report.get("plots") or {}
    if plots:
        figures.mkdir(parents=True, exist_ok=True)
        lines.append("")
        for title, rel in plots.items():
            target = figures / f"{name}_{Path(rel).name}"
            shutil.copyfile(out / rel, target)
            lines.append(f"![{title}]({target.relative_to(docs.parent).as_posix()})")
    lines.append(end)
    docs.write_text(text[:start] + "\n".join(lines) + text[stop + len(end) :], encoding="utf-8")
    return docs

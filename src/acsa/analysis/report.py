"""The files ``acsa analyze`` writes: CSV tables, a Markdown report and the noise picture.

* ``label_issues.csv``: one row per flagged cell, most suspicious first: row
  (as the user sees it in the file), aspect, text, given, suggested, score;
* ``noise_by_aspect.csv``: per aspect and given label, the estimated share of
  each true label (cleanlab's joint, rows normalised), the estimated noise rate
  and the number of flagged cells;
* ``hardest_reviews.csv``: reviews ranked by their lowest cell score;
* ``conflicting_duplicates.csv``: (near-)identical reviews with different labels;
* ``report.md`` and ``noise.png``: the same in prose, and a picture of the
  estimated noise (one given-by-true matrix per aspect).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from acsa.analysis.duplicates import ConflictPair
from acsa.analysis.issues import CellIssues
from acsa.data.label_space import CANONICAL_CLASSES
from acsa.data.reviews import LabeledReviews
from acsa.files import atomic_write, write_json

ISSUES_FILE = "label_issues.csv"
NOISE_FILE = "noise_by_aspect.csv"
HARDEST_FILE = "hardest_reviews.csv"
CONFLICTS_FILE = "conflicting_duplicates.csv"
REPORT_FILE = "report.md"
PICTURE_FILE = "noise.png"
SUMMARY_FILE = "summary.json"
RULE_TEXT = {
    "strict": "`filter_by='both'` and a decisive out-of-fold margin",
    "cleanlab": "cleanlab's default, `prune_by_noise_rate`",
}


@dataclass
class Analysis:
    """Everything ``acsa analyze`` found in one split."""

    reviews: LabeledReviews
    issues: CellIssues
    conflicts: list[ConflictPair]
    folds: int
    encoder: str
    split: str
    rule: str = "strict"

    def hardest(self, limit: int = 50) -> list[int]:
        """Reviews with the lowest cell score first (ties: more flagged cells first)."""
        score = np.where(np.isnan(self.issues.score), np.inf, self.issues.score)
        lowest = score.min(1)
        flagged = self.issues.flagged.sum(1)
        order = np.lexsort((np.arange(len(lowest)), -flagged, lowest))
        return [int(i) for i in order[:limit] if np.isfinite(lowest[i])]

    def summary(self) -> dict:
        flagged = self.issues.flagged
        return {
            "split": self.split,
            "source": str(self.reviews.source),
            "reviews": len(self.reviews),
            "cells": int(self.reviews.mask.sum()),
            "flagged_cells": int(flagged.sum()),
            "reviews_with_flagged_cells": int(flagged.any(1).sum()),
            "conflicting_duplicate_pairs": len(self.conflicts),
            "folds": self.folds,
            "encoder": self.encoder,
            "rule": self.rule,
            "per_aspect": {
                aspect: {
                    "cells": int(self.issues.known[a]),
                    "flagged": int(flagged[:, a].sum()),
                    "estimated_noise_rate": round(float(self.issues.noise_rate[a]), 4),
                }
                for a, aspect in enumerate(self.reviews.aspects)
            },
        }


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> None:
    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(header)
            out.writerows(rows)

    atomic_write(path, write)


def issue_rows(analysis: Analysis) -> list[list[object]]:
    r, i = analysis.reviews, analysis.issues
    return [
        [
            r.rows[n],
            r.aspects[a],
            r.texts[n],
            CANONICAL_CLASSES[r.labels[n, a]],
            CANONICAL_CLASSES[i.suggested[n, a]],
            round(float(i.score[n, a]), 6),
        ]
        for n, a in i.ranked_cells()
    ]


def noise_rows(analysis: Analysis) -> list[list[object]]:
    rows: list[list[object]] = []
    i = analysis.issues
    for a, aspect in enumerate(analysis.reviews.aspects):
        given = analysis.reviews.labels[:, a][analysis.reviews.mask[:, a]]
        counts = np.bincount(given, minlength=4)
        for g, name in enumerate(CANONICAL_CLASSES):
            total = i.joint[a, g].sum()
            shares = i.joint[a, g] / total if total > 0 else np.zeros(4)
            flagged = int((i.flagged[:, a] & (analysis.reviews.labels[:, a] == g)).sum())
            rows.append(
                [aspect, name, int(counts[g]), flagged]
                + [round(float(s), 4) for s in shares]
                + [round(float(1.0 - shares[g]) if total > 0 else 0.0, 4)]
            )
    return rows


def write_tables(analysis: Analysis, out: Path) -> None:
    """The four CSV tables and ``summary.json``."""
    r, i = analysis.reviews, analysis.issues
    _write_csv(
        out / ISSUES_FILE,
        ["row", "aspect", "text", "given", "suggested", "score"],
        issue_rows(analysis),
    )
    _write_csv(
        out / NOISE_FILE,
        ["aspect", "given", "cells", "flagged"]
        + [f"true_{c}" for c in CANONICAL_CLASSES]
        + ["estimated_noise"],
        noise_rows(analysis),
    )
    hard = []
    for n in analysis.hardest(len(r)):
        a = int(np.nanargmin(i.score[n]))
        hard.append(
            [
                r.rows[n],
                round(float(i.score[n, a]), 6),
                r.aspects[a],
                int(i.flagged[n].sum()),
                r.texts[n],
            ]
        )
    _write_csv(out / HARDEST_FILE, ["row", "lowest_score", "aspect", "flagged_cells", "text"], hard)
    conflicts = []
    for p in analysis.conflicts:
        labels = "; ".join(
            f"{r.aspects[a]}: {CANONICAL_CLASSES[r.labels[p.first, a]]} / "
            f"{CANONICAL_CLASSES[r.labels[p.second, a]]}"
            for a in p.aspects
        )
        conflicts.append(
            [
                r.rows[p.first],
                r.rows[p.second],
                round(p.similarity, 4),
                labels,
                r.texts[p.first],
                r.texts[p.second],
            ]
        )
    _write_csv(
        out / CONFLICTS_FILE,
        ["row_a", "row_b", "similarity", "labels_differ", "text_a", "text_b"],
        conflicts,
    )
    write_json(out / SUMMARY_FILE, analysis.summary())


def write_picture(analysis: Analysis, path: Path) -> None:
    """One heat map per aspect: estimated P(true label | given label), rows given."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    aspects = analysis.reviews.aspects
    cols = min(4, len(aspects))
    rows = (len(aspects) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.0 * rows), squeeze=False)
    short = ["none", "neg", "neu", "pos"]
    for k, ax in enumerate(axes.flat):
        if k >= len(aspects):
            ax.axis("off")
            continue
        joint = analysis.issues.joint[k]
        totals = joint.sum(1, keepdims=True)
        cond = np.divide(joint, totals, out=np.zeros_like(joint), where=totals > 0)
        ax.imshow(cond, vmin=0, vmax=1, cmap="Blues")
        for g in range(4):
            for t in range(4):
                if totals[g, 0] > 0:
                    colour = "white" if cond[g, t] > 0.6 else "black"
                    ax.text(
                        t,
                        g,
                        f"{cond[g, t]:.2f}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color=colour,
                    )
        ax.set_title(f"{aspects[k]} (noise {analysis.issues.noise_rate[k]:.1%})", fontsize=9)
        ax.set_xticks(range(4), short, fontsize=7)
        ax.set_yticks(range(4), short, fontsize=7)
        ax.set_xlabel("estimated true", fontsize=7)
        ax.set_ylabel("given", fontsize=7)
    fig.suptitle("Estimated label noise: P(true | given) per aspect (cleanlab)", fontsize=10)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)


def _md_cell(text: str, limit: int = 120) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[:limit] + "..."


def render_markdown(analysis: Analysis, top: int = 20) -> str:
    s = analysis.summary()
    r, i = analysis.reviews, analysis.issues
    lines = [
        f"# Label analysis of {r.source.name} ({analysis.split})",
        "",
        f"{s['reviews']} reviews, {s['cells']} known cells; out-of-fold probabilities from "
        f"{analysis.folds}-fold cross-fitting ({analysis.encoder}), probable label errors "
        f"found by cleanlab (confident learning), rule `{analysis.rule}` "
        f"({RULE_TEXT[analysis.rule]}).",
        "",
        f"**{s['flagged_cells']} cells flagged** in {s['reviews_with_flagged_cells']} reviews; "
        f"{s['conflicting_duplicate_pairs']} pairs of (near-)identical reviews with "
        "different labels.",
        "",
        "## Estimated noise per aspect",
        "",
        "| aspect | cells | flagged | estimated noise |",
        "| --- | ---: | ---: | ---: |",
    ]
    for aspect, row in s["per_aspect"].items():
        lines.append(
            f"| {aspect} | {row['cells']} | {row['flagged']} | {row['estimated_noise_rate']:.1%} |"
        )
    lines += [
        "",
        f"![estimated noise]({PICTURE_FILE})",
        "",
        f"Rows: the given label; columns: the estimated true label (full table: {NOISE_FILE}).",
        "",
        f"## The {top} most suspicious cells",
        "",
        "| row | aspect | given | suggested | score | text |",
        "| ---: | --- | --- | --- | ---: | --- |",
    ]
    for row, aspect, text, given, suggested, score in issue_rows(analysis)[:top]:
        lines.append(
            f"| {row} | {aspect} | {given} | {suggested} | {score:.4f} | {_md_cell(text)} |"
        )
    lines += ["", f"All flagged cells: {ISSUES_FILE}.", "", "## Hardest reviews", ""]
    lines += [
        "| row | lowest score | aspect | flagged cells | text |",
        "| ---: | ---: | --- | ---: | --- |",
    ]
    for n in analysis.hardest(10):
        a = int(np.nanargmin(i.score[n]))
        lines.append(
            f"| {r.rows[n]} | {i.score[n, a]:.4f} | {r.aspects[a]} | {int(i.flagged[n].sum())} | "
            f"{_md_cell(r.texts[n])} |"
        )
    lines += ["", "## (Near-)duplicate reviews with different labels", ""]
    if not analysis.conflicts:
        lines.append("None.")
    else:
        lines += ["| rows | similarity | labels (first / second) |", "| --- | ---: | --- |"]
        for p in analysis.conflicts[:20]:
            labels = "; ".join(
                f"{r.aspects[a]}: {CANONICAL_CLASSES[r.labels[p.first, a]]} / "
                f"{CANONICAL_CLASSES[r.labels[p.second, a]]}"
                for a in p.aspects
            )
            lines.append(
                f"| {r.rows[p.first]}, {r.rows[p.second]} | {p.similarity:.3f} | {labels} |"
            )
        lines.append(f"\nAll pairs: {CONFLICTS_FILE}.")
    return "\n".join(lines) + "\n"


def write_report(analysis: Analysis, out: Path) -> None:
    """Every file: the tables, ``summary.json``, ``noise.png`` and ``report.md``."""
    out.mkdir(parents=True, exist_ok=True)
    write_tables(analysis, out)
    write_picture(analysis, out / PICTURE_FILE)
    text = render_markdown(analysis)
    atomic_write(out / REPORT_FILE, lambda tmp: tmp.write_text(text, encoding="utf-8"))

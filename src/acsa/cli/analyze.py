"""``acsa analyze CONFIG``: probable label errors, noise per aspect, clean copy, Label Studio."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from acsa.cli._console import console
from acsa.logs import setup_logging


def analyze(
    config: Annotated[Path, typer.Argument(help="YAML config whose data: section to analyse.")],
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Folder of the data files (overrides data.dir)."),
    ] = None,
    split: Annotated[
        str, typer.Option("--split", help="Which file to analyse: train, validation or test.")
    ] = "train",
    folds: Annotated[int, typer.Option("--folds", min=2, help="Cross-fitting folds (k).")] = 5,
    encoder: Annotated[
        str,
        typer.Option(
            "--encoder",
            help="Model cross-fitted for the probabilities: tfidf (fast), or config (the "
            "config's model; a network is trained once per fold: slow).",
        ),
    ] = "tfidf",
    rule: Annotated[
        str,
        typer.Option(
            "--rule",
            help="Which cells to flag: strict (cleanlab's confident learning and a decisive "
            "out-of-fold margin; precise) or cleanlab (cleanlab's default; about twice the "
            "flags, for a full review in a labelling tool).",
        ),
    ] = "strict",
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the report and tables.")
    ] = Path("acsa-analysis"),
    write_clean: Annotated[
        Path | None,
        typer.Option(
            "--write-clean", help="Write a copy of the data with the flagged cells fixed here."
        ),
    ] = None,
    policy: Annotated[
        str,
        typer.Option("--policy", help="With --write-clean: relabel, drop (the review) or mask."),
    ] = "relabel",
    seed: Annotated[int, typer.Option("--seed", min=0, help="Shuffles reviews into folds.")] = 0,
    jobs: Annotated[
        int, typer.Option("--jobs", "-j", min=1, help="Folds fitted in parallel processes.")
    ] = 2,
    top: Annotated[int, typer.Option("--top", min=0, help="Flagged cells to print.")] = 10,
) -> None:
    """Find the (review, aspect) cells whose label is probably wrong (cleanlab)."""
    setup_logging()
    from acsa.analysis.run import analyze as run_analysis
    from acsa.training.config import load_config

    overrides = {"data.dir": str(data_dir.expanduser().resolve()) if data_dir is not None else None}
    cfg = load_config(config, overrides)
    fold_fitter = None
    if encoder == "config" and cfg.model.encoder != "tfidf":
        from acsa.cli._analyze_network import network_fold_fitter

        fold_fitter = network_fold_fitter(cfg, split)
    result = run_analysis(
        cfg.data,
        cfg.model,
        split=split,
        folds=folds,
        encoder=encoder,
        out_dir=output,
        seed=seed,
        jobs=jobs,
        write_clean=write_clean,
        policy=policy,
        rule=rule,
        fold_fitter=fold_fitter,
    )
    _print_summary(result, top)


def _print_summary(result, top: int) -> None:  # noqa: ANN001 - AnalyzeResult, imported lazily
    from rich.table import Table

    from acsa.analysis.report import REPORT_FILE, issue_rows

    out = console()
    analysis = result.analysis
    s = analysis.summary()
    table = Table(title=f"Estimated label noise ({s['split']}: {s['source']})")
    for name in ("aspect", "cells", "flagged", "est. noise"):
        table.add_column(name, justify="left" if name == "aspect" else "right")
    for aspect, row in s["per_aspect"].items():
        table.add_row(
            aspect, str(row["cells"]), str(row["flagged"]), f"{row['estimated_noise_rate']:.1%}"
        )
    out.print(table)
    if top:
        cells = Table(title=f"Most suspicious cells (of {s['flagged_cells']})")
        for name in ("row", "aspect", "given", "suggested", "score", "text"):
            cells.add_column(name, overflow="fold" if name == "text" else "ellipsis")
        for row, aspect, text, given, suggested, score in issue_rows(analysis)[:top]:
            short = " ".join(text.split())
            cells.add_row(str(row), aspect, given, suggested, f"{score:.3f}", short[:90])
        out.print(cells)
    out.print(
        f"{s['flagged_cells']} flagged cells in {s['reviews_with_flagged_cells']} of "
        f"{s['reviews']} reviews; {s['conflicting_duplicate_pairs']} (near-)duplicate pairs with "
        f"different labels; report: {result.out_dir / REPORT_FILE}"
    )
    if result.label_studio is not None:
        tasks, xml = result.label_studio
        out.print(f"Label Studio: import {tasks} with the labelling config {xml}")
    if result.clean_file is not None:
        copied = ", ".join(p.name for p in result.copied)
        out.print(
            f"clean copy: {result.clean_file}"
            + (f" (copied unchanged beside it: {copied})" if copied else "")
        )

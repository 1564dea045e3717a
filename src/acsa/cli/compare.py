"""``acsa compare CONFIG --variants FILE``: train loss variants over seeds and compare them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from acsa.cli._console import console


def compare(
    config: Annotated[
        Path, typer.Argument(help="Base training config (YAML); each variant replaces its loss.")
    ],
    variants: Annotated[
        Path, typer.Option("--variants", help="Variants file, e.g. configs/compare_losses.yaml.")
    ],
    seeds: Annotated[
        str,
        typer.Option(
            "--seeds",
            help="Seeds per variant (0..n-1), or 'auto': from 3, add one at a time until the "
            "verdicts hold for 2 additions or --max-seeds.",
        ),
    ] = "5",
    max_seeds: Annotated[
        int, typer.Option("--max-seeds", min=3, help="Most seeds for --seeds auto.")
    ] = 10,
    epochs: Annotated[
        int | None,
        typer.Option("--epochs", min=1, help="Epochs per run (default: variants file, config)."),
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for runs/, the report and plots.")
    ] = Path("runs/compare"),
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Runs in parallel.")] = 1,
    baseline: Annotated[
        str | None,
        typer.Option("--baseline", help="Variant to compare against (default: file, 'focal')."),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Overrides the config's data.dir.")
    ] = None,
    bootstrap: Annotated[
        int, typer.Option("--bootstrap", min=100, help="Bootstrap replicates.")
    ] = 2000,
    threads: Annotated[
        int | None,
        typer.Option("--threads", min=1, help="Torch threads per run (default: cores / jobs)."),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="local (this machine, --jobs processes) or ray (each run a Ray task).",
        ),
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(
            "--address", help="--engine ray: the cluster's head HOST:6379 (default: local Ray)."
        ),
    ] = None,
    gpus_per_run: Annotated[
        float,
        typer.Option("--gpus-per-run", min=0.0, help="--engine ray: GPUs Ray reserves per run."),
    ] = 0.0,
    write_docs: Annotated[
        Path | None,
        typer.Option(
            "--write-docs",
            help="Also write the tables and plots into this Markdown file, between "
            "'<!-- compare-report:<variants file stem>:begin/end -->' lines.",
        ),
    ] = None,
) -> None:
    """Train every loss variant over the same seeds and compare them with confidence intervals."""
    from acsa.compare.harness import compare as run_comparison
    from acsa.compare.rendering import advice_lines, terminal_table
    from acsa.compare.store import ERROR_FILE
    from acsa.errors import ConfigError, TrainingError

    # one-line errors naming the option (not a usage box), as every acsa error
    if engine not in ("local", "ray"):
        raise ConfigError(f"--engine: expected local or ray, got {engine!r}")
    if engine != "ray" and (address is not None or gpus_per_run):
        raise ConfigError("--address and --gpus-per-run need --engine ray")
    executor = None
    if engine == "ray":
        from acsa.cluster import import_ray
        from acsa.compare.execution import RayExecutor

        import_ray("--engine ray")  # a missing extra is said before any run starts
        # --threads: the CPUs (and torch threads) of each run's Ray task
        executor = RayExecutor(address, cpus_per_run=threads or 1, gpus_per_run=gpus_per_run)
    if write_docs is not None:
        from acsa.compare.rendering import check_docs_block

        # before any training: a missing block found after an hour of runs helps nobody
        check_docs_block(write_docs, variants.stem)
    out = console()
    result = run_comparison(
        config,
        variants,
        seeds=seeds,
        max_seeds=max_seeds,
        epochs=epochs,
        output_dir=output,
        jobs=jobs,
        baseline=baseline,
        data_dir=data_dir,
        n_boot=bootstrap,
        threads=threads,
        executor=executor,
        progress=lambda line: out.print(line, highlight=False),
    )
    out.print(terminal_table(result.report))
    for line in advice_lines(result.report):
        out.print(line, highlight=False)
    out.print(f"report: {result.files['markdown']}  data: {result.files['json']}")
    if write_docs is not None:
        from acsa.compare.rendering import write_docs as write_docs_block

        written = write_docs_block(result.report, result.output_dir, write_docs, variants.stem)
        out.print(f"docs: {written} (block {variants.stem!r})")
    if result.failed:
        first = result.failed[0]
        if len(result.failed) == len(result.records):
            # nothing was compared: most likely the config or data, so exit as a user error
            raise TrainingError(
                f"every run failed; first: {first.variant} seed {first.seed}: {first.error} "
                f"(traceback in {first.output_dir / ERROR_FILE})"
            )
        out.print(
            f"{len(result.failed)} run(s) failed, e.g. {first.variant} seed {first.seed}: "
            f"{first.error}; rerun the same command to retry only those",
            style="yellow",
            highlight=False,
        )

"""``acsa validate-data CONFIG``: read every split and report label statistics, no training."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from acsa.cli._console import console
from acsa.logs import setup_logging


def validate_data(
    config: Annotated[Path, typer.Argument(help="YAML config whose data: section to check.")],
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Folder of the data files (overrides data.dir)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Read every split, report label statistics per aspect and warnings; no training."""
    setup_logging()
    import logging

    from acsa.data import load_and_validate
    from acsa.data.config import data_dir_override
    from acsa.data.validation import plural
    from acsa.training.config import load_config
    from acsa.training.preflight import preflight

    overrides = {"data.dir": str(data_dir_override(data_dir)) if data_dir is not None else None}
    cfg = load_config(config, overrides)
    preflight(config, cfg, training=False)
    # the report below lists every finding: the readers' own warnings would say them twice
    data_logger = logging.getLogger("acsa.data")
    level = data_logger.level
    data_logger.setLevel(logging.ERROR)
    try:
        splits, report = load_and_validate(cfg.data)
    finally:
        data_logger.setLevel(level)
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
        return
    out = console()
    out.print(report)
    sizes = ", ".join(f"{name} {len(reviews)}" for name, reviews in splits.items())
    out.print(f"ok: {sizes} reviews; {plural(len(report.warnings), 'warning')}")

"""``acsa compare``: which loss is better on my data? Multi-seed runs, paired statistics.

Every variant (a named ``loss:`` section) is trained with the same seeds,
data and budget into ``DIR/runs/<variant>/seed<k>/``; seed ``k`` of a variant
is paired with seed ``k`` of the baseline, and all runs are scored on the
same test reviews, so differences are measured pairwise.

Modules, one concept each:

* :mod:`~acsa.compare.variants`: the variants file and each variant's config;
* :mod:`~acsa.compare.store`: run folders, fingerprints, saved records, resume;
* :mod:`~acsa.compare.execution`: one run, and the executors (local process pool, Ray);
* :mod:`~acsa.compare.pipeline`: the real training pipeline as ``run_one``;
* :mod:`~acsa.compare.analysis`: statistics over the records;
* :mod:`~acsa.compare.rendering`: Markdown, JSON and the terminal table;
* :mod:`~acsa.compare.harness`: :func:`compare`, which ties them together.
"""

from __future__ import annotations

from acsa.compare.analysis import analyse
from acsa.compare.execution import (
    Executor,
    LocalExecutor,
    RayExecutor,
    RunOne,
    RunTask,
    execute,
)
from acsa.compare.harness import ComparisonResult, compare
from acsa.compare.pipeline import make_pipeline_runner, record_from_result, train_variant
from acsa.compare.rendering import render_markdown
from acsa.compare.store import (
    DONE_FILE,
    ERROR_FILE,
    METRICS,
    PREDICTIONS_FILE,
    RECORD_FILE,
    RunRecord,
    load_record,
    read_predictions_csv,
    recover_record,
    run_dir,
    save_record,
)
from acsa.compare.variants import (
    Variant,
    VariantsFile,
    load_variants,
    validate_variants,
    variant_config,
)

__all__ = [
    "DONE_FILE",
    "ERROR_FILE",
    "METRICS",
    "PREDICTIONS_FILE",
    "RECORD_FILE",
    "ComparisonResult",
    "Executor",
    "LocalExecutor",
    "RayExecutor",
    "RunOne",
    "RunRecord",
    "RunTask",
    "Variant",
    "VariantsFile",
    "analyse",
    "compare",
    "execute",
    "load_record",
    "load_variants",
    "make_pipeline_runner",
    "read_predictions_csv",
    "record_from_result",
    "recover_record",
    "render_markdown",
    "run_dir",
    "save_record",
    "train_variant",
    "validate_variants",
    "variant_config",
]

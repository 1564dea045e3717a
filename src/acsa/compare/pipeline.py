"""The real training pipeline as a comparison's ``run_one``: train one (variant, seed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acsa.compare.execution import RunOne
from acsa.compare.store import METRICS, RunRecord
from acsa.compare.variants import Variant, validate_variants, variant_config
from acsa.errors import DataError

if TYPE_CHECKING:
    from acsa.training.finish import TrainResult


def record_from_result(result: TrainResult, variant: str, seed: int) -> RunRecord:
    """A :class:`RunRecord` from the :class:`acsa.training.run.TrainResult` of one run."""
    test = result.metrics.get("test")
    scored = result.test_predictions
    if test is None or scored is None:
        raise DataError(
            f"{result.output_dir}: no test metrics; compare needs a test split (data.test)"
        )
    return RunRecord(
        variant=variant,
        seed=seed,
        output_dir=Path(result.output_dir),
        metrics={k: float(test[k]) for k in METRICS if test.get(k) is not None},
        aspects=list(scored.aspects),
        gold=scored.gold,
        pred=scored.pred,
        mask=scored.mask,
        val_pair_f1=[float(e["eval_pair_f1"]) for e in result.history if "eval_pair_f1" in e],
        train_time_s=result.timings.get("train"),
    )


def train_variant(
    config_path: Path,
    variant: Variant,
    seed: int,
    output_dir: Path,
    *,
    epochs: int | None = None,
    data_dir: str | Path | None = None,
    common: Mapping[str, Any] | None = None,
) -> RunRecord:
    """``run_one`` of the real pipeline: train one (variant, seed) into ``output_dir``."""
    from acsa.training.run import train

    config = variant_config(
        Path(config_path), variant, seed, Path(output_dir), epochs, data_dir, common
    )
    config.training.progress_bar = False
    result = train(config, quiet=True)
    return record_from_result(result, variant.name, seed)


def make_pipeline_runner(
    config: Path,
    variants: Sequence[Variant],
    epochs: int | None,
    data_dir: str | Path | None,
    common: Mapping[str, Any] | None = None,
) -> RunOne:
    """A picklable ``run_one`` that trains with the real pipeline (configs checked up front)."""
    validate_variants(config, variants, epochs, data_dir, common)
    return partial(train_variant, config, epochs=epochs, data_dir=data_dir, common=common)

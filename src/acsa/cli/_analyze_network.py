"""``acsa analyze --encoder config``: cross-fit the configured network, one training per fold.

Each fold's training part is written as a copy of the analysed file in its own
format with the held-out reviews left out (the ``drop`` policy of
:func:`acsa.analysis.clean.write_clean_copy`), the config's network is trained
on it (``acsa train``'s pipeline, validation on the config's validation file,
no test file, no TF-IDF baseline) and predicts the held-out reviews' class
probabilities. Slow: one full training per fold.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from acsa.errors import ConfigError

logger = logging.getLogger("acsa.analysis")


def network_fold_fitter(config: Any, split: str, work_dir: Path | None = None) -> Any:
    """A :data:`acsa.analysis.crossfit.FoldFitter` training ``config``'s network per fold.

    Args:
        config: the loaded :class:`~acsa.training.config.AcsaConfig` (paths absolute).
        split: the analysed split; only ``train`` (the validation file stops each
            fold's training, so it must not be the analysed one).
        work_dir: where the fold files and runs go (a temporary folder if None).
    """
    if split != "train":
        raise ConfigError(
            f"--encoder config with --split {split}: the configured network is cross-fitted "
            "on the training file only (its validation file stops each fold's training); use "
            "--split train, or --encoder tfidf"
        )
    if config.data.validation is None:
        raise ConfigError(
            "--encoder config: data.validation is not set, but each fold's training needs a "
            "validation file; set data.validation, or use --encoder tfidf"
        )
    counter = iter(range(1_000_000))

    def fit_predict(reviews: Any, train_idx: np.ndarray, test_idx: np.ndarray) -> np.ndarray:
        from acsa import api
        from acsa.analysis.clean import write_clean_copy
        from acsa.training.run import train

        k = next(counter)
        with tempfile.TemporaryDirectory(prefix="acsa_fold_", dir=work_dir) as tmp:
            held_out = np.zeros(reviews.labels.shape, dtype=bool)
            held_out[test_idx, 0] = True
            data = config.data.model_copy(update={"test": None})
            fold_file = write_clean_copy(
                reviews, held_out, reviews.labels, "drop", data, Path(tmp) / "data"
            )
            fold_config = config.model_copy(
                update={
                    "data": data.model_copy(update={"train": fold_file}),
                    "training": config.training.model_copy(
                        update={"baseline": False, "progress_bar": False}
                    ),
                    "output": config.output.model_copy(
                        update={"dir": str(Path(tmp) / "run"), "overwrite": True}
                    ),
                }
            )
            logger.info(
                "fold %d: training %s on %d reviews", k + 1, config.model.encoder, len(train_idx)
            )
            result = train(fold_config, write_plots=False, quiet=True)
            predictor = api.load(result.model_dir)
            return predictor.predict_proba([reviews.texts[i] for i in test_idx])

    return fit_predict

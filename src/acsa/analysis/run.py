"""``analyze()``: cross-fit, find the probable label errors, write the report and copies."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acsa.analysis.clean import check_clean_options, copy_other_splits, write_clean_copy
from acsa.analysis.crossfit import FoldFitter, out_of_fold_proba
from acsa.analysis.duplicates import conflicting_pairs
from acsa.analysis.issues import DEFAULT_RULE, check_rule, find_cell_issues
from acsa.analysis.label_studio import write_label_studio
from acsa.analysis.report import Analysis, write_report
from acsa.data.config import DataConfig
from acsa.data.readers import load_split
from acsa.data.reviews import LabeledReviews
from acsa.data.validation import resolve_aspects
from acsa.errors import ArgumentError, optional_import
from acsa.models.tfidf import TfidfModelConfig

logger = logging.getLogger("acsa.analysis")

SPLITS = ("train", "validation", "test")
ENCODERS = ("tfidf", "config")


@dataclass
class AnalyzeResult:
    analysis: Analysis
    out_dir: Path
    clean_file: Path | None = None
    copied: list[Path] = field(default_factory=list)
    label_studio: tuple[Path, Path] | None = None


def load_analysed_split(
    data: DataConfig, split: str, base: Path
) -> tuple[LabeledReviews, DataConfig]:
    """The whole file of ``split`` (never cut into train and validation) and the resolved config."""
    if split not in SPLITS:
        raise ArgumentError(
            "{split:{got}}: unknown; use one of {allowed}", got=split, allowed=", ".join(SPLITS)
        )
    config = resolve_aspects(data, base).resolve_paths(base)
    path = getattr(config, split)
    if path is None:
        raise ArgumentError(
            "data.{name}: not set, so there is no {name} file to analyse; set it or choose "
            "another {split}",
            name=split,
        )
    return load_split(path, config), config


def tfidf_config(model_config: Any, encoder: str) -> TfidfModelConfig:
    """The cross-fitting model's options: the config's own when it is a TF-IDF model."""
    if encoder not in ENCODERS:
        raise ArgumentError(
            "{encoder:{got}}: unknown; use {encoder:tfidf} (fast) or {encoder:config} (the "
            "config's model: {model}, one training per fold)",
            got=encoder,
            model=getattr(model_config, "encoder", "?"),
        )
    if getattr(model_config, "encoder", None) == "tfidf":
        return model_config
    return TfidfModelConfig()


def needs_network(model_config: Any, encoder: str) -> bool:
    """True when ``--encoder config`` asks for a network (not a TF-IDF model) per fold."""
    tfidf_config(model_config, encoder)  # validates the name
    return encoder == "config" and getattr(model_config, "encoder", None) != "tfidf"


def analyze(
    data: DataConfig,
    model_config: Any,
    *,
    split: str = "train",
    folds: int = 5,
    encoder: str = "tfidf",
    out_dir: Path,
    base: Path | None = None,
    seed: int = 0,
    jobs: int = 1,
    write_clean: Path | None = None,
    policy: str = "relabel",
    label_studio: bool = True,
    rule: str = DEFAULT_RULE,
    fold_fitter: FoldFitter | None = None,
) -> AnalyzeResult:
    """Analyse one split and write everything into ``out_dir`` (see :mod:`acsa.analysis.report`).

    ``fold_fitter`` cross-fits another model than TF-IDF (``--encoder config``
    with a network: the command line passes one that trains the network per fold).

    Raises:
        ConfigError, DataError: one line (bad option, bad data).
    """
    optional_import("cleanlab", "analyze", "acsa analyze")
    base = Path.cwd() if base is None else base
    options = tfidf_config(model_config, encoder)
    if needs_network(model_config, encoder) and fold_fitter is None:
        raise ArgumentError(
            "{encoder:config}: cross-fitting the {model} network needs its training "
            "pipeline; run acsa analyze from the command line, or use {encoder:tfidf}",
            model=model_config.encoder,
        )
    check_rule(rule)
    reviews, resolved = load_analysed_split(data, split, base)
    if write_clean is not None:
        check_clean_options(reviews.source, resolved, policy, write_clean)
    fitter = fold_fitter if needs_network(model_config, encoder) else None
    probs = out_of_fold_proba(
        reviews, folds, config=options, seed=seed, jobs=jobs, fit_predict=fitter
    )
    issues = find_cell_issues(reviews, probs, rule=rule)
    name = model_config.encoder if fitter is not None else "tfidf"
    analysis = Analysis(reviews, issues, conflicting_pairs(reviews), folds, name, split, rule)
    write_report(analysis, out_dir)
    result = AnalyzeResult(analysis, out_dir)
    if label_studio:
        result.label_studio = write_label_studio(reviews, issues, resolved, out_dir)
    if write_clean is not None:
        result.clean_file = write_clean_copy(
            reviews, issues.flagged, issues.suggested, policy, resolved, write_clean
        )
        others = [resolved.train, resolved.validation, resolved.test]
        result.copied = copy_other_splits(others, reviews.source, write_clean)
    return result

"""Where things are, which modules are mutated and which tests are meant to catch them."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src"
PACKAGE = SRC / "acsa"
DOC = ROOT / "docs" / "RELIABILITY.md"
MARKERS = ("<!-- mutation-report:begin -->", "<!-- mutation-report:end -->")
COMMAND = "python -m tools.mutation --write-docs"
DEFAULT_SAMPLE = 100

# the modules behind acsa.data.load_split: one area of the report
READER_MODULES = (
    "data/readers.py",
    "data/reviews.py",
    "data/text_files.py",
    "data/label_spellings.py",
    "data/wide_csv.py",
    "data/label_lists.py",
)
READER_AREA = "data/ readers"
READER_TESTS = [
    "tests/test_data_readers.py",
    "tests/test_data_properties.py",
    "tests/test_data_bad_inputs.py",
    "tests/test_data_label_column.py",
    "tests/test_data_aspects.py",
    "tests/test_data_validation.py",
]

# module (relative to src/acsa, glob allowed, ":f1,f2" restricts to those functions)
# -> the test files that are meant to catch its bugs
GROUPS: dict[str, dict[str, list[str]]] = {
    "target": {
        "evaluation/metrics.py": [
            "tests/test_metrics.py",
            "tests/test_count_scores.py",
            "tests/test_significance.py",
        ],
        "evaluation/f1.py": [
            "tests/test_metrics.py",
            "tests/test_count_scores.py",
            "tests/test_significance.py",
            "tests/test_decision_rule.py",
        ],
        "evaluation/significance.py": [
            "tests/test_significance.py",
            "tests/test_significance_calibration.py",
            "tests/test_compare.py",
        ],
        "evaluation/seed_power.py": ["tests/test_significance.py", "tests/test_compare.py"],
        "losses/*.py": ["tests/test_losses_*.py"],
        **dict.fromkeys(READER_MODULES, READER_TESTS),
    },
    "extended": {
        "evaluation/count_scores.py": ["tests/test_count_scores.py", "tests/test_compare.py"],
        "evaluation/scoring.py": ["tests/test_training.py", "tests/test_api.py"],
        "data/label_space.py": ["tests/test_data_*.py"],
        "data/dataset.py:class_counts": [
            "tests/test_data_dataset.py",
            "tests/test_losses_weights.py",
        ],
        "training/run.py:_best_validation,_build_loss,_save_best_model": ["tests/test_training.py"],
        "training/finish.py:report_run,with_rule": ["tests/test_training.py"],
    },
}

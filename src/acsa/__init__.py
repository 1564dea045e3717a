"""acsa: aspect-category sentiment analysis on imbalanced data."""

__version__ = "0.1.0"

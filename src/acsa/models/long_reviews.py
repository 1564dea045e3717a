"""How many reviews are longer than an encoder reads: nothing is cut silently.

:func:`count_truncated` works for every featurizer: one that reports its own
counts (``long_review_counts``, the Hugging Face featurizer: truncation or
windows) answers itself; the offline featurizer reads the first ``max_length``
tokens of its tokenization (``truncate``) or up to ``max_length * max_windows``
(``windows``, read whole), which is counted here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acsa.models.featurizer import Featurizer


def count_truncated(featurizer: Featurizer, texts: Sequence[str]) -> dict[str, Any] | None:
    """Counts of ``texts`` longer than the featurizer's ``max_length``, and what happens to them.

    Returns:
        ``{"policy", "max_length", "reviews", "longer_than_max_length", "truncated",
        "windowed"}`` (``truncated``: reviews whose end the model never sees;
        ``windowed``: reviews read as several windows), or ``None`` for a
        featurizer that cannot tell.
    """
    own = getattr(featurizer, "long_review_counts", None)
    if callable(own):
        return dict(own(texts))
    from acsa.models.offline_featurizer import OfflineFeaturizer
    from acsa.models.text import tokenize

    if not isinstance(featurizer, OfflineFeaturizer):
        return None
    config = featurizer.config
    lengths = [len(tokenize(text, config.lowercase)) for text in texts]
    longer = sum(n > config.max_length for n in lengths)
    counts: dict[str, Any] = {
        "policy": config.long_reviews,
        "max_length": config.max_length,
        "reviews": len(texts),
        "longer_than_max_length": longer,
    }
    if config.long_reviews == "windows":
        counts["windowed"] = longer
        counts["truncated"] = sum(n > config.read_limit for n in lengths)
        counts["max_windows"] = config.max_windows
    else:
        counts["windowed"] = 0
        counts["truncated"] = longer
    return counts


def notice(counts: dict[str, dict[str, Any]], key: str = "model.max_length") -> str | None:
    """One line over the splits' ``counts`` (``None`` when no review is longer than
    ``max_length``): how many per split, and what the policy does to them."""
    longer = {name: c["longer_than_max_length"] for name, c in counts.items()}
    if not any(longer.values()):
        return None
    first = next(iter(counts.values()))
    parts = [f"{n} of {counts[name]['reviews']} {name}" for name, n in longer.items() if n]
    text = f"{', '.join(parts)} reviews are longer than {key} = {first['max_length']} tokens"
    if first.get("policy") == "windows":
        cut = sum(c.get("truncated", 0) for c in counts.values())
        tail = f"; {cut} exceed model.max_windows and lose their end" if cut else ""
        return f"{text}: read as overlapping windows{tail}"
    return f"{text}: their end is truncated (run.json: long_reviews)"

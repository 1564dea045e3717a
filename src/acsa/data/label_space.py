"""The label space: aspects, classes and the two label schemes (GUIDE.md section 1).

Two encodings exist:

* **canonical** (used by readers, gold labels and metrics): per cell one of
  ``0 = none, 1 = negative, 2 = neutral, 3 = positive``.
* **scheme** (used by the model and the loss): the class indices of
  ``label_space.classes``. For ``with_none`` this equals the canonical
  encoding; for ``seed`` the classes are ``positive, negative, neutral`` (the
  older scripts' order) and an empty cell becomes ``neutral``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

NONE, NEGATIVE, NEUTRAL, POSITIVE = 0, 1, 2, 3
CANONICAL_CLASSES: tuple[str, ...] = ("none", "negative", "neutral", "positive")
POLARITIES: tuple[str, ...] = ("negative", "neutral", "positive")
# canonical index -> the cell text of the wide CSV files written by acsa; none is an empty cell
CELL_NAMES: dict[int, str] = {
    NONE: "",
    NEGATIVE: "Negative",
    NEUTRAL: "Neutral",
    POSITIVE: "Positive",
}

LabelScheme = Literal["with_none", "seed"]
SCHEME_CLASSES: dict[str, tuple[str, ...]] = {
    "with_none": CANONICAL_CLASSES,
    "seed": ("positive", "negative", "neutral"),
}
# canonical index -> scheme index
_TO_SCHEME: dict[str, np.ndarray] = {
    "with_none": np.array([0, 1, 2, 3]),
    "seed": np.array([2, 1, 2, 0]),  # none -> neutral, as the older scripts did
}
# scheme index -> canonical index (seed: a predicted "neutral" is read as "none",
# because nearly all cells the seed scheme calls neutral are unmentioned aspects)
_TO_CANONICAL: dict[str, np.ndarray] = {
    "with_none": np.array([0, 1, 2, 3]),
    "seed": np.array([3, 1, 0]),
}


@dataclass(frozen=True)
class LabelSpace:
    """Aspect names and the class set of one label scheme.

    Args:
        aspects: aspect names in column order, e.g. ``("Battery", "Camera")``.
        scheme: ``"with_none"`` (4 classes, default) or ``"seed"`` (3 classes).
    """

    aspects: tuple[str, ...]
    scheme: LabelScheme = "with_none"

    def __post_init__(self) -> None:
        if self.scheme not in SCHEME_CLASSES:
            raise ValueError(
                f"label scheme must be one of {sorted(SCHEME_CLASSES)}, got {self.scheme!r}"
            )
        if len(self.aspects) == 0:
            raise ValueError("a label space needs at least one aspect")
        if len(set(self.aspects)) != len(self.aspects):
            raise ValueError(f"aspect names must be unique, got {list(self.aspects)}")
        object.__setattr__(self, "aspects", tuple(self.aspects))

    @property
    def classes(self) -> tuple[str, ...]:
        return SCHEME_CLASSES[self.scheme]

    @property
    def num_aspects(self) -> int:
        return len(self.aspects)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def to_scheme(self, canonical: np.ndarray) -> np.ndarray:
        """Map canonical labels ``[N, A]`` to the scheme's class indices."""
        return _TO_SCHEME[self.scheme][np.asarray(canonical)]

    def to_canonical(self, scheme_labels: np.ndarray) -> np.ndarray:
        """Map the scheme's class indices (e.g. argmax predictions) to canonical labels."""
        return _TO_CANONICAL[self.scheme][np.asarray(scheme_labels)]

    def to_dict(self) -> dict[str, object]:
        return {"aspects": list(self.aspects), "scheme": self.scheme, "classes": list(self.classes)}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> LabelSpace:
        aspects = data["aspects"]
        if not isinstance(aspects, Sequence) or isinstance(aspects, str):
            raise ValueError("label space 'aspects' must be a list of names")
        return cls(aspects=tuple(str(a) for a in aspects), scheme=data.get("scheme", "with_none"))  # type: ignore[arg-type]

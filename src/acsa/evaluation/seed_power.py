"""How many seeds? The power of the two-level comparison, from its bootstrap replicates.

From the replicates: ``sd_seed``, the standard
deviation of the paired differences over seeds; ``v_shared``, the test-set
sampling shared by all seeds (the mean covariance, across review resamples,
of two different seeds' differences); ``v_own``, each seed's own test-set
noise (``var(review level) = v_shared + v_own / S``). The rule's standard
error with ``S`` seeds is ``sqrt((sd_seed^2 + v_own) / S + v_shared)`` and the
smallest difference it detects with power ``1 - b`` at level ``a`` is about
``(t_{S-1, 1-a/2} + t_{S-1, 1-b}) * se`` (the usual paired-t power
approximation). ``v_shared`` does not shrink with more seeds: past a point
only a larger test set helps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from acsa.evaluation.significance import MIN_SEEDS, PairedReplicates, finite_or_none


def minimum_detectable_difference(
    seed_sd: float,
    shared_sd: float,
    n_seeds: int | np.ndarray,
    alpha: float = 0.05,
    power: float = 0.8,
    own_sd: float = 0.0,
) -> float | np.ndarray:
    """Smallest mean difference a two-sided test at ``alpha`` detects with ``power``.

    ``(t_{S-1, 1-alpha/2} + t_{S-1, power}) * sqrt((seed_sd^2 + own_sd^2) / S + shared_sd^2)``
    (module docstring); ``n_seeds`` may be an array (one value per seed count).
    """
    n = np.asarray(n_seeds, dtype=np.float64)
    if np.any(n < 2):
        raise ValueError(f"need at least 2 seeds, got {n_seeds}")
    df = n - 1
    se = np.sqrt((seed_sd**2 + own_sd**2) / n + shared_sd**2)
    mde = (stats.t.ppf(1 - alpha / 2, df) + stats.t.ppf(power, df)) * se
    return float(mde) if mde.ndim == 0 else mde


def seeds_needed(
    delta: float,
    seed_sd: float,
    shared_sd: float,
    alpha: float = 0.05,
    power: float = 0.8,
    own_sd: float = 0.0,
    max_seeds: int = 1000,
) -> int | None:
    """Fewest seeds (at least :data:`MIN_SEEDS`) whose detectable difference is <= ``delta``.

    ``None`` when even ``max_seeds`` do not suffice: the test set's shared
    sampling (``shared_sd``) then limits the comparison, and only a larger
    test set helps.
    """
    counts = np.arange(MIN_SEEDS, max_seeds + 1)
    mde = minimum_detectable_difference(seed_sd, shared_sd, counts, alpha, power, own_sd)
    ok = np.flatnonzero(np.asarray(mde) <= delta)
    return int(counts[ok[0]]) if ok.size else None


@dataclass(frozen=True)
class SeedAdvice:
    """How precise the comparison was, and how many seeds a target difference needs.

    ``seed_sd``: spread of the paired differences over seeds; ``test_sd``:
    test-set sampling shared by all seeds; ``own_test_sd``: one seed's own
    test-set noise; ``mde``: the smallest difference detected at ``alpha``
    with ``power`` at ``n_seeds``; ``seeds_for``: target difference -> seeds
    (``None``: not reachable by adding seeds).
    """

    n_seeds: int
    seed_sd: float
    test_sd: float
    own_test_sd: float
    mde: float
    alpha: float
    power: float
    seeds_for: dict[float, int | None]

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["seeds_for"] = {f"{k:g}": v for k, v in self.seeds_for.items()}
        return {k: finite_or_none(v) for k, v in data.items()}


def seed_advice(
    reps: PairedReplicates,
    column: int = 0,
    targets: Sequence[float] = (0.005, 0.01),
    alpha: float = 0.05,
    power: float = 0.8,
) -> SeedAdvice | None:
    """The detectable difference at this many seeds, and the seeds for each target difference.

    ``None`` with fewer than 2 seeds (no seed-to-seed variance to go on).
    """
    if reps.n_seeds < 2:
        return None
    seed_sd = float(reps.observed[:, column].std(ddof=1))
    shared = float(np.sqrt(reps.shared_test_variance()[column]))
    own = float(np.sqrt(reps.per_seed_test_variance()[column]))
    return SeedAdvice(
        n_seeds=reps.n_seeds,
        seed_sd=seed_sd,
        test_sd=shared,
        own_test_sd=own,
        mde=float(minimum_detectable_difference(seed_sd, shared, reps.n_seeds, alpha, power, own)),
        alpha=alpha,
        power=power,
        seeds_for={t: seeds_needed(t, seed_sd, shared, alpha, power, own) for t in targets},
    )

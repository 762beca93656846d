"""Small statistics shared by the benchmarks: one-sided tests that one sample is larger, a summary of a
sample, and a bootstrap interval of a rank correlation. SciPy does the tests; undefined values (too few
samples, no spread) come back as None, since strict JSON has no NaN."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats


def finite(value: float) -> float | None:
    """``value``, or None when it is NaN or infinite."""
    return value if math.isfinite(value) else None


def welch(ours: Sequence[float], reference: Sequence[float]) -> dict[str, float | None]:
    """Welch's t-test: two-sided, and one-sided that ``ours`` is larger (None with fewer than two each)."""
    if len(ours) < 2 or len(reference) < 2 or (len(set(ours)) == 1 and len(set(reference)) == 1):
        return {"p_two_sided": None, "p_greater": None}  # no spread at all: t is undefined
    two = stats.ttest_ind(ours, reference, equal_var=False).pvalue
    greater = stats.ttest_ind(ours, reference, equal_var=False, alternative="greater").pvalue
    return {"p_two_sided": finite(float(two)), "p_greater": finite(float(greater))}


def mann_whitney_greater(ours: Sequence[float], reference: Sequence[float]) -> float | None:
    """One-sided Mann-Whitney U p-value that ``ours`` tends to be larger (None with fewer than two each)."""
    if len(ours) < 2 or len(reference) < 2:
        return None
    return finite(float(stats.mannwhitneyu(ours, reference, alternative="greater").pvalue))


def describe(values: Sequence[float], optimum: float | None = None) -> dict[str, Any]:
    """Mean, sample SD, n, median, min, max; with ``optimum`` also the regret (optimum - value), its SD and
    how many values reach the optimum."""
    n = len(values)
    mean = statistics.fmean(values) if values else math.nan
    out: dict[str, Any] = {
        "mean": mean,
        "std": statistics.stdev(values) if n > 1 else None,
        "n": n,
        "median": statistics.median(values) if values else None,
        "min": min(values, default=None),
        "max": max(values, default=None),
    }
    if optimum is not None:
        out |= {
            "regret_mean": optimum - mean,
            "regret_std": statistics.stdev([optimum - v for v in values]) if n > 1 else None,
            "hit_optimum": sum(v >= optimum for v in values),
        }
    return out


def seeds_for_power(
    ours: Sequence[float], reference: Sequence[float], alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """Runs per side a one-sided two-sample test would need to detect the observed gap (mean of ``ours`` over
    ``reference``) at level ``alpha`` with probability ``power``, if the gap and spreads are the true ones.

    Normal approximation, n = (z_{1-alpha} + z_power)^2 (sd_ours^2 + sd_reference^2) / gap^2, rounded up: it
    tells how far a comparison is from conclusive. None when ``ours`` is not ahead or a spread is undefined.
    """
    if len(ours) < 2 or len(reference) < 2:
        return None
    gap = statistics.fmean(ours) - statistics.fmean(reference)
    variance = statistics.variance(ours) + statistics.variance(reference)
    if gap <= 0 or variance == 0:
        return None
    z = stats.norm.ppf(1 - alpha) + stats.norm.ppf(power)
    return math.ceil(z * z * variance / (gap * gap))


def spearman_interval(
    x: Sequence[float], y: Sequence[float], level: float = 0.9, resamples: int = 2000, seed: int = 0
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of Spearman's rho over the pairs ``(x[i], y[i])``, resampled with
    replacement: how much rho on a handful of paths depends on which paths were drawn. Seeded, so a result
    file is reproducible. None below 4 pairs or when no resample has spread in both lists."""
    xs, ys = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if xs.shape != ys.shape or xs.ndim != 1:
        raise ValueError(f"spearman_interval needs two lists of one length, got {xs.shape} and {ys.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if len(xs) < 4:
        return None
    picks = np.random.default_rng(seed).integers(0, len(xs), size=(resamples, len(xs)))
    rank_x, rank_y = stats.rankdata(xs[picks], axis=1), stats.rankdata(ys[picks], axis=1)  # ties: mean ranks
    rank_x -= rank_x.mean(axis=1, keepdims=True)
    rank_y -= rank_y.mean(axis=1, keepdims=True)
    norm = np.sqrt((rank_x**2).sum(axis=1) * (rank_y**2).sum(axis=1))
    defined = norm > 0  # a resample of one repeated pair has no rank order
    if not defined.any():
        return None
    rhos = (rank_x * rank_y).sum(axis=1)[defined] / norm[defined]
    low, high = np.quantile(rhos, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)

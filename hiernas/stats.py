"""Small statistics shared by the benchmarks: one-sided tests that one sample is larger, and a summary of a
sample. SciPy does the tests; undefined values (too few samples, no spread) come back as None, since
strict JSON has no NaN."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

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

"""How noisy are tabular ranks? The rank agreement between two repeats of a row of benchmark cells whose
logits ``acc / temperature`` get Gaussian noise, and the noise level that matches an agreement measured
with real training (``scripts/validate_ranks.py``'s agreement between repeats).

Every estimate uses fixed rows and fixed standard-normal draws (common random numbers), so the agreement
is a smooth, decreasing function of the noise level and a bisection finds the level of a target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from hiernas.benchmark_table import BenchmarkTable


@dataclass(frozen=True)
class AgreementSampler:
    """Fixed rows of ``window`` distinct table accuracies and two fixed standard-normal draws for each."""

    rows: np.ndarray
    first: np.ndarray
    second: np.ndarray

    @classmethod
    def of(cls, table: BenchmarkTable, window: int, count: int = 4000, seed: int = 0) -> AgreementSampler:
        """``count`` random rows of ``window`` cells of ``table``, drawn with ``seed``."""
        acc = np.array(list(table.accuracies.values()), dtype=np.float64)
        if not 1 <= window <= len(acc):
            raise ValueError(f"window must be in 1..{len(acc)}, got {window}")
        rng = np.random.default_rng(seed)
        rows = np.array([acc[rng.choice(len(acc), size=window, replace=False)] for _ in range(count)])
        return cls(rows, rng.standard_normal(rows.shape), rng.standard_normal(rows.shape))

    def agreement(self, noise: float, temperature: float) -> float:
        """Mean Spearman's rho between two independent noisy alpha draws of the same row (softmax is
        monotone, so the logits' ranks are alpha's); a row without spread counts as agreeing."""
        a = self.rows / temperature + noise * self.first
        b = self.rows / temperature + noise * self.second
        ranks_a, ranks_b = stats.rankdata(a, axis=1), stats.rankdata(b, axis=1)
        ra, rb = ranks_a - ranks_a.mean(axis=1, keepdims=True), ranks_b - ranks_b.mean(axis=1, keepdims=True)
        denominator = np.sqrt((ra**2).sum(axis=1) * (rb**2).sum(axis=1))
        safe = np.where(denominator > 0, denominator, 1.0)
        return float(np.mean(np.where(denominator > 0, (ra * rb).sum(axis=1) / safe, 1.0)))

    def matched_noise(self, target: float, temperature: float) -> float:
        """The noise level whose ``agreement`` is ``target`` (bisection), rounded to 2 decimals."""
        low, high = 0.0, 1.0
        while self.agreement(high, temperature) > target:
            high *= 2
            if high > 1e6:
                raise ValueError(f"no noise level brings the rank agreement down to {target}")
        for _ in range(50):
            middle = (low + high) / 2
            if self.agreement(middle, temperature) > target:
                low = middle
            else:
                high = middle
        return round((low + high) / 2, 2)

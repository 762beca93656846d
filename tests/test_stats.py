"""The benchmarks' shared statistics: one-sided tests point the right way, undefined values are None."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from hiernas.stats import describe, finite, mann_whitney_greater, seeds_for_power, spearman_interval, welch


def test_one_sided_tests_favour_the_larger_sample_only() -> None:
    high, low = [0.95, 0.96, 0.97, 0.94, 0.96], [0.90, 0.91, 0.89, 0.92, 0.90]
    up, down = welch(high, low), welch(low, high)
    assert up["p_greater"] is not None and up["p_greater"] < 0.01
    assert down["p_greater"] is not None and down["p_greater"] > 0.99
    assert up["p_two_sided"] == pytest.approx(2 * up["p_greater"])
    p_up, p_down = mann_whitney_greater(high, low), mann_whitney_greater(low, high)
    assert p_up is not None and p_down is not None and p_up < 0.01 < 0.99 < p_down


def test_too_few_values_or_no_spread_give_none() -> None:
    assert welch([0.9], [0.8, 0.7]) == {"p_two_sided": None, "p_greater": None}
    assert mann_whitney_greater([0.9, 0.8], [0.7]) is None
    assert welch([0.5, 0.5], [0.5, 0.5])["p_greater"] is None  # constant samples: t is undefined
    assert finite(math.nan) is None and finite(math.inf) is None and finite(1.5) == 1.5


def test_describe_with_and_without_an_optimum() -> None:
    plain = describe([1.0, 2.0, 4.0])
    assert plain["mean"] == pytest.approx(7 / 3) and plain["n"] == 3 and plain["median"] == 2.0
    assert plain["min"] == 1.0 and plain["max"] == 4.0 and "regret_mean" not in plain
    regret = describe([93.0, 94.0, 94.37], optimum=94.37)
    assert regret["regret_mean"] == pytest.approx(94.37 - regret["mean"]) and regret["hit_optimum"] == 1
    assert describe([1.0])["std"] is None and describe([])["n"] == 0


def test_seeds_for_power_follows_the_normal_approximation() -> None:
    """Gap 1, both SDs 1: (1.645 + 0.842)^2 * 2 = 12.4, so 13 seeds; a 4x smaller gap needs 16x the seeds."""
    ours, reference = [0.0, 2.0, 1.0, 3.0, 4.0], [-1.0, 1.0, 0.0, 2.0, 3.0]  # gap 1, variance 2.5 each
    z = 1.6448536 + 0.8416212
    assert seeds_for_power(ours, reference) == math.ceil(z * z * 5.0)
    assert seeds_for_power([v + 0.25 for v in reference], reference) == math.ceil(z * z * 5.0 / 0.0625)


def test_seeds_for_power_is_none_when_not_ahead_or_undefined() -> None:
    assert seeds_for_power([0.1, 0.2, 0.3], [0.2, 0.3, 0.4]) is None  # behind
    assert seeds_for_power([0.5, 0.5], [0.4, 0.4]) is None  # no spread at all
    assert seeds_for_power([0.5], [0.4, 0.3]) is None  # one run
    weaker, usual = seeds_for_power([0.6, 0.8], [0.4, 0.6], power=0.5), seeds_for_power([0.6, 0.8], [0.4, 0.6])
    assert weaker is not None and usual is not None and weaker < usual


def test_spearman_interval_covers_rho_and_narrows_with_more_pairs() -> None:
    rng = np.random.default_rng(3)
    widths = []
    for n in (16, 400):
        x = rng.normal(size=n)
        y = x + rng.normal(scale=0.8, size=n)
        interval = spearman_interval(x, y)
        assert interval is not None
        low, high = interval
        assert low < float(stats.spearmanr(x, y).statistic) < high
        widths.append(high - low)
    assert widths[1] < widths[0] / 3  # the interval shrinks about as 1/sqrt(n)
    x16 = rng.normal(size=16)
    assert spearman_interval(x16, x16 + 1) == (1.0, 1.0)  # a monotone relation holds in every resample
    assert spearman_interval(x16, -x16, seed=5) == (-1.0, -1.0)


def test_spearman_interval_is_seeded_and_undefined_without_enough_pairs() -> None:
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=16), rng.normal(size=16)
    assert spearman_interval(x, y, seed=7) == spearman_interval(x, y, seed=7)
    assert spearman_interval(x, y, seed=7) != spearman_interval(x, y, seed=8)
    assert spearman_interval([1.0, 2.0, 3.0], [3.0, 1.0, 2.0]) is None
    assert spearman_interval([1.0] * 6, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]) is None  # no spread: no rank order
    with pytest.raises(ValueError, match="one length"):
        spearman_interval([1.0, 2.0], [1.0])

"""Path-wise strict fairness: every path is trained equally often, every candidate once per step."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest

from hiernas.fairness import cycle_length, fair_schedule, path_groups


@pytest.mark.parametrize("choices,k", [(1, 3), (3, 2), (4, 2), (3, 3)])
def test_one_cycle_trains_every_path_exactly_once(choices: int, k: int) -> None:
    groups = path_groups(choices, k)
    assert len(groups) == cycle_length(choices, k)
    counts = Counter(p for g in groups for p in g)
    assert set(counts) == set(itertools.product(range(k), repeat=choices))
    assert set(counts.values()) == {1}
    for group in groups:  # strict fairness inside a step: each candidate of each choice once
        for c in range(choices):
            assert sorted(p[c] for p in group) == list(range(k))


def test_schedule_rounds_up_to_whole_cycles() -> None:
    rng = np.random.default_rng(0)
    steps = list(fair_schedule(3, 2, 10, rng))  # cycle of 4 -> 12 steps
    assert len(steps) == 12
    counts = Counter(p for g in steps for p in g)
    assert set(counts.values()) == {3}


def test_schedule_is_seeded() -> None:
    a = list(fair_schedule(3, 2, 8, np.random.default_rng(1)))
    b = list(fair_schedule(3, 2, 8, np.random.default_rng(1)))
    assert a == b

"""DARTS-PD path-wise strict fairness: a schedule in which every path is updated equally often.

With ``k`` kept candidates in each of ``n`` choices there are ``k ** n`` paths. Step ``g`` of a cycle
(``g`` a vector in {0..k-1}^(n-1)) trains the ``k`` paths ``p_j = (j, j + g_1, ..., j + g_{n-1}) mod k``
for ``j = 0..k-1``; their gradients are accumulated before one update. Within a step every kept candidate
of every choice is used exactly once (FairNAS strict fairness), and over the ``k ** (n-1)`` steps of a
cycle every one of the ``k ** n`` paths is trained exactly once (DARTS-PD eq. 4). The cycle order is
shuffled by ``rng`` so the order of updates carries no bias.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np

Path = tuple[int, ...]


def path_groups(num_choices: int, k: int) -> list[list[Path]]:
    """All ``k ** (num_choices - 1)`` groups of one cycle, each ``k`` disjoint paths (indices into kept)."""
    if num_choices < 1 or k < 1:
        raise ValueError(f"num_choices and k must be >= 1, got {num_choices}, {k}")
    groups = []
    for offsets in itertools.product(range(k), repeat=num_choices - 1):
        groups.append([(j, *((j + o) % k for o in offsets)) for j in range(k)])
    return groups


def fair_schedule(num_choices: int, k: int, steps: int, rng: np.random.Generator) -> Iterator[list[Path]]:
    """About ``steps`` groups of paths: whole cycles of ``path_groups``, each in shuffled order.

    ``steps`` is rounded up to whole cycles, so every path ends with the same update count. Only when a
    single cycle is longer than ``steps`` is the cycle cut short: then no path is trained twice.
    """
    groups = path_groups(num_choices, k)
    cycles = max(1, -(-steps // len(groups)))
    emitted = 0
    for _ in range(cycles):
        for index in rng.permutation(len(groups)):
            if len(groups) > steps and emitted >= steps:
                return
            emitted += 1
            yield groups[int(index)]


def cycle_length(num_choices: int, k: int) -> int:
    """Steps in one cycle of the schedule: ``k ** (num_choices - 1)``."""
    return int(k ** (num_choices - 1))

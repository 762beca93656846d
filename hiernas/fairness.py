"""DARTS-PD path-wise strict fairness: a schedule in which every path is updated equally often, and the
training step that follows it (one function for both levels: rows of cells and edges of operations).

With ``k`` kept candidates in each of ``n`` choices there are ``k ** n`` paths. Step ``g`` of a cycle
(``g`` a vector in {0..k-1}^(n-1)) trains the ``k`` paths ``p_j = (j, j + g_1, ..., j + g_{n-1}) mod k``
for ``j = 0..k-1``; their gradients are accumulated before one update. Within a step every kept candidate
of every choice is used exactly once (FairNAS strict fairness), and over the ``k ** (n-1)`` steps of a
cycle every one of the ``k ** n`` paths is trained exactly once (DARTS-PD eq. 4). The cycle order is
shuffled by ``rng`` so the order of updates carries no bias. ``fair_train_steps`` trains a network along
such a schedule through the network's own path-forward, so a hyper-architecture (``HyperNet.forward_path``)
and a DARTS supernet (``SearchNetwork.forward_genotype``) share it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from hiernas.paths import Path, decode_path

PathForward = Callable[[Tensor, Path], Tensor]  # (inputs, path) -> logits of that path on the shared weights


def group_paths(offsets: Sequence[int], k: int) -> list[Path]:
    """The ``k`` paths of the group with offset vector ``offsets`` (length ``num_choices - 1``)."""
    return [(j, *((j + int(o)) % k for o in offsets)) for j in range(k)]


def group_at(index: int, num_choices: int, k: int) -> list[Path]:
    """Group number ``index`` of a cycle, its offsets decoded like a path (no enumeration)."""
    return group_paths(decode_path(index, num_choices - 1, k), k)


def path_groups(num_choices: int, k: int) -> list[list[Path]]:
    """All ``k ** (num_choices - 1)`` groups of one cycle, each ``k`` disjoint paths (indices into kept)."""
    _check(num_choices, k, 0)
    return [group_at(i, num_choices, k) for i in range(cycle_length(num_choices, k))]


def fair_schedule(num_choices: int, k: int, steps: int, rng: np.random.Generator) -> list[list[Path]]:
    """About ``steps`` groups of paths: whole cycles of all groups, each in shuffled order.

    ``steps`` is rounded up to whole cycles, so every path ends with the same update count. Only when a
    single cycle is longer than ``steps`` are ``steps`` distinct groups drawn: then no path is trained
    twice. Groups are decoded from their index, so a huge cycle (cell-level DARTS) is never enumerated.
    """
    _check(num_choices, k, steps)
    cycle = cycle_length(num_choices, k)
    if steps >= cycle:
        indices = np.concatenate([rng.permutation(cycle) for _ in range(-(-steps // cycle))])
    else:
        indices = rng.choice(cycle, size=steps, replace=False)
    return [group_at(int(i), num_choices, k) for i in indices]


def cycle_length(num_choices: int, k: int) -> int:
    """Steps in one cycle of the schedule: ``k ** (num_choices - 1)``."""
    return int(k ** (num_choices - 1))


def _check(num_choices: int, k: int, steps: int) -> None:
    if num_choices < 1 or k < 1 or steps < 0:
        raise ValueError(f"need num_choices >= 1, k >= 1, steps >= 0; got {num_choices}, {k}, {steps}")


def fair_train_steps(
    forward_path: PathForward,
    groups: Iterable[Sequence[Path]],
    batches: Iterator[tuple[Tensor, Tensor]],
    optimizer: torch.optim.Optimizer,
    device: torch.device,
    clip: Callable[[], object] | None = None,
    update_counts: MutableMapping[Path, int] | None = None,
) -> float:
    """One optimiser update per group: the group's path losses on one batch, gradients summed first.

    ``clip`` (e.g. clipping the weights' gradient norm) runs before each update. ``update_counts[path]``
    counts the updates each path took part in. Returns the mean path loss (NaN without groups). The
    caller sets the network's training mode.
    """
    losses = []
    for group in groups:
        x, y = next(batches)
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad(set_to_none=True)
        for path in group:
            loss = F.cross_entropy(forward_path(x, tuple(path)), y)
            loss.backward()  # gradients of the group's paths accumulate in .grad
            losses.append(loss.item())
            if update_counts is not None:
                update_counts[tuple(path)] = update_counts.get(tuple(path), 0) + 1
        if clip is not None:
            clip()
        optimizer.step()
    return float(np.mean(losses)) if losses else float("nan")

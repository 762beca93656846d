"""Derivations from architecture weights: DARTS' top-2 edges per node, and DARTS-PD soft pruning.

Inputs are plain numpy arrays of mixing weights ``(E, n_ops)`` with the edges of a cell in the order of
``hiernas.supernet.edge_index`` (node 0's two inputs, node 1's three, ...). For PC-DARTS pass the
softmaxed alpha already multiplied by the normalised edge weights beta (``SearchNetwork.arch_weights``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from spaces.darts import PRIMITIVES, Genotype

Weights = npt.ArrayLike


def _check(weights: np.ndarray, steps: int, primitives: Sequence[str]) -> None:
    edges = sum(i + 2 for i in range(steps))
    if weights.shape != (edges, len(primitives)):
        raise ValueError(
            f"weights must have shape ({edges}, {len(primitives)}) for {steps} nodes, got {weights.shape}"
        )


def derive_cell(
    weights: Weights, steps: int, primitives: Sequence[str] = PRIMITIVES, excluded: Sequence[str] = ("none",)
) -> tuple[tuple[str, int], ...]:
    """Per node, the two incoming edges whose best non-excluded op is strongest, each with that op.

    Ties keep the lower input index (stable sort), so the result is deterministic.
    """
    w = np.asarray(weights, dtype=np.float64)
    _check(w, steps, primitives)
    allowed = np.array([name not in excluded for name in primitives])
    edges: list[tuple[str, int]] = []
    offset = 0
    for node in range(steps):
        block = np.where(allowed, w[offset : offset + node + 2], -np.inf)  # (node + 2, n_ops)
        strength = block.max(axis=1)
        best_sources = sorted(np.argsort(-strength, kind="stable")[:2].tolist())
        edges += [(primitives[int(np.argmax(block[s]))], int(s)) for s in best_sources]
        offset += node + 2
    return tuple(edges)


def derive_genotype(
    weights_normal: Weights, weights_reduce: Weights, steps: int, primitives: Sequence[str] = PRIMITIVES
) -> Genotype:
    """The DARTS genotype of both cells; every intermediate node is concatenated."""
    concat = tuple(range(2, steps + 2))
    return Genotype(
        derive_cell(weights_normal, steps, primitives),
        concat,
        derive_cell(weights_reduce, steps, primitives),
        concat,
    )


@dataclass(frozen=True)
class PrunedSupernet:
    """DARTS-PD soft pruning: the derived topology with the top-k ops kept on each of its edges.

    ``kept[cell][slot]`` lists op names (best first) for slot ``slot`` of the genotype of that cell type,
    ``sources[cell][slot]`` the input of that slot. A path picks one kept op per slot.
    """

    steps: int
    sources: dict[str, tuple[int, ...]]
    kept: dict[str, tuple[tuple[str, ...], ...]]

    @property
    def slots(self) -> list[tuple[str, int]]:
        """(cell type, slot) of every choice, normal cell first."""
        return [(cell, slot) for cell in ("normal", "reduce") for slot in range(len(self.sources[cell]))]

    @property
    def k(self) -> int:
        return len(self.kept["normal"][0])

    def genotype(self, path: Sequence[int]) -> Genotype:
        """The genotype of ``path`` (one index into ``kept`` per slot, in ``slots`` order)."""
        slots = self.slots
        if len(path) != len(slots):
            raise ValueError(f"a path has {len(slots)} choices, got {len(path)}")
        cells: dict[str, list[tuple[str, int]]] = {"normal": [], "reduce": []}
        for (cell, slot), choice in zip(slots, path, strict=True):
            cells[cell].append((self.kept[cell][slot][int(choice)], self.sources[cell][slot]))
        concat = tuple(range(2, self.steps + 2))
        return Genotype(tuple(cells["normal"]), concat, tuple(cells["reduce"]), concat)


def soft_prune(
    weights_normal: Weights,
    weights_reduce: Weights,
    steps: int,
    k: int = 2,
    primitives: Sequence[str] = PRIMITIVES,
) -> PrunedSupernet:
    """DARTS-PD stage 1 output: DARTS' edges, each keeping its ``k`` strongest non-``none`` ops."""
    if not 1 <= k < len(primitives):
        raise ValueError(f"k must be in [1, {len(primitives) - 1}], got {k}")
    sources: dict[str, tuple[int, ...]] = {}
    kept: dict[str, tuple[tuple[str, ...], ...]] = {}
    for cell, weights in (("normal", weights_normal), ("reduce", weights_reduce)):
        w = np.asarray(weights, dtype=np.float64)
        edges = derive_cell(w, steps, primitives)
        allowed = np.array([name != "none" for name in primitives])
        cell_kept = []
        for slot, (_, source) in enumerate(edges):
            row = np.where(allowed, w[sum(i + 2 for i in range(slot // 2)) + source], -np.inf)
            cell_kept.append(tuple(primitives[int(i)] for i in np.argsort(-row, kind="stable")[:k]))
        sources[cell] = tuple(s for _, s in edges)
        kept[cell] = tuple(cell_kept)
    return PrunedSupernet(steps, sources, kept)

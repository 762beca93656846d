"""Derivations from NAS-Bench-201 architecture weights ``(6, 5)`` (edges in ``EDGES`` order, ops in ``OPS`` order).

``derive_cell`` keeps the strongest operation of every edge. ``none`` is a legal operation of the benchmark,
so it competes like any other (as the NAS-Bench-201 paper derives DARTS' cells; it is also why DARTS
collapses to parameter-free operations there). ``soft_prune_cell`` is DARTS-PD's stage 1 output in this
space: every edge keeps its ``k`` strongest operations (``none`` included, for the same reason) and a path
picks one kept operation per edge, so there are ``k ** 6`` paths, each a cell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from hiernas.darts.derive import Candidate
from spaces.nb201 import EDGES, OPS, Nb201Cell


def _weights(weights: npt.ArrayLike) -> np.ndarray:
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (len(EDGES), len(OPS)):
        raise ValueError(f"weights must have shape ({len(EDGES)}, {len(OPS)}), got {w.shape}")
    return w


def derive_cell(weights: npt.ArrayLike) -> Nb201Cell:
    """The argmax operation of every edge (ties: the first in ``OPS`` order)."""
    return Nb201Cell(tuple(OPS[int(i)] for i in np.argmax(_weights(weights), axis=1)))


@dataclass(frozen=True)
class PrunedCell:
    """DARTS-PD soft pruning in this space: ``kept[e]`` lists edge ``e``'s kept operations, best first."""

    kept: tuple[tuple[str, ...], ...]

    @property
    def slots(self) -> tuple[int, ...]:
        """The choices of a path: one per edge."""
        return tuple(range(len(self.kept)))

    @property
    def k(self) -> int:
        return len(self.kept[0])

    def genotype(self, path: Sequence[int]) -> Nb201Cell:
        """The cell of ``path`` (one index into ``kept`` per edge)."""
        if len(path) != len(self.kept):
            raise ValueError(f"a path has {len(self.kept)} choices, got {len(path)}")
        return Nb201Cell(tuple(ops[int(choice)] for ops, choice in zip(self.kept, path, strict=True)))

    def to_json(self) -> dict[str, Any]:
        return {"kept": [list(ops) for ops in self.kept]}

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> PrunedCell:
        return cls(tuple(tuple(str(op) for op in ops) for ops in obj["kept"]))


def soft_prune_cell(weights: npt.ArrayLike, k: int = 2) -> PrunedCell:
    """Every edge with its ``k`` strongest operations (ties: ``OPS`` order)."""
    if not 1 <= k <= len(OPS):
        raise ValueError(f"k must be in [1, {len(OPS)}], got {k}")
    order = np.argsort(-_weights(weights), axis=1, kind="stable")[:, :k]  # (6, k)
    return PrunedCell(tuple(tuple(OPS[int(i)] for i in row) for row in order))


def candidate_json(candidate: Candidate[Nb201Cell]) -> dict[str, Any]:
    """An evaluated DARTS-PD path of this space as JSON: the cell as the benchmark's architecture string."""
    return {
        "path": list(candidate.path),
        "arch": candidate.genotype.arch_str,
        "val_acc": candidate.val_acc,
        "params": candidate.params,
    }

"""The NAS-Bench-201 (NATS-Bench topology) space: 5 operations on 6 edges, all 5**6 = 15,625 cells.

The cells and their architecture string are ``spaces.nb201_cell``'s; the features and their registry
``FEATURES`` are ``spaces.nb201_features``'s (all re-exported here). ``Nb201Space`` enumerates every cell,
embeds it by the chosen features min-max normalised to ``[0, 1]`` over the whole space (a feature that is
constant over the space maps to 0), and finds, edits and encodes cells. Many cells share a feature
vector (the default features ignore which edge carries which operation), so ``nearest`` breaks ties by
cell index. The JSON form of a cell is the benchmark's architecture string. The feature table and the
exact ``nearest`` are ``spaces.tabulated.TabulatedSpace``'s.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx
import numpy as np

from spaces.nb201_cell import EDGES, OPS, Nb201Cell, arch_string, parse_arch
from spaces.nb201_features import DEFAULT_FEATURES, FEATURES, FeatureFn, register_feature
from spaces.tabulated import FeatureTable, TabulatedSpace, check_feature_names, tabulate

__all__ = [
    "DEFAULT_FEATURES",
    "EDGES",
    "FEATURES",
    "OPS",
    "Nb201Cell",
    "Nb201Space",
    "arch_string",
    "parse_arch",
    "register_feature",
]

_OP_INDEX: Mapping[str, int] = {op: i for i, op in enumerate(OPS)}


@functools.lru_cache(maxsize=8)
def _build_table(features: tuple[FeatureFn, ...]) -> FeatureTable[Nb201Cell]:
    """Every cell with its feature table.

    Keyed by the feature functions, not their names: a name registered anew never reads stale tables.
    """
    return tabulate([Nb201Cell(ops) for ops in itertools.product(OPS, repeat=len(EDGES))], features)


class Nb201Space(TabulatedSpace[Nb201Cell]):
    """All 15,625 NAS-Bench-201 cells with a normalised feature embedding (``spaces.base.CellSpace``).

    Cells are ordered as ``itertools.product(OPS, repeat=6)`` over the edges of ``EDGES``: the index is
    the cell's op indices read as a base-5 number, the first edge most significant.
    """

    def __init__(self, feature_names: Iterable[str] = DEFAULT_FEATURES) -> None:
        names = check_feature_names(feature_names, FEATURES)
        super().__init__(names, _build_table(tuple(FEATURES[name] for name in names)))

    def _recipe(self) -> dict[str, Any]:
        """The constructor's arguments: the feature names."""
        return {"feature_names": self._feature_names}

    def index_of(self, cell: Nb201Cell) -> int:
        """Position of ``cell`` in ``cells``."""
        if not isinstance(cell, Nb201Cell):
            raise ValueError(f"expected an Nb201Cell, got {type(cell).__name__}")
        index = 0
        for op in cell.ops:
            index = index * len(OPS) + _OP_INDEX[op]
        return index

    def encode(self, cell: Nb201Cell) -> str:
        """The benchmark's architecture string of ``cell``."""
        self.index_of(cell)
        return arch_string(cell)

    def decode(self, obj: object) -> Nb201Cell:
        """Parse an architecture string; ``ValueError`` for anything else or a malformed string."""
        if not isinstance(obj, str):
            raise ValueError(
                f"cannot decode a NAS-Bench-201 cell from {type(obj).__name__} (expected its architecture string)"
            )
        return parse_arch(obj)

    def to_graph(self, cell: Nb201Cell) -> nx.DiGraph:
        """Nodes 0..3 (``kind`` input, intermediate, output); one edge per ``EDGES`` entry with attribute ``op``."""
        self.index_of(cell)
        graph = nx.DiGraph(arch=arch_string(cell))
        for node in range(4):
            graph.add_node(node, kind="input" if node == 0 else "output" if node == 3 else "intermediate")
        for op, (target, source) in zip(cell.ops, EDGES, strict=True):
            graph.add_edge(source, target, op=op)
        return graph

    def neighbours(self, cell: Nb201Cell) -> tuple[Nb201Cell, ...]:
        """The 24 cells that differ from ``cell`` on exactly one edge, in index order."""
        self.index_of(cell)
        found = [
            Nb201Cell((*cell.ops[:position], op, *cell.ops[position + 1 :]))
            for position in range(len(EDGES))
            for op in OPS
            if op != cell.ops[position]
        ]
        return tuple(sorted(found, key=self.index_of))

    def mutate(self, cell: Nb201Cell, rng: np.random.Generator) -> Nb201Cell:
        """A uniform edge gets a uniform other operation (a uniform one of the 24 ``neighbours``)."""
        self.index_of(cell)
        position = int(rng.integers(len(EDGES)))
        others = [op for op in OPS if op != cell.ops[position]]
        ops = list(cell.ops)
        ops[position] = others[int(rng.integers(len(others)))]
        return Nb201Cell(tuple(ops))

    def crossover(self, a: Nb201Cell, b: Nb201Cell, rng: np.random.Generator) -> Nb201Cell:
        """Uniform crossover: each edge takes its operation from ``a`` or ``b`` with even odds."""
        self.index_of(a)
        self.index_of(b)
        from_a = rng.random(len(EDGES)) < 0.5
        return Nb201Cell(tuple(x if pick else y for x, y, pick in zip(a.ops, b.ops, from_a.tolist(), strict=True)))

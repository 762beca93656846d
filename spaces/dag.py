"""The FaDE cell space: every DAG with 1..``max_vertices`` inner vertices, up to isomorphism.

The cells, their canonical form and JSON decode are ``spaces.dag_cell``'s; the graph features and their
registry ``FEATURES`` are ``spaces.dag_features``'s (both re-exported here). ``DagSpace`` enumerates the
canonical cells, embeds them by the chosen features min-max normalised to ``[0, 1]`` over the whole
space (a feature that is constant over the space maps to 0), and finds, edits and encodes cells; the
feature table and the exact ``nearest`` are ``spaces.tabulated.TabulatedSpace``'s.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx
import numpy as np

from spaces.dag_cell import (
    MAX_SUPPORTED_VERTICES,
    DagCell,
    canonical,
    canonical_mask,
    canonical_table,
    cell_from_json,
    cell_of,
    edge_pairs,
    is_int,
)
from spaces.dag_features import DEFAULT_FEATURES, FEATURES, FeatureFn, register_feature
from spaces.tabulated import FeatureTable, TabulatedSpace, check_feature_names, tabulate

__all__ = [
    "DEFAULT_FEATURES",
    "FEATURES",
    "MAX_SUPPORTED_VERTICES",
    "DagCell",
    "DagSpace",
    "canonical",
    "cell_from_json",
    "register_feature",
]

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=8)
def _build_tables(
    max_vertices: int, features: tuple[FeatureFn, ...]
) -> tuple[FeatureTable[DagCell], Mapping[tuple[int, int], int]]:
    """Every cell with its feature table, and each cell's position keyed by (n, canonical mask).

    Keyed by the feature functions, not their names: a name registered anew never reads stale tables.
    """
    cells: list[DagCell] = []
    index: dict[tuple[int, int], int] = {}
    for n in range(1, max_vertices + 1):
        for mask in np.unique(canonical_table(n)).tolist():
            index[(n, mask)] = len(cells)
            cells.append(cell_of(n, mask))
    return tabulate(cells, features), index


class DagSpace(TabulatedSpace[DagCell]):
    """All DAG cells with 1..``max_vertices`` inner vertices, with a normalised feature embedding.

    Cells are ordered by vertex count, then by canonical mask; ``cells[index_of(c)]`` is ``canonical(c)``.
    Without a generator ``nearest`` breaks ties by the lowest index, among excluded cells by feature group
    (``NEAREST_TIES``); with one (what FaDE passes by default) it draws among every tied free cell.
    """

    # Kept from before the shared base so seeded searches over DAG cells replay exactly; "cell" would be the
    # plain lowest free index (Nb201Space's), which differs when rounding splits equal features into groups.
    NEAREST_TIES = "group"

    def __init__(self, max_vertices: int = 6, feature_names: Iterable[str] = DEFAULT_FEATURES) -> None:
        if not is_int(max_vertices) or not 1 <= max_vertices <= MAX_SUPPORTED_VERTICES:
            raise ValueError(
                f"max_vertices must be an integer in 1..{MAX_SUPPORTED_VERTICES}, got {max_vertices!r}"
            )
        names = check_feature_names(feature_names, FEATURES)
        self.max_vertices = int(max_vertices)
        table, self._index = _build_tables(self.max_vertices, tuple(FEATURES[name] for name in names))
        super().__init__(names, table)

    def _recipe(self) -> dict[str, Any]:
        """The constructor's arguments: the vertex bound and the feature names."""
        return {"max_vertices": self.max_vertices, "feature_names": self._feature_names}

    def index_of(self, cell: DagCell) -> int:
        """Position of ``cell``'s isomorphism class in ``cells``."""
        if not isinstance(cell, DagCell):
            raise ValueError(f"expected a DagCell, got {type(cell).__name__}")
        if cell.num_vertices > self.max_vertices:
            raise ValueError(
                f"cell has {cell.num_vertices} vertices; this space holds 1..{self.max_vertices}"
            )
        return self._index[(cell.num_vertices, canonical_mask(cell))]

    def encode(self, cell: DagCell) -> dict[str, Any]:
        """``{"n": n, "edges": [[u, v], ...]}`` of the canonical form of ``cell``."""
        canon = self._table.cells[self.index_of(cell)]
        return {"n": canon.num_vertices, "edges": [list(e) for e in canon.edges]}

    def decode(self, obj: object) -> DagCell:
        return cell_from_json(obj, max_vertices=self.max_vertices)

    def to_graph(self, cell: DagCell) -> nx.DiGraph:
        """Directed graph with ``"input"``, ``"output"`` and the inner vertices ``0..n-1`` (as labelled)."""
        graph = nx.DiGraph()
        graph.add_node("input")
        graph.add_nodes_from(range(cell.num_vertices))
        graph.add_node("output")
        graph.add_edges_from(cell.edges)
        graph.add_edges_from(("input", s) for s in cell.sources())
        graph.add_edges_from((t, "output") for t in cell.sinks())
        return graph

    def neighbours(self, cell: DagCell) -> tuple[DagCell, ...]:
        """Every cell one edit away (toggle an edge, add or remove a vertex), without ``cell`` itself."""
        n, edges = cell.num_vertices, set(cell.edges)
        candidates: list[DagCell] = []
        for pair in edge_pairs(n):
            candidates.append(DagCell(n, tuple(edges ^ {pair})))
        if n < self.max_vertices:
            candidates.append(DagCell(n + 1, tuple(edges)))
            for u in range(n):  # a new last vertex fed by u
                candidates.append(DagCell(n + 1, (*edges, (u, n))))
            shifted = tuple((u + 1, v + 1) for u, v in edges)
            for v in range(n):  # a new first vertex feeding v
                candidates.append(DagCell(n + 1, (*shifted, (0, v + 1))))
        if n > 1:
            for gone in range(n):
                relabel = {old: old - (old > gone) for old in range(n) if old != gone}
                kept = tuple((relabel[u], relabel[v]) for u, v in edges if gone not in (u, v))
                candidates.append(DagCell(n - 1, kept))
        own = self.index_of(cell)
        indices = sorted({self.index_of(c) for c in candidates} - {own})
        return tuple(self._table.cells[i] for i in indices)

    def mutate(self, cell: DagCell, rng: np.random.Generator) -> DagCell:
        """A uniformly chosen neighbour (one edit); ``cell`` itself only when it has no neighbour."""
        options = self.neighbours(cell)
        if not options:
            return self._table.cells[self.index_of(cell)]
        return options[int(rng.integers(len(options)))]

    def crossover(self, a: DagCell, b: DagCell, rng: np.random.Generator) -> DagCell:
        """Uniform crossover of edge sets on the canonical labellings.

        The child takes the vertex count of ``a`` or ``b`` (even odds), every edge the parents share and
        each other edge with probability 1/2, restricted to the child's vertices.
        """
        ca, cb = (self._table.cells[self.index_of(c)] for c in (a, b))
        n = ca.num_vertices if rng.random() < 0.5 else cb.num_vertices
        shared = set(ca.edges) & set(cb.edges)
        other = sorted(set(ca.edges) ^ set(cb.edges))
        keep = rng.random(len(other)) < 0.5
        edges = [e for e in sorted(shared) if e[1] < n]
        edges += [e for e, k in zip(other, keep, strict=True) if k and e[1] < n]
        return canonical(DagCell(n, tuple(edges)))

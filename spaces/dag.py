"""The FaDE cell space: every DAG with 1..``max_vertices`` inner vertices, up to isomorphism.

The cells, their canonical form and JSON decode are ``spaces.dag_cell``'s; the graph features and their
registry ``FEATURES`` are ``spaces.dag_features``'s (both re-exported here). ``DagSpace`` enumerates the
canonical cells, embeds them by the chosen features min-max normalised to ``[0, 1]`` over the whole
space (a feature that is constant over the space maps to 0), and finds, edits and encodes cells.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt

from spaces.base import FloatArray
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


@dataclass(frozen=True, eq=False)
class _Tables:
    """Everything a ``DagSpace`` precomputes; shared between equal spaces through ``_build_tables``."""

    cells: tuple[DagCell, ...]
    index: Mapping[tuple[int, int], int]  # (n, canonical mask) -> position in ``cells``
    raw: FloatArray  # (cells, dim) unnormalised features
    normalised: FloatArray  # (cells, dim) in [0, 1]
    groups: tuple[tuple[int, ...], ...]  # cell indices (ascending) per distinct feature vector
    tree: Any  # cKDTree over the distinct normalised feature vectors


@functools.lru_cache(maxsize=8)
def _build_tables(max_vertices: int, features: tuple[FeatureFn, ...]) -> _Tables:
    """Every cell, its features and a KD-tree over them (scipy loads here: trials only decode cells).

    Keyed by the feature functions, not their names: a name registered anew never reads stale tables.
    """
    from scipy.spatial import cKDTree

    cells: list[DagCell] = []
    index: dict[tuple[int, int], int] = {}
    for n in range(1, max_vertices + 1):
        for mask in np.unique(canonical_table(n)).tolist():
            index[(n, mask)] = len(cells)
            cells.append(cell_of(n, mask))
    raw = np.array([[fn(cell) for fn in features] for cell in cells], dtype=np.float64)
    low, high = raw.min(axis=0), raw.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    normalised = (raw - low) / span
    unique, inverse = np.unique(normalised, axis=0, return_inverse=True)
    members: list[list[int]] = [[] for _ in range(len(unique))]
    for i, group in enumerate(inverse.reshape(-1).tolist()):
        members[group].append(i)
    for array in (raw, normalised):
        array.setflags(write=False)
    return _Tables(
        cells=tuple(cells),
        index=index,
        raw=raw,
        normalised=normalised,
        groups=tuple(tuple(m) for m in members),
        tree=cKDTree(unique),
    )


class DagSpace:
    """All DAG cells with 1..``max_vertices`` inner vertices, with a normalised feature embedding.

    Cells are ordered by vertex count, then by canonical mask; ``cells[index_of(c)]`` is ``canonical(c)``.
    """

    def __init__(self, max_vertices: int = 6, feature_names: Iterable[str] = DEFAULT_FEATURES) -> None:
        if not is_int(max_vertices) or not 1 <= max_vertices <= MAX_SUPPORTED_VERTICES:
            raise ValueError(
                f"max_vertices must be an integer in 1..{MAX_SUPPORTED_VERTICES}, got {max_vertices!r}"
            )
        names = tuple(feature_names)
        if not names:
            raise ValueError(f"feature_names must not be empty; valid names: {sorted(FEATURES)}")
        unknown = [name for name in names if name not in FEATURES]
        if unknown:
            raise ValueError(f"unknown feature name(s) {unknown}; valid names: {sorted(FEATURES)}")
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate feature names in {list(names)}")
        self.max_vertices = int(max_vertices)
        self._feature_names = names
        self._tables = _build_tables(self.max_vertices, tuple(FEATURES[name] for name in names))

    def __reduce__(self) -> tuple[type[DagSpace], tuple[int, tuple[str, ...]]]:
        # Pickle the recipe, not the tables: Ray ships searchers (and their space) between processes.
        return (DagSpace, (self.max_vertices, self._feature_names))

    def __repr__(self) -> str:
        return f"DagSpace(max_vertices={self.max_vertices}, feature_names={self._feature_names})"

    def __len__(self) -> int:
        return len(self._tables.cells)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self._feature_names

    @property
    def dim(self) -> int:
        return len(self._feature_names)

    @property
    def bounds(self) -> tuple[FloatArray, FloatArray]:
        return np.zeros(self.dim), np.ones(self.dim)

    @property
    def cells(self) -> tuple[DagCell, ...]:
        """Every cell of the space, in index order."""
        return self._tables.cells

    @property
    def feature_matrix(self) -> FloatArray:
        """Normalised features of every cell, shape ``(len(space), dim)`` (read-only)."""
        return self._tables.normalised

    @property
    def raw_feature_matrix(self) -> FloatArray:
        """Unnormalised features of every cell, shape ``(len(space), dim)`` (read-only)."""
        return self._tables.raw

    def index_of(self, cell: DagCell) -> int:
        """Position of ``cell``'s isomorphism class in ``cells``."""
        if not isinstance(cell, DagCell):
            raise ValueError(f"expected a DagCell, got {type(cell).__name__}")
        if cell.num_vertices > self.max_vertices:
            raise ValueError(
                f"cell has {cell.num_vertices} vertices; this space holds 1..{self.max_vertices}"
            )
        return self._tables.index[(cell.num_vertices, canonical_mask(cell))]

    def sample(self, rng: np.random.Generator) -> DagCell:
        return self._tables.cells[int(rng.integers(len(self)))]

    def features(self, cell: DagCell) -> FloatArray:
        return np.array(self._tables.normalised[self.index_of(cell)], dtype=np.float64)

    def nearest(self, point: npt.ArrayLike, exclude: Iterable[DagCell] = ()) -> DagCell:
        """Nearest cell (Euclidean, normalised features) to ``point``; ties go to the lowest index."""
        query = np.asarray(point, dtype=np.float64)
        if query.shape != (self.dim,) or not np.all(np.isfinite(query)):
            raise ValueError(f"point must be a finite vector of shape ({self.dim},), got {query.tolist()!r}")
        excluded = {self.index_of(cell) for cell in exclude}
        if len(excluded) >= len(self):
            raise ValueError(f"all {len(self)} cells of the space are excluded")
        groups, tree = self._tables.groups, self._tables.tree
        k = 8
        while True:
            k = min(k, len(groups))
            complete = k == len(groups)
            distances, found = tree.query(query, k=k)
            distances, found = np.atleast_1d(distances), np.atleast_1d(found)
            # Points at the largest returned distance may tie with unreturned ones: trust them only
            # once every point has been returned.
            limit = distances[-1]
            for j in sorted(range(k), key=lambda j: (distances[j], groups[found[j]][0])):
                if not complete and distances[j] >= limit:
                    break
                for i in groups[found[j]]:
                    if i not in excluded:
                        return self._tables.cells[i]
            k *= 4

    def encode(self, cell: DagCell) -> dict[str, Any]:
        """``{"n": n, "edges": [[u, v], ...]}`` of the canonical form of ``cell``."""
        canon = self._tables.cells[self.index_of(cell)]
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
        return tuple(self._tables.cells[i] for i in indices)

    def mutate(self, cell: DagCell, rng: np.random.Generator) -> DagCell:
        """A uniformly chosen neighbour (one edit); ``cell`` itself only when it has no neighbour."""
        options = self.neighbours(cell)
        if not options:
            return self._tables.cells[self.index_of(cell)]
        return options[int(rng.integers(len(options)))]

    def crossover(self, a: DagCell, b: DagCell, rng: np.random.Generator) -> DagCell:
        """Uniform crossover of edge sets on the canonical labellings.

        The child takes the vertex count of ``a`` or ``b`` (even odds), every edge the parents share and
        each other edge with probability 1/2, restricted to the child's vertices.
        """
        ca, cb = (self._tables.cells[self.index_of(c)] for c in (a, b))
        n = ca.num_vertices if rng.random() < 0.5 else cb.num_vertices
        shared = set(ca.edges) & set(cb.edges)
        other = sorted(set(ca.edges) ^ set(cb.edges))
        keep = rng.random(len(other)) < 0.5
        edges = [e for e in sorted(shared) if e[1] < n]
        edges += [e for e, k in zip(other, keep, strict=True) if k and e[1] < n]
        return canonical(DagCell(n, tuple(edges)))

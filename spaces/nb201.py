"""The NAS-Bench-201 (NATS-Bench topology) space: 5 operations on 6 edges, all 5**6 = 15,625 cells.

The cells and their architecture string are ``spaces.nb201_cell``'s; the features and their registry
``FEATURES`` are ``spaces.nb201_features``'s (all re-exported here). ``Nb201Space`` enumerates every cell,
embeds it by the chosen features min-max normalised to ``[0, 1]`` over the whole space (a feature that is
constant over the space maps to 0), and finds, edits and encodes cells. Many cells share a feature
vector (the default features ignore which edge carries which operation), so ``nearest`` breaks ties by
cell index. The JSON form of a cell is the benchmark's architecture string.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt

from spaces.base import FloatArray
from spaces.nb201_cell import EDGES, OPS, Nb201Cell, arch_string, parse_arch
from spaces.nb201_features import DEFAULT_FEATURES, FEATURES, FeatureFn, register_feature

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
_SIZE: int = len(OPS) ** len(EDGES)


@dataclass(frozen=True, eq=False)
class _Tables:
    """Everything an ``Nb201Space`` precomputes; shared between equal spaces through ``_build_tables``."""

    cells: tuple[Nb201Cell, ...]
    raw: FloatArray  # (cells, dim) unnormalised features
    normalised: FloatArray  # (cells, dim) in [0, 1]
    groups: tuple[tuple[int, ...], ...]  # cell indices (ascending) per distinct feature vector
    tree: Any  # cKDTree over the distinct normalised feature vectors, row g holds groups[g]


@functools.lru_cache(maxsize=8)
def _build_tables(features: tuple[FeatureFn, ...]) -> _Tables:
    """Every cell, its features and a KD-tree over the distinct feature vectors.

    Keyed by the feature functions, not their names: a name registered anew never reads stale tables.
    """
    from scipy.spatial import cKDTree

    cells = tuple(Nb201Cell(ops) for ops in itertools.product(OPS, repeat=len(EDGES)))
    raw = np.array([[fn(cell) for fn in features] for cell in cells], dtype=np.float64)
    low, high = raw.min(axis=0), raw.max(axis=0)
    normalised = (raw - low) / np.where(high > low, high - low, 1.0)
    unique, inverse = np.unique(normalised, axis=0, return_inverse=True)
    members: list[list[int]] = [[] for _ in range(len(unique))]
    for i, group in enumerate(inverse.reshape(-1).tolist()):
        members[group].append(i)
    for array in (raw, normalised):
        array.setflags(write=False)
    return _Tables(cells, raw, normalised, tuple(tuple(m) for m in members), cKDTree(unique))


class Nb201Space:
    """All 15,625 NAS-Bench-201 cells with a normalised feature embedding (``spaces.base.CellSpace``).

    Cells are ordered as ``itertools.product(OPS, repeat=6)`` over the edges of ``EDGES``: the index is
    the cell's op indices read as a base-5 number, the first edge most significant.
    """

    def __init__(self, feature_names: Iterable[str] = DEFAULT_FEATURES) -> None:
        names = tuple(feature_names)
        if not names:
            raise ValueError(f"feature_names must not be empty; valid names: {sorted(FEATURES)}")
        unknown = [name for name in names if name not in FEATURES]
        if unknown:
            raise ValueError(f"unknown feature name(s) {unknown}; valid names: {sorted(FEATURES)}")
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate feature names in {list(names)}")
        self._feature_names = names
        self._tables = _build_tables(tuple(FEATURES[name] for name in names))

    def __reduce__(self) -> tuple[type[Nb201Space], tuple[tuple[str, ...]]]:
        # Pickle the recipe, not the tables: Ray ships searchers (and their space) between processes.
        return (Nb201Space, (self._feature_names,))

    def __repr__(self) -> str:
        return f"Nb201Space(feature_names={self._feature_names})"

    def __len__(self) -> int:
        return _SIZE

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
    def cells(self) -> tuple[Nb201Cell, ...]:
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

    def index_of(self, cell: Nb201Cell) -> int:
        """Position of ``cell`` in ``cells``."""
        if not isinstance(cell, Nb201Cell):
            raise ValueError(f"expected an Nb201Cell, got {type(cell).__name__}")
        index = 0
        for op in cell.ops:
            index = index * len(OPS) + _OP_INDEX[op]
        return index

    def sample(self, rng: np.random.Generator) -> Nb201Cell:
        return self._tables.cells[int(rng.integers(_SIZE))]

    def features(self, cell: Nb201Cell) -> FloatArray:
        return np.array(self._tables.normalised[self.index_of(cell)], dtype=np.float64)

    def nearest(self, point: npt.ArrayLike, exclude: Iterable[Nb201Cell] = ()) -> Nb201Cell:
        """Nearest cell (Euclidean, normalised features) to ``point`` outside ``exclude``; ties: lowest index."""
        query = np.asarray(point, dtype=np.float64)
        if query.shape != (self.dim,) or not np.all(np.isfinite(query)):
            raise ValueError(f"point must be a finite vector of shape ({self.dim},), got {query.tolist()!r}")
        excluded = {self.index_of(cell) for cell in exclude}
        if len(excluded) >= _SIZE:
            raise ValueError(f"all {_SIZE} cells of the space are excluded")
        groups, tree = self._tables.groups, self._tables.tree
        k = min(8, len(groups))
        while True:
            distances, found = tree.query(query, k=k)
            distances, found = np.atleast_1d(distances).tolist(), np.atleast_1d(found).tolist()
            complete = k == len(groups)
            # A group at the k-th distance may tie with one not returned: trust it only when all returned.
            limit = distances[-1]
            candidates: list[tuple[float, int]] = []
            for distance, group in zip(distances, found, strict=True):
                if complete or distance < limit:
                    free = next((i for i in groups[group] if i not in excluded), None)
                    if free is not None:
                        candidates.append((distance, free))
            if candidates:
                return self._tables.cells[min(candidates)[1]]
            k = min(4 * k, len(groups))

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

"""The FaDE cell space: every DAG with 1..``max_vertices`` inner vertices, up to isomorphism.

Conventions (FaDE section 2.4, "Search Space"): inner vertices ``0..n-1`` are labelled topologically
(every edge ``(u, v)`` has ``u < v``); an implicit ``"input"`` vertex feeds every source and an implicit
``"output"`` vertex collects every sink, so even a disconnected DAG becomes one connected cell.

Enumeration: every DAG has a topological labelling, so the DAGs on ``n`` vertices are exactly the
``2^(n(n-1)/2)`` upper-triangular adjacency bitmasks up to relabelling. The canonical form of a mask is
the smallest mask among its relabellings that are again upper-triangular (its topological orderings);
it is computed for all masks at once by looping over the ``n!`` permutations with numpy lookup tables
(about 0.15 s for ``n = 6``), so no enumeration cache has to be shipped. The counts per ``n`` are the
unlabeled acyclic digraphs (OEIS A003087): 1, 2, 6, 31, 302, 5984.

Features (a registry, ``FEATURES``; FaDE section 3.2 uses the first three) are computed on the full
graph of ``to_graph`` (inner vertices plus input and output), then min-max normalised to ``[0, 1]`` over
the whole space (a feature that is constant over the space maps to 0):
- ``eccentricity_var``: population variance of the vertex eccentricities of the *undirected* full graph
  (connected thanks to input and output), over all ``n + 2`` vertices.
- ``degree_var``: population variance of the total degree (in + out) of all ``n + 2`` vertices.
- ``num_vertices``: number of inner vertices ``n``.
- ``num_edges``: number of inner edges. ``longest_path``: edges on the longest inner path.
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import numpy.typing as npt

from spaces.base import FloatArray

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

MAX_SUPPORTED_VERTICES = 6  # 7 vertices would be 2^21 masks x 5040 permutations: minutes, not seconds
DEFAULT_FEATURES = ("eccentricity_var", "degree_var", "num_vertices")
IntArray = npt.NDArray[np.int64]


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


@dataclass(frozen=True)
class DagCell:
    """A DAG cell: ``num_vertices`` inner vertices and edges ``(u, v)`` with ``u < v``, stored sorted."""

    num_vertices: int
    edges: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        n = self.num_vertices
        if not _is_int(n) or n < 1:
            raise ValueError(f"num_vertices must be an integer >= 1, got {n!r}")
        normalised: list[tuple[int, int]] = []
        for edge in self.edges:
            if len(edge) != 2 or not all(_is_int(x) for x in edge):
                raise ValueError(f"edge {edge!r} must be a pair of integers (u, v)")
            u, v = int(edge[0]), int(edge[1])
            if not 0 <= u < v < n:
                raise ValueError(f"edge ({u}, {v}) must satisfy 0 <= u < v < num_vertices={n}")
            normalised.append((u, v))
        if len(set(normalised)) != len(normalised):
            raise ValueError(f"duplicate edges in {sorted(normalised)}")
        object.__setattr__(self, "num_vertices", int(n))
        object.__setattr__(self, "edges", tuple(sorted(normalised)))

    def sources(self) -> tuple[int, ...]:
        """Inner vertices without incoming inner edges (fed by the input vertex)."""
        heads = {v for _, v in self.edges}
        return tuple(v for v in range(self.num_vertices) if v not in heads)

    def sinks(self) -> tuple[int, ...]:
        """Inner vertices without outgoing inner edges (read by the output vertex)."""
        tails = {u for u, _ in self.edges}
        return tuple(v for v in range(self.num_vertices) if v not in tails)


# ---------------------------------------------------------------- canonical form


@functools.cache
def _pairs(n: int) -> tuple[tuple[int, int], ...]:
    """Vertex pairs ``u < v`` in lexicographic order; pair ``b`` is bit ``b`` of an adjacency mask."""
    return tuple((u, v) for u in range(n) for v in range(u + 1, n))


def _mask_of(cell: DagCell) -> int:
    index = {pair: b for b, pair in enumerate(_pairs(cell.num_vertices))}
    return sum(1 << index[e] for e in cell.edges)


def _cell_of(n: int, mask: int) -> DagCell:
    return DagCell(n, tuple(p for b, p in enumerate(_pairs(n)) if mask >> b & 1))


@functools.cache
def _canonical_table(n: int) -> IntArray:
    """Canonical mask of every upper-triangular mask on ``n`` vertices (read-only array)."""
    pairs = _pairs(n)
    num_bits = len(pairs)
    position = {pair: b for b, pair in enumerate(pairs)}
    masks = np.arange(1 << num_bits, dtype=np.int64)
    best = masks.copy()
    # Permuting bits through two lookup tables (low and high byte) keeps each permutation O(masks).
    chunks = [(lo, min(lo + 8, num_bits)) for lo in range(0, num_bits, 8)]
    chunk_bits = [(np.arange(1 << (hi - lo), dtype=np.int64)[:, None] >> np.arange(hi - lo)) & 1
                  for lo, hi in chunks]
    never = np.iinfo(np.int64).max
    for perm in itertools.permutations(range(n)):
        new_position = np.zeros(num_bits, dtype=np.int64)
        backward = 0  # bits whose edge would point backwards under this relabelling
        for b, (u, v) in enumerate(pairs):
            pu, pv = perm[u], perm[v]
            if pu > pv:
                backward |= 1 << b
            else:
                new_position[b] = position[(pu, pv)]
        code = np.zeros_like(masks)
        for (lo, hi), bits in zip(chunks, chunk_bits, strict=True):
            table = (bits << new_position[lo:hi]).sum(axis=1)
            code |= table[(masks >> lo) & ((1 << (hi - lo)) - 1)]
        code[(masks & backward) != 0] = never
        np.minimum(best, code, out=best)
    best.setflags(write=False)
    return best


def canonical(cell: DagCell) -> DagCell:
    """The canonical representative of ``cell``'s isomorphism class (also topologically labelled)."""
    if cell.num_vertices > MAX_SUPPORTED_VERTICES:
        raise ValueError(
            f"cell has {cell.num_vertices} vertices; canonical forms are supported for "
            f"1..{MAX_SUPPORTED_VERTICES}"
        )
    n = cell.num_vertices
    return _cell_of(n, int(_canonical_table(n)[_mask_of(cell)]))


# ---------------------------------------------------------------- features

FeatureFn = Callable[[DagCell], float]


def _full_adjacency(cell: DagCell) -> list[list[int]]:
    """Undirected adjacency lists of the full graph; vertex ``n`` is input, ``n + 1`` is output."""
    n = cell.num_vertices
    neighbours: list[list[int]] = [[] for _ in range(n + 2)]
    edges = list(cell.edges) + [(n, s) for s in cell.sources()] + [(t, n + 1) for t in cell.sinks()]
    for u, v in edges:
        neighbours[u].append(v)
        neighbours[v].append(u)
    return neighbours


def _variance(values: list[int]) -> float:
    """Population variance (ddof 0); plain Python is faster than numpy for eight numbers."""
    mean = sum(values) / len(values)
    return sum((x - mean) ** 2 for x in values) / len(values)


def eccentricity_variance(cell: DagCell) -> float:
    """Population variance of eccentricities in the undirected full graph (input and output included)."""
    neighbours = _full_adjacency(cell)
    eccentricities = []
    for start in range(len(neighbours)):
        depth = {start: 0}
        frontier = [start]
        while frontier:
            nxt = []
            for u in frontier:
                for v in neighbours[u]:
                    if v not in depth:
                        depth[v] = depth[u] + 1
                        nxt.append(v)
            frontier = nxt
        eccentricities.append(max(depth.values()))
    return _variance(eccentricities)


def degree_variance(cell: DagCell) -> float:
    """Population variance of total degrees (in + out) in the full graph (input and output included)."""
    return _variance([len(adj) for adj in _full_adjacency(cell)])


def num_vertices(cell: DagCell) -> float:
    """Number of inner vertices."""
    return float(cell.num_vertices)


def num_edges(cell: DagCell) -> float:
    """Number of inner edges (edges from input and to output are not counted)."""
    return float(len(cell.edges))


def longest_path(cell: DagCell) -> float:
    """Number of edges on the longest path between inner vertices."""
    length = [0] * cell.num_vertices
    for u, v in cell.edges:  # sorted by u, and u < v: a topological sweep
        length[v] = max(length[v], length[u] + 1)
    return float(max(length))


FEATURES: dict[str, FeatureFn] = {
    "eccentricity_var": eccentricity_variance,
    "degree_var": degree_variance,
    "num_vertices": num_vertices,
    "num_edges": num_edges,
    "longest_path": longest_path,
}


def register_feature(name: str, fn: FeatureFn) -> None:
    """Add a named feature function (cell -> float) usable in ``DagSpace(feature_names=...)``."""
    if name in FEATURES:
        raise ValueError(f"feature {name!r} is already registered; registered: {sorted(FEATURES)}")
    FEATURES[name] = fn


# ---------------------------------------------------------------- JSON


def cell_from_json(obj: object, max_vertices: int = MAX_SUPPORTED_VERTICES) -> DagCell:
    """Validate ``{"n": int, "edges": [[u, v], ...]}`` and return its canonical cell (no space needed)."""
    if not isinstance(obj, Mapping):
        raise ValueError(f"a DAG cell must be a JSON object {{'n', 'edges'}}, got {type(obj).__name__}")
    keys = set(obj)
    if keys != {"n", "edges"}:
        raise ValueError(f"a DAG cell needs exactly the keys ['edges', 'n'], got {sorted(map(str, keys))}")
    n, edges = obj["n"], obj["edges"]
    if not _is_int(n) or not 1 <= n <= max_vertices:
        raise ValueError(f"cell 'n' must be an integer in 1..{max_vertices}, got {n!r}")
    if not isinstance(edges, list | tuple):
        raise ValueError(f"cell 'edges' must be a list of [u, v] pairs, got {type(edges).__name__}")
    for edge in edges:
        if not isinstance(edge, list | tuple) or len(edge) != 2 or not all(_is_int(x) for x in edge):
            raise ValueError(f"cell edge {edge!r} must be a pair of integers [u, v]")
    return canonical(DagCell(int(n), tuple((int(u), int(v)) for u, v in edges)))


# ---------------------------------------------------------------- the space


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
def _build_tables(max_vertices: int, feature_names: tuple[str, ...]) -> _Tables:
    """Every cell, its features and a KD-tree over them (scipy loads here: trials only decode cells)."""
    from scipy.spatial import cKDTree

    cells: list[DagCell] = []
    index: dict[tuple[int, int], int] = {}
    for n in range(1, max_vertices + 1):
        for mask in np.unique(_canonical_table(n)).tolist():
            index[(n, mask)] = len(cells)
            cells.append(_cell_of(n, mask))
    fns = [FEATURES[name] for name in feature_names]
    raw = np.array([[fn(cell) for fn in fns] for cell in cells], dtype=np.float64)
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
        if not _is_int(max_vertices) or not 1 <= max_vertices <= MAX_SUPPORTED_VERTICES:
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
        self._tables = _build_tables(self.max_vertices, names)

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
        n = cell.num_vertices
        return self._tables.index[(n, int(_canonical_table(n)[_mask_of(cell)]))]

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
        for pair in _pairs(n):
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
